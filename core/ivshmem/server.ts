import { InputError, describeSystemError } from '../errors';
import { Emitter, type Unsubscribe } from '../events';
import { MAX_OFFSET } from '../numbers';
import { closeFd, createEventfd } from '../sys/fd';
import { SharedFd, UnixConnection, UnixListener } from '../sys/unix-socket';
import { MAX_PEER_ID, MAX_VECTORS } from './messages';
import { claimSocketPath, createMemory, type ClaimedPath, type ServerMemory } from './server-setup';

export type { ServerMemory } from './server-setup';

export interface ServerOptions {
  socketPath: string;
  size: number;
  vectors: number;
  memory: ServerMemory;
}

/**
 * `left` has a reason when the server dropped the peer; `refused` is a connection turned away
 * before it became a peer (the cap, or no fds left for its doorbells).
 */
export type ServerEvent = { type: 'joined'; id: number; vectors: number } | { type: 'left'; id: number; reason?: string } | { type: 'refused'; reason: string };

/**
 * Peers served at once. Each holds its socket and one eventfd per vector here (65 fds at 64
 * vectors), and a slow one may keep departed peers' doorbells open as long as messages naming them
 * wait for it: 128 peers stay within a 20,000-fd limit even then.
 */
export const MAX_PEERS = 128;

/**
 * Messages that may wait for one peer: the whole table of a full server (its own 3, one per vector
 * of every peer) and one departure per peer, with room to spare. A peer further behind does not
 * read; it is dropped, which lets go of every fd its queue held.
 */
export function queueBound(vectors: number): number {
  return 64 + MAX_PEERS * (vectors + 1);
}

interface Peer {
  id: number;
  connection: UnixConnection;
  /** The peer's doorbells, one per vector; shared with the messages that announce them to others. */
  vectors: SharedFd[];
}

function message(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return b;
}

/**
 * An ivshmem server compatible with QEMU's ivshmem-doorbell and with IvshmemClient. Protocol:
 * QEMU docs/specs/ivshmem-spec.rst. Doorbells are eventfds, memory a memfd or /dev/shm/NAME.
 *
 * All of it runs on the process's one poll loop: accepts, departures (end of stream), and writes
 * that met a full socket buffer, all with non-blocking calls on the main thread.
 *
 * The fd lifetime rule: a doorbell is closed only when its peer has left AND no message queued to
 * a slow peer still carries it (SharedFd counts the holders). Closing it sooner would let the
 * kernel give its number to the next fd we open (another peer's socket, say), and the slow peer
 * would receive that instead.
 */
export class IvshmemServer {
  private readonly peers = new Map<number, Peer>();
  private nextId = 0;
  private readonly events = new Emitter<ServerEvent>();
  private stopped = false;
  private readonly listener: UnixListener;
  private readonly memory: SharedFd;
  private readonly bound: number;
  /** Peers whose queue passed the bound during the current operation: dropped when it ends. */
  private readonly overflowing = new Set<Peer>();

  private constructor(
    readonly options: ServerOptions,
    memoryFd: number,
    readonly memoryDescription: string,
    private readonly claimed: ClaimedPath,
  ) {
    this.memory = new SharedFd(memoryFd);
    this.bound = queueBound(options.vectors);
    this.listener = new UnixListener(
      claimed.listenFd,
      (fd) => this.accept(fd),
      (err) => this.events.emit({ type: 'refused', reason: `cannot accept a connection: ${describeSystemError(err)}` }),
    );
  }

