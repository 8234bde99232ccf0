import * as fs from 'node:fs';
import { InputError, describeSystemError } from '../errors';
import { Emitter, type Unsubscribe } from '../events';
import { MAX_OFFSET } from '../numbers';
import { closeFd, setNonBlocking } from '../sys/fd';
import { POLLIN, pollLoop, type PollWatch } from '../sys/poll-loop';
import { connectUnix, unixSocket, type Received } from '../sys/socket';
import { UnixConnection } from '../sys/unix-socket';
import { isEventfd, ring, takeCount } from './doorbell';
import { ClientProtocol, ProtocolError, type ClientEvent } from './messages';

export interface PeerTable {
  ownId: number;
  /** Interrupts received so far on each of our own vectors. */
  interrupts: number[];
  peers: { id: number; vectors: number }[];
}

export interface ConnectOptions {
  /** How long the server may take to accept us and send the shared memory. */
  timeoutMs?: number;
}

/**
 * What a peer sees happen, in order, each stamped with `time` (ms since the epoch) when this
 * process saw it:
 * - `peer-joined`: another peer's doorbells arrived. Sent when the reads that brought them are
 *   done, with the number of vectors known then; a server that stalls in the middle of a peer's
 *   vectors makes a second `peer-joined` for the same ID with the larger count.
 * - `peer-left`: the server said that peer left (its doorbells are closed).
 * - `interrupt`: one of our own vectors was rung; `count` rings were collapsed into this one
 *   reading of the eventfd (a counter: rings that come faster than we read add up).
 */
export type IvshmemClientEvent =
  | { type: 'peer-joined'; id: number; vectors: number; time: number }
  | { type: 'peer-left'; id: number; time: number }
  | { type: 'interrupt'; vector: number; count: number; time: number };

interface OwnVector {
  fd: number;
  /** Set for eventfds, which are read when the poll says they were rung; other fds are never read. */
  watch: PollWatch | undefined;
}

/** Bytes per read: 512 messages. A read ends anyway at a message that carried fds. */
const READ_BYTES = 4096;

/**
 * A peer of an ivshmem server, as a QEMU guest would be: it gets an ID, the shared memory fd,
 * the eventfds of the other peers (to ring them) and its own (to receive). Every fd it receives is
 * close-on-exec and is closed when it is no longer needed: on a peer leaving, on detach, on any
 * error. Nothing blocks: the socket and our own doorbells are waited on by the process's poll loop.
 */
