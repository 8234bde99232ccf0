/**
 * UNIX stream connections and listeners on the process's poll loop: what the ivshmem client, the
 * ivshmem server and the tests' hostile servers share. Reads and writes are non-blocking calls on
 * the main thread, made when the poll says the socket is ready.
 *
 * Sending keeps the fds of a message until its first byte has gone: the kernel attaches them to
 * that byte, and a write that meets a full buffer sends nothing, so the fds stay with the bytes for
 * the retry (the fault usocket 1.1.0 had: it retried with the bytes only).
 */
import { describeSystemError } from '../errors';
import { closeFd } from './fd';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, pollLoop, type PollWatch } from './poll-loop';
import { acceptConnection, receiveWithFds, sendWithFds, shutdownSocket, type Received } from './socket';

/** An fd with several holders (a peer and the messages queued to others); closed when the last lets go. */
export class SharedFd {
  private refs = 1;

  constructor(readonly fd: number) {}

  retain(): this {
    if (this.refs <= 0) throw new Error(`fd ${this.fd} was retained after it was closed`);
    this.refs++;
    return this;
  }

  release(): void {
    if (this.refs <= 0) return;
    if (--this.refs === 0) closeFd(this.fd);
  }

  get isOpen(): boolean {
    return this.refs > 0;
  }
}

interface Outgoing {
  data: Uint8Array;
  /** Held until the first byte is sent (then the kernel has them); empty afterwards. */
  fds: SharedFd[];
  sent: number;
  onSent: (() => void) | undefined;
}

export interface ConnectionHandlers {
  /** Bytes and the fds that came with them; the handler owns the fds from then on. */
  data(received: Received): void;
  /** The connection ended: "closed" for an orderly end of stream, else what failed. Called once. */
  end(reason: string): void;
}

/** Reads per readiness report, so one busy connection cannot starve the others (a read ends at each message with fds: 256 is four peers of 64 vectors). */
const READS_PER_TURN = 256;

/** One connected UNIX stream socket (non-blocking, close-on-exec) that this object now owns. */
export class UnixConnection {
  private readonly queue: Outgoing[] = [];
  private readonly watch: PollWatch;
  private done = false;
  private sendFailed = false;

  constructor(
    readonly fd: number,
    private readonly handlers: ConnectionHandlers,
    private readonly readBytes = 4096,
  ) {
    this.watch = pollLoop().watch(fd, POLLIN, (revents) => this.ready(revents));
  }

  /** Messages not yet (completely) sent. */
  get queued(): number {
    return this.queue.length;
  }

  get closed(): boolean {
    return this.done;
  }

  /**
   * Queues bytes with fds attached to their first byte, and sends what the socket takes now. The
   * fds are retained until sent (or the connection ends). A peer that has gone is noticed by the
   * read side (end of stream), so sending never reports it. onSent runs once the last byte is sent.
   */
  send(data: Uint8Array, fds: readonly SharedFd[] = [], onSent?: () => void): void {
    if (this.done || this.sendFailed) return;
    this.queue.push({ data, fds: fds.map((f) => f.retain()), sent: 0, onSent });
    if (this.queue.length === 1) this.flush();
  }

  /** Ends the connection now: the other side reads end of stream; queued fds are let go. Idempotent. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.dropQueue();
    try {
      shutdownSocket(this.fd);
    } catch {
      // not connected any more
    }
    this.watch.close();
  }

  private dropQueue(): void {
    for (const m of this.queue.splice(0)) for (const f of m.fds) f.release();
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.data.length === 0) {
        // Nothing to send (a marker for onSent): fds cannot travel without a byte.
        for (const f of head.fds) f.release();
        this.queue.shift();
        head.onSent?.();
        continue;
      }
      let n: number | undefined;
      try {
        n = sendWithFds(this.fd, head.data.subarray(head.sent), head.sent === 0 ? head.fds.map((f) => f.fd) : []);
      } catch {
        // EPIPE, ECONNRESET: the other side is gone; the poll reports the hang-up to the read side.
        this.sendFailed = true;
        this.dropQueue();
        this.watch.setEvents(POLLIN);
        return;
      }
      if (n === undefined || n === 0) {
        this.watch.setEvents(POLLIN | POLLOUT);
        return;
      }
      if (head.sent === 0) {
        for (const f of head.fds) f.release();
        head.fds = [];
      }
      head.sent += n;
      if (head.sent === head.data.length) {
        this.queue.shift();
        head.onSent?.();
      }
    }
    this.watch.setEvents(POLLIN);
  }

  private ready(revents: number): void {
    if (this.done) return;
    if (revents & POLLOUT) this.flush();
    if (revents & (POLLIN | POLLHUP | POLLERR)) this.read();
  }

  private read(): void {
    for (let i = 0; i < READS_PER_TURN && !this.done; i++) {
      let got: Received | undefined;
      try {
        got = receiveWithFds(this.fd, this.readBytes);
      } catch (err) {
        this.finish(`the connection failed: ${describeSystemError(err)}`);
        return;
      }
      if (!got) return;
      if (got.data.length === 0) {
        got.fds.forEach(closeFd);
        this.finish('closed');
        return;
      }
      this.handlers.data(got);
    }
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.close();
    this.handlers.end(reason);
  }
}

/** Accepts connections on a listening socket that this object now owns. */
export class UnixListener {
  private readonly watch: PollWatch;
  private closed = false;
  private pause: NodeJS.Timeout | undefined;

  constructor(
    readonly fd: number,
    private readonly onConnection: (fd: number) => void,
    private readonly onError: (err: unknown) => void,
  ) {
    this.watch = pollLoop().watch(fd, POLLIN, () => this.acceptAll());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pause) clearTimeout(this.pause);
    this.watch.close();
  }

  private acceptAll(): void {
    for (let i = 0; i < READS_PER_TURN && !this.closed; i++) {
      let fd: number | undefined;
      try {
        fd = acceptConnection(this.fd);
      } catch (err) {
        // EMFILE and the like: the connection stays pending, and the socket stays readable; wait a
        // moment instead of spinning, and say so.
        this.onError(err);
        this.watch.setEvents(0);
        this.pause = setTimeout(() => {
          this.pause = undefined;
          this.watch.setEvents(POLLIN);
        }, 100);
        return;
      }
      if (fd === undefined) return;
      this.onConnection(fd);
    }
  }
}