  static async start(options: ServerOptions): Promise<IvshmemServer> {
    const { socketPath, size, vectors } = options;
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_OFFSET) throw new InputError(`--size must be between 1 byte and 256 TiB, got ${size}`);
    if (!Number.isInteger(vectors) || vectors < 0 || vectors > MAX_VECTORS) throw new InputError(`--vectors must be between 0 and ${MAX_VECTORS}, got ${vectors}`);
    const claimed = claimSocketPath(socketPath);
    let memory: { fd: number; description: string };
    try {
      memory = createMemory(options.memory, size);
    } catch (err) {
      claimed.release();
      closeFd(claimed.listenFd);
      throw err;
    }
    return new IvshmemServer(options, memory.fd, memory.description, claimed);
  }

  onEvent(listener: (event: ServerEvent) => void): Unsubscribe {
    return this.events.on(listener);
  }

  peerTable(): { id: number; vectors: number }[] {
    return [...this.peers.values()].map((p) => ({ id: p.id, vectors: p.vectors.length })).sort((a, b) => a.id - b.id);
  }

  /** Messages waiting for a peer because its socket buffer is full (undefined: no such peer). */
  queued(id: number): number | undefined {
    return this.peers.get(id)?.connection.queued;
  }

  private allocateId(): number {
    // MAX_PEERS is far below the 65536 IDs: there is always a free one.
    for (;;) {
      const id = this.nextId;
      this.nextId = (id + 1) % (MAX_PEER_ID + 1);
      if (!this.peers.has(id)) return id;
    }
  }

  private accept(fd: number): void {
    if (this.stopped) return closeFd(fd);
    if (this.peers.size >= MAX_PEERS) {
      closeFd(fd);
      this.events.emit({ type: 'refused', reason: `a peer was turned away: ${MAX_PEERS} peers are connected, the most this server takes` });
      return;
    }
    const doorbells: number[] = [];
    try {
      for (let v = 0; v < this.options.vectors; v++) doorbells.push(createEventfd());
    } catch (err) {
      doorbells.forEach(closeFd);
      closeFd(fd);
      this.events.emit({ type: 'refused', reason: `a peer was turned away: cannot make its doorbells (${describeSystemError(err)})` });
      return;
    }
    // The handlers run later, from the poll loop, when `peer` exists.
    const connection = new UnixConnection(
      fd,
      {
        // Peers send nothing in this protocol (QEMU's server also takes any input as a departure).
        // Fds they send are closed at once: held, they would use up ours.
        data: (received) => {
          received.fds.forEach(closeFd);
          this.remove(peer, 'it sent data; peers send nothing in this protocol');
        },
        end: () => this.remove(peer),
      },
      256,
    );
    const peer: Peer = { id: this.allocateId(), connection, vectors: doorbells.map((d) => new SharedFd(d)) };
    this.send(peer, 0);
    this.send(peer, peer.id);
    this.send(peer, -1, this.memory);
    for (const other of this.peers.values()) {
      for (const bell of peer.vectors) this.send(other, peer.id, bell);
      for (const bell of other.vectors) this.send(peer, other.id, bell);
    }
    for (const bell of peer.vectors) this.send(peer, peer.id, bell);
    this.peers.set(peer.id, peer);
    this.events.emit({ type: 'joined', id: peer.id, vectors: peer.vectors.length });
    this.dropOverflowing();
  }

  /** One message to a peer; a peer whose queue passes the bound is dropped once this operation ends. */
  private send(to: Peer, value: number, fd?: SharedFd): void {
    to.connection.send(message(value), fd ? [fd] : []);
    if (to.connection.queued > this.bound) this.overflowing.add(to);
  }

  private dropOverflowing(): void {
    for (const peer of this.overflowing) {
      this.overflowing.delete(peer);
      this.remove(peer, `dropped: more than ${this.bound} messages were waiting for it (it does not read)`);
    }
  }

  private remove(peer: Peer, reason?: string): void {
    if (this.peers.get(peer.id) !== peer) return;
    this.peers.delete(peer.id);
    this.overflowing.delete(peer);
    // Its queue goes (letting go of the fds it held), then its own doorbells: each closes now
    // unless a message queued to another peer still carries it.
    peer.connection.close();
    peer.vectors.forEach((bell) => bell.release());
    for (const other of this.peers.values()) this.send(other, peer.id);
    this.events.emit(reason ? { type: 'left', id: peer.id, reason } : { type: 'left', id: peer.id });
    this.dropOverflowing();
  }

  /** Disconnects every peer, closes every fd, removes the socket file (if it is still ours). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.listener.close();
    this.claimed.release();
    for (const peer of this.peers.values()) {
      peer.connection.close();
      peer.vectors.forEach((bell) => bell.release());
    }
    this.peers.clear();
    this.memory.release();
  }
}