export class IvshmemClient {
  ownId = -1;
  memoryFd = -1;
  memorySize = 0;
  private readonly ownVectors: OwnVector[] = [];
  private readonly interrupts: number[] = [];
  private readonly peers = new Map<number, number[]>();
  private readonly protocol = new ClientProtocol();
  private closedReason: string | undefined;
  private readonly closes = new Emitter<string>();
  private readonly changes = new Emitter<void>();
  private readonly events = new Emitter<IvshmemClientEvent>();
  private readonly connection: UnixConnection;
  /** Peers whose doorbells came in the reads of this turn, announced once the turn's reads are done. */
  private joining: Map<number, number> | undefined;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    this.connection = new UnixConnection(fd, { data: (r) => this.receive(r), end: (reason) => this.ended(reason) }, READ_BYTES);
  }

  /** Connects and waits for the shared memory. Server misbehaviour becomes an InputError. */
  static async connect(path: string, options: ConnectOptions = {}): Promise<IvshmemClient> {
    const timeoutMs = options.timeoutMs ?? 5000;
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (err) {
      throw new InputError(`cannot reach the ivshmem server at ${path}: ${describeSystemError(err)}`);
    }
    if (!st.isSocket()) throw new InputError(`${path} is not a UNIX socket`);
    const deadline = Date.now() + timeoutMs;
    const fd = unixSocket();
    try {
      // A full backlog (a server that does not accept) answers "busy": try again until the deadline.
      while (connectUnix(fd, path) === 'busy') {
        if (Date.now() >= deadline) throw new InputError(`the ivshmem server at ${path} did not accept the connection within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (err) {
      closeFd(fd);
      if (err instanceof InputError) throw err;
      throw new InputError(`the ivshmem server at ${path}: cannot connect: ${describeSystemError(err)}`);
    }
    const client = new IvshmemClient(path, fd);
    return new Promise<IvshmemClient>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        offClosed();
        offChange();
        client.close(reason);
        reject(new InputError(`the ivshmem server at ${path}: ${reason}`));
      };
      const timer = setTimeout(() => fail(`did not send the shared memory within ${timeoutMs / 1000} s`), Math.max(0, deadline - Date.now()));
      const offClosed = client.onClosed((reason) => fail(reason));
      const done = (): void => {
        if (settled || client.memoryFd < 0) return;
        settled = true;
        clearTimeout(timer);
        offClosed();
        offChange();
        resolve(client);
      };
      const offChange = client.changes.on(done);
    });
  }

  get closed(): string | undefined {
    return this.closedReason;
  }

  onClosed(listener: (reason: string) => void): Unsubscribe {
    return this.closes.on(listener);
  }

  /** Called whenever the peer table or the interrupt counters change. */
  onChange(listener: () => void): Unsubscribe {
    return this.changes.on(listener);
  }

  /** Peers joining and leaving, and interrupts on our own vectors, each with when it was seen. */
  onEvent(listener: (event: IvshmemClientEvent) => void): Unsubscribe {
    return this.events.on(listener);
  }

  table(): PeerTable {
    return {
      ownId: this.ownId,
      interrupts: [...this.interrupts],
      peers: [...this.peers].map(([id, fds]) => ({ id, vectors: fds.length })).sort((a, b) => a.id - b.id),
    };
  }

  /** Rings a peer's vector: adds 1 to its eventfd. Unknown peers and vectors are input errors. */
  ring(peer: number, vector: number): void {
    if (this.closedReason) throw new InputError(`not connected: ${this.closedReason}`);
    const target = peer === this.ownId ? this.ownVectors.map((v) => v.fd) : this.peers.get(peer);
    if (!target) throw new InputError(`there is no peer ${peer} on ${this.path} (peers: ${[...this.peers.keys()].join(', ') || 'none'})`);
    const fd = target[vector];
    if (fd === undefined) throw new InputError(`peer ${peer} has ${target.length} vector(s); there is no vector ${vector}`);
    try {
      ring(fd);
    } catch (err) {
      const full = (err as NodeJS.ErrnoException).code === 'EAGAIN';
      throw new InputError(`cannot ring peer ${peer} vector ${vector}: ${full ? 'its doorbell cannot take another ring now' : describeSystemError(err)}`);
    }
  }

  /** Leaves the server and closes every fd received from it. Idempotent. */
  close(reason = 'detached'): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.connection.close();
    for (const own of this.ownVectors.splice(0)) {
      if (own.watch) own.watch.close();
      else closeFd(own.fd);
    }
    for (const fds of this.peers.values()) fds.forEach(closeFd);
    this.peers.clear();
    if (this.memoryFd >= 0) closeFd(this.memoryFd);
    this.memoryFd = -1;
    this.closes.emit(reason);
  }

  private ended(reason: string): void {
    if (reason !== 'closed') return this.close(reason);
    this.close(this.protocol.partialBytes > 0 ? 'the server closed the connection in the middle of a message' : this.memoryFd < 0 ? 'the server closed the connection before sending the shared memory' : 'the server closed the connection');
  }

  private receive(received: Received): void {
    if (this.closedReason) {
      received.fds.forEach(closeFd);
      return;
    }
    if (received.truncated) {
      received.fds.forEach(closeFd);
      return this.close('broke the protocol: more file descriptors arrived with one message than can be received');
    }
    const step = this.protocol.push(received.data, received.fds);
    for (let i = 0; i < step.events.length; i++) {
      try {
        this.apply(step.events[i]!);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        // This event's fd and those after it are nobody's yet.
        for (const e of step.events.slice(i)) if ('fd' in e) closeFd(e.fd);
        step.orphanFds.forEach(closeFd);
        this.close(`broke the protocol: ${err.message}`);
        return;
      }
    }
    step.orphanFds.forEach(closeFd);
    if (step.error) this.close(`broke the protocol: ${step.error.message}`);
  }

  private apply(event: ClientEvent): void {
    switch (event.type) {
      case 'welcome':
        return;
      case 'id':
        this.ownId = event.id;
        return;
      case 'memory': {
        let st: fs.Stats;
        try {
          st = fs.fstatSync(event.fd);
        } catch (err) {
          throw new ProtocolError(`the shared memory fd cannot be examined: ${describeSystemError(err)}`);
        }
        // On a throw, receive() closes this fd with the other orphans.
        if (!st.isFile() || st.size === 0 || st.size > MAX_OFFSET) {
          throw new ProtocolError(st.isFile() ? `the shared memory has an unusable size (${st.size} bytes)` : 'the shared memory fd is not a memory file (it cannot be mapped)');
        }
        this.memoryFd = event.fd;
        this.memorySize = st.size;
        break;
      }
      case 'own-vector':
        this.addOwnVector(event.fd);
        break;
      case 'peer-vector': {
        const list = this.peers.get(event.peer) ?? [];
        list.push(event.fd);
        this.peers.set(event.peer, list);
        this.announceLater(event.peer);
        break;
      }
      case 'peer-left': {
        const fds = this.peers.get(event.peer);
        if (!fds) return;
        fds.forEach(closeFd);
        this.peers.delete(event.peer);
        this.joining?.delete(event.peer);
        this.events.emit({ type: 'peer-left', id: event.peer, time: Date.now() });
        break;
      }
    }
    this.changes.emit();
  }

  private addOwnVector(fd: number): void {
    const vector = this.ownVectors.length;
    let watch: PollWatch | undefined;
    // Only an eventfd is read, and only once non-blocking (O_NONBLOCK is shared with the server's
    // copy, which only hands it to writers; QEMU's server makes them non-blocking anyway).
    if (isEventfd(fd)) {
      try {
        setNonBlocking(fd);
        watch = pollLoop().watch(fd, POLLIN, () => this.rung(vector));
      } catch {
        watch = undefined;
      }
    }
    this.ownVectors.push({ fd, watch });
    this.interrupts.push(0);
  }

  private rung(vector: number): void {
    const own = this.ownVectors[vector];
    if (!own || this.closedReason) return;
    let count = 0;
    try {
      count = takeCount(own.fd);
    } catch {
      // A doorbell that fails to read counts nothing; the connection's state tells the rest.
    }
    if (count === 0) return;
    this.interrupts[vector] = (this.interrupts[vector] ?? 0) + count;
    this.events.emit({ type: 'interrupt', vector, count, time: Date.now() });
    this.changes.emit();
  }

  /** A peer's doorbells come one message each; say it joined once this turn's reads are done. */
  private announceLater(peer: number): void {
    if (!this.joining) {
      const joining = new Map<number, number>();
      this.joining = joining;
      queueMicrotask(() => {
        this.joining = undefined;
        for (const [id, time] of joining) {
          const fds = this.peers.get(id);
          if (fds && !this.closedReason) this.events.emit({ type: 'peer-joined', id, vectors: fds.length, time });
        }
      });
    }
    if (!this.joining.has(peer)) this.joining.set(peer, Date.now());
  }
}
