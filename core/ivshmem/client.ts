import * as fs from 'node:fs';
import { USocket } from './usocket-fixes';
import { InputError, describeSystemError } from '../errors';
import { MAX_OFFSET } from '../numbers';
import { drain, inspectDoorbell, ring, type DoorbellFd } from './eventfd';
import { ClientProtocol, ProtocolError, type ClientEvent } from './messages';

export interface PeerTable {
  ownId: number;
  /** Interrupts received so far on each of our own vectors. */
  interrupts: number[];
  peers: { id: number; vectors: number }[];
}

export interface ConnectOptions {
  /** How long the server may take to send the shared memory. */
  timeoutMs?: number;
  /** How often our own vectors are checked for interrupts. */
  pollMs?: number;
}

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * A peer of an ivshmem server, as a QEMU guest would be: it gets an ID, the shared memory fd,
 * the eventfds of the other peers (to ring them) and its own (to receive). Every fd it receives is
 * closed when it is no longer needed: on a peer leaving, on detach, on any error.
 */
export class IvshmemClient {
  ownId = -1;
  memoryFd = -1;
  memorySize = 0;
  private readonly ownVectors: DoorbellFd[] = [];
  private readonly interrupts: number[] = [];
  private readonly peers = new Map<number, DoorbellFd[]>();
  private readonly protocol = new ClientProtocol();
  private closedReason: string | undefined;
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly changeListeners = new Set<() => void>();
  private pollTimer: NodeJS.Timeout | undefined;
  private pendingFds: number[] = [];

  private constructor(
    readonly path: string,
    private readonly socket: USocket,
  ) {}

  /** Connects and waits for the shared memory. Server misbehaviour becomes an InputError. */
  static connect(path: string, options: ConnectOptions = {}): Promise<IvshmemClient> {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (err) {
      return Promise.reject(new InputError(`cannot reach the ivshmem server at ${path}: ${describeSystemError(err)}`));
    }
    if (!st.isSocket()) return Promise.reject(new InputError(`${path} is not a UNIX socket`));
    const socket = new USocket();
    const client = new IvshmemClient(path, socket);
    return new Promise<IvshmemClient>((resolve, reject) => {
      let settled = false;
      const fail = (reason: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.close(reason);
        reject(new InputError(`the ivshmem server at ${path}: ${reason}`));
      };
      const timer = setTimeout(() => fail(`did not send the shared memory within ${(options.timeoutMs ?? 5000) / 1000} s`), options.timeoutMs ?? 5000);
      client.onClosed((reason) => fail(reason));
      socket.on('error', (err: Error) => {
        const code = (err as NodeJS.ErrnoException).code;
        const text = code ? describeSystemError(err) : err.message;
        if (!settled) fail(`cannot connect: ${text}`);
        else client.close(`the connection failed: ${text}`);
      });
      // Stream listeners only once connected: usocket aborts the process on a read before that.
      socket.on('connected', () => {
        socket.on('fds', (fds: number[]) => client.pendingFds.push(...fds));
        socket.on('data', (chunk: Buffer) => {
          client.receive(chunk);
          if (!settled && client.memoryFd >= 0) {
            settled = true;
            clearTimeout(timer);
            client.startPolling(options.pollMs ?? 10);
            resolve(client);
          }
        });
        socket.on('end', () => client.close(client.protocol.partialBytes > 0 ? 'the server closed the connection in the middle of a message' : client.memoryFd < 0 ? 'the server closed the connection before sending the shared memory' : 'the server closed the connection'));
        // No 'readable' listener: it would switch the stream out of flowing mode, and fds could
        // then be separated from their bytes. (On a stream socket fds always come with bytes.)
      });
      socket.connect(path);
    });
  }

  get closed(): string | undefined {
    return this.closedReason;
  }

  onClosed(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Called whenever the peer table or the interrupt counters change. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  table(): PeerTable {
    return {
      ownId: this.ownId,
      interrupts: [...this.interrupts],
      peers: [...this.peers].map(([id, fds]) => ({ id, vectors: fds.length })).sort((a, b) => a.id - b.id),
    };
  }

  /** Rings a peer's vector: writes 1 to its eventfd. Unknown peers and vectors are input errors. */
  ring(peer: number, vector: number): void {
    if (this.closedReason) throw new InputError(`not connected: ${this.closedReason}`);
    const target = peer === this.ownId ? this.ownVectors : this.peers.get(peer);
    if (!target) throw new InputError(`there is no peer ${peer} on ${this.path} (peers: ${[...this.peers.keys()].join(', ') || 'none'})`);
    const bell = target[vector];
    if (!bell) throw new InputError(`peer ${peer} has ${target.length} vector(s); there is no vector ${vector}`);
    try {
      ring(bell.fd);
    } catch (err) {
      throw new InputError(`cannot ring peer ${peer} vector ${vector}: ${describeSystemError(err)}`);
    }
  }

  /** Leaves the server and closes every fd received from it. Idempotent. */
  close(reason = 'detached'): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.socket.destroy();
    for (const fd of this.pendingFds.splice(0)) closeFd(fd);
    for (const bell of this.ownVectors.splice(0)) closeFd(bell.fd);
    for (const bells of this.peers.values()) for (const bell of bells) closeFd(bell.fd);
    this.peers.clear();
    if (this.memoryFd >= 0) closeFd(this.memoryFd);
    this.memoryFd = -1;
    for (const listener of [...this.closeListeners]) listener(reason);
  }

  private receive(chunk: Buffer): void {
    const step = this.protocol.push(chunk, this.pendingFds.splice(0));
    if (this.closedReason) {
      // Late bytes after we gave up: take nothing, close what came.
      for (const e of step.events) if ('fd' in e) closeFd(e.fd);
      step.orphanFds.forEach(closeFd);
      return;
    }
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
        return;
      }
      case 'own-vector':
        this.ownVectors.push(inspectDoorbell(event.fd));
        this.interrupts.push(0);
        break;
      case 'peer-vector': {
        const list = this.peers.get(event.peer) ?? [];
        list.push(inspectDoorbell(event.fd));
        this.peers.set(event.peer, list);
        break;
      }
      case 'peer-left': {
        for (const bell of this.peers.get(event.peer) ?? []) closeFd(bell.fd);
        this.peers.delete(event.peer);
        break;
      }
    }
    this.changed();
  }

  private startPolling(intervalMs: number): void {
    this.pollTimer = setInterval(() => {
      let any = false;
      this.ownVectors.forEach((bell, v) => {
        let n = 0;
        try {
          n = drain(bell);
        } catch {
          // A doorbell that fails to read counts nothing; the connection's state tells the rest.
        }
        if (n > 0) {
          this.interrupts[v] = (this.interrupts[v] ?? 0) + n;
          any = true;
        }
      });
      if (any) this.changed();
    }, intervalMs);
    this.pollTimer.unref();
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}
