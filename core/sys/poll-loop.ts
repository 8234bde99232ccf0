/**
 * One poll(2) for every fd this process waits on: the ivshmem server's listening socket and all its
 * peers, each client's socket and its own doorbells. The poll runs on one worker thread (koffi's
 * async call) and blocks there, so neither the event loop nor the CPU is busy while nothing
 * happens; when it returns, the ready fds are handled on the main thread with non-blocking calls,
 * and the next poll starts. One thread for the whole process, not a thread per peer: the worker
 * pool has four threads, shared with fs and zlib.
 *
 * Changing what is waited on while a poll is in flight writes to a wake-up eventfd that is part of
 * every poll, so the poll returns and starts again with the new set.
 *
 * The fd lifetime rule: an fd watched by a poll in flight is not closed until that poll has
 * returned (PollWatch.close defers it). A closed number is reused by the kernel at the next open,
 * and a poll still holding the old number would report the new fd's readiness as the old one's.
 */
import * as fs from 'node:fs';
import { Emitter } from '../events';
import { closeFd, createEventfd } from './fd';
import { native } from './libc';

export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
const POLLNVAL = 0x20;
const EINTR = 4;

interface PollFd {
  fd: number;
  events: number;
  revents: number;
}

type PollFn = ((fds: PollFd[], n: number, timeout: number) => number) & {
  async(fds: PollFd[], n: number, timeout: number, callback: (err: unknown, result: number) => void): void;
};

let pollFn: PollFn | undefined;

function poll(): PollFn {
  if (pollFn) return pollFn;
  const { koffi, libc } = native();
  koffi.struct('shmem_pollfd', { fd: 'int', events: 'short', revents: 'short' });
  // _Inout_: koffi copies the array in before the call and the revents back after it (on the
  // main thread, also for the async call), so the worker never touches memory V8 owns.
  pollFn = libc.func('int poll(_Inout_ shmem_pollfd *fds, unsigned long nfds, int timeout)') as PollFn;
  return pollFn;
}

/** The events ready on one fd right now (a poll with no wait); 0 when none. */
export function readyNow(fd: number, events: number): number {
  const fds = [{ fd, events, revents: 0 }];
  return poll()(fds, 1, 0) > 0 ? fds[0]!.revents : 0;
}

export interface PollWatch {
  /** What to wait for from now on: POLLIN, POLLOUT, both, or 0 (errors and hang-ups are always reported). */
  setEvents(events: number): void;
  /** Stops watching and closes the fd, at once or as soon as no poll in flight holds it. Idempotent. */
  close(): void;
}

interface Entry {
  fd: number;
  events: number;
  ready: Emitter<number>;
  closed: boolean;
  /** Part of the poll in flight. */
  polled: boolean;
}

class PollLoop {
  private readonly entries = new Set<Entry>();
  private inFlight = false;
  private armScheduled = false;
  private wakeFd = -1;
  private woken = false;
  private readonly closeAfterPoll: number[] = [];
  private readonly one = Buffer.from(new BigUint64Array([1n]).buffer);
  private readonly scratch = Buffer.alloc(8);

  watch(fd: number, events: number, onReady: (revents: number) => void): PollWatch {
    const entry: Entry = { fd, events, ready: new Emitter<number>(), closed: false, polled: false };
    entry.ready.on(onReady);
    this.entries.add(entry);
    this.changed();
    return {
      setEvents: (next) => {
        if (entry.closed || entry.events === next) return;
        entry.events = next;
        this.changed();
      },
      close: () => {
        if (entry.closed) return;
        entry.closed = true;
        this.entries.delete(entry);
        if (entry.polled) {
          this.closeAfterPoll.push(entry.fd);
          this.changed();
        } else {
          closeFd(entry.fd);
        }
      },
    };
  }

  /** Fds waited on; for tests and diagnostics. */
  get size(): number {
    return this.entries.size;
  }

  private changed(): void {
    if (this.inFlight) {
      if (!this.woken) {
        this.woken = true;
        fs.writeSync(this.wakeFd, this.one);
      }
    } else if (!this.armScheduled) {
      this.armScheduled = true;
      // Registrations made in the same turn start one poll between them.
      setImmediate(() => {
        this.armScheduled = false;
        this.arm();
      });
    }
  }

  private arm(): void {
    if (this.inFlight) return;
    if (this.entries.size === 0) {
      // Idle: nothing left open, so a process that is done can exit.
      if (this.wakeFd >= 0) closeFd(this.wakeFd);
      this.wakeFd = -1;
      return;
    }
    if (this.wakeFd < 0) this.wakeFd = createEventfd();
    const round = [...this.entries];
    const fds: PollFd[] = [{ fd: this.wakeFd, events: POLLIN, revents: 0 }, ...round.map((e) => ({ fd: e.fd, events: e.events, revents: 0 }))];
    for (const e of round) e.polled = true;
    this.inFlight = true;
    this.woken = false;
    try {
      this.start(fds, round);
    } catch (err) {
      // Not started (koffi refused the call): nothing holds the fds; try again shortly.
      this.inFlight = false;
      for (const e of round) e.polled = false;
      process.stderr.write(`shmem-inspect: poll could not start (${String(err)}); trying again in 100 ms\n`);
      setTimeout(() => this.arm(), 100);
    }
  }

  private start(fds: PollFd[], round: Entry[]): void {
    poll().async(fds, fds.length, -1, (err, result) => {
      const errno = native().koffi.errno();
      this.inFlight = false;
      for (const e of round) e.polled = false;
      for (const fd of this.closeAfterPoll.splice(0)) closeFd(fd);
      if ((fds[0]!.revents & POLLIN) !== 0) {
        try {
          fs.readSync(this.wakeFd, this.scratch, 0, 8, null);
        } catch {
          // EAGAIN: nothing to take
        }
      }
      if (err || result < 0) {
        // EINTR is routine; anything else (EFAULT, ENOMEM) must not become a busy loop.
        if (err || errno !== EINTR) {
          process.stderr.write(`shmem-inspect: poll failed (${err ? String(err) : `errno ${errno}`}); trying again in 100 ms\n`);
          setTimeout(() => this.arm(), 100);
          return;
        }
      } else {
        round.forEach((entry, i) => {
          const revents = fds[i + 1]!.revents;
          if (revents === 0 || entry.closed) return;
          if (revents & POLLNVAL) {
            // Not an open fd (closed behind our back: a bug): stop watching it, or every poll would
            // return at once. Its owner hears of it as an error.
            entry.closed = true;
            this.entries.delete(entry);
          }
          entry.ready.emit(revents & POLLNVAL ? revents | POLLERR : revents);
        });
      }
      this.arm();
    });
  }
}

let loop: PollLoop | undefined;

/** The process's one poll loop. */
export function pollLoop(): PollLoop {
  loop ??= new PollLoop();
  return loop;
}

export type { PollLoop };
