import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
// Through our fixes: without them a write to a full peer loses its fds, and a close can crash node.
import { UServer, type USocket } from './usocket-fixes';
import { InputError, describeSystemError } from '../errors';
import { MAX_OFFSET, formatBytes } from '../numbers';
import { MAX_PEER_ID, MAX_VECTORS } from './messages';

export type ServerMemory = { kind: 'shm'; name: string } | { kind: 'memfd' };

export interface ServerOptions {
  socketPath: string;
  size: number;
  vectors: number;
  memory: ServerMemory;
}

export type ServerEvent = { type: 'joined'; id: number; vectors: number } | { type: 'left'; id: number };

interface Peer {
  id: number;
  socket: USocket;
  /** Our copies of the peer's doorbells, one per vector. */
  vectors: number[];
}

function message(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return b;
}

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** Whether something accepts connections on a UNIX socket path (a live server). */
function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * An ivshmem server compatible with QEMU's ivshmem-doorbell and with IvshmemClient. Protocol:
 * QEMU docs/specs/ivshmem-spec.rst. Doorbells are FIFOs opened read-write (Node cannot create
 * eventfds; QEMU reads and writes 8 bytes on them the same way).
 */
export class IvshmemServer {
  private readonly server = new UServer();
  private readonly peers = new Map<number, Peer>();
  private nextId = 0;
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  private stopped = false;
  private socketIno = -1;

  private constructor(
    readonly options: ServerOptions,
    private readonly memoryFd: number,
    readonly memoryDescription: string,
    private readonly fifoDir: string,
  ) {}

  static async start(options: ServerOptions): Promise<IvshmemServer> {
    const { socketPath, size, vectors } = options;
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_OFFSET) throw new InputError(`--size must be between 1 byte and 256 TiB, got ${size}`);
    if (!Number.isInteger(vectors) || vectors < 0 || vectors > MAX_VECTORS) throw new InputError(`--vectors must be between 0 and ${MAX_VECTORS}, got ${vectors}`);
    await IvshmemServer.claimSocketPath(socketPath);
    const { fd, description } = IvshmemServer.createMemory(options.memory, size);
    let fifoDir: string | undefined;
    try {
      fifoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-inspect-doorbells-'));
      const server = new IvshmemServer(options, fd, description, fifoDir);
      await server.listen();
      return server;
    } catch (err) {
      closeFd(fd);
      if (fifoDir) fs.rmSync(fifoDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Refuses a path held by a live server or by a non-socket; removes a stale socket. */
  private static async claimSocketPath(socketPath: string): Promise<void> {
    const dir = path.dirname(socketPath);
    if (!fs.existsSync(dir)) throw new InputError(`cannot create ${socketPath}: the folder ${dir} does not exist`);
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(socketPath);
    } catch {
      return;
    }
    if (!st.isSocket()) throw new InputError(`${socketPath} exists and is not a socket; refusing to replace it`);
    if (await isLive(socketPath)) throw new InputError(`${socketPath} is in use by a running server`);
    fs.unlinkSync(socketPath);
  }

  private static createMemory(memory: ServerMemory, size: number): { fd: number; description: string } {
    const shmDir = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
    if (memory.kind === 'shm') {
      const name = memory.name;
      if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === '.' || name === '..') {
        throw new InputError(`--shm NAME must be a plain file name (letters, digits, . _ -), got "${name}"`);
      }
      const file = path.join(shmDir, name);
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      } catch (err) {
        throw new InputError(`cannot open ${file}: ${describeSystemError(err)}`);
      }
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        closeFd(fd);
        throw new InputError(`${file} is not a regular file`);
      }
      if (st.size !== 0 && st.size !== size) {
        closeFd(fd);
        throw new InputError(`${file} already exists with ${st.size} bytes (${formatBytes(st.size)}); use --size ${st.size} or remove it`);
      }
      if (st.size === 0) fs.ftruncateSync(fd, size);
      return { fd, description: file };
    }
    // Node has no memfd_create: an unnamed tmpfs file (created, then unlinked at once) is the same
    // thing to everyone who receives the fd.
    const file = path.join(shmDir, `.shmem-inspect-${process.pid}-${randomBytes(4).toString('hex')}`);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    fs.unlinkSync(file);
    try {
      fs.ftruncateSync(fd, size);
    } catch (err) {
      closeFd(fd);
      throw new InputError(`cannot create ${formatBytes(size)} of shared memory: ${describeSystemError(err)}`);
    }
    return { fd, description: 'an unnamed tmpfs file (like memfd)' };
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      // The socket file gets mode 0600: only this user may join. usocket binds asynchronously, so
      // the umask stays narrowed until it is listening (nothing else in this process creates files
      // meanwhile), and a chmod makes sure of it.
      const previous = process.umask(0o177);
      this.server.on('error', (err: Error) => {
        process.umask(previous);
        reject(new InputError(`cannot listen on ${this.options.socketPath}: ${describeSystemError(err)}`));
      });
      this.server.on('connection', (socket) => this.accept(socket));
      this.server.listen(this.options.socketPath, () => {
        process.umask(previous);
        fs.chmodSync(this.options.socketPath, 0o600);
        this.socketIno = fs.statSync(this.options.socketPath).ino;
        resolve();
      });
    });
  }

  onEvent(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  peerTable(): { id: number; vectors: number }[] {
    return [...this.peers.values()].map((p) => ({ id: p.id, vectors: p.vectors.length })).sort((a, b) => a.id - b.id);
  }

  private emit(event: ServerEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  private allocateId(): number | undefined {
    for (let i = 0; i <= MAX_PEER_ID; i++) {
      const id = (this.nextId + i) % (MAX_PEER_ID + 1);
      if (!this.peers.has(id)) {
        this.nextId = (id + 1) % (MAX_PEER_ID + 1);
        return id;
      }
    }
    return undefined;
  }

  /** One FIFO per vector, opened read-write and non-blocking, its name removed at once. */
  private createDoorbells(): number[] {
    const n = this.options.vectors;
    if (n === 0) return [];
    const names = Array.from({ length: n }, (_, i) => path.join(this.fifoDir, `${process.pid}-${randomBytes(6).toString('hex')}-${i}`));
    const made = spawnSync('mkfifo', ['-m', '600', ...names], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr || made.error?.message}`);
    const fds: number[] = [];
    try {
      for (const name of names) fds.push(fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NONBLOCK));
    } catch (err) {
      fds.forEach(closeFd);
      throw err;
    } finally {
      for (const name of names) fs.rmSync(name, { force: true });
    }
    return fds;
  }

  private accept(socket: USocket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const id = this.allocateId();
    let vectors: number[];
    try {
      if (id === undefined) throw new Error('all 65536 peer IDs are taken');
      vectors = this.createDoorbells();
    } catch {
      socket.destroy();
      return;
    }
    const peer: Peer = { id: id!, socket, vectors };
    // Clients send nothing; the stream only tells us when they leave.
    socket.on('data', () => undefined);
    socket.on('end', () => this.remove(peer));
    socket.on('error', () => this.remove(peer));
    socket.on('close', () => this.remove(peer));
    this.send(peer, 0);
    this.send(peer, peer.id);
    this.send(peer, -1, this.memoryFd);
    for (const other of this.peers.values()) {
      for (const fd of peer.vectors) this.send(other, peer.id, fd);
      for (const fd of other.vectors) this.send(peer, other.id, fd);
    }
    for (const fd of peer.vectors) this.send(peer, peer.id, fd);
    this.peers.set(peer.id, peer);
    this.emit({ type: 'joined', id: peer.id, vectors: peer.vectors.length });
  }

  /**
   * One message to a peer. A failed write means the peer is gone: usocket then closes the socket
   * without any 'end', 'error' or 'close' event (its destroy() bypasses the stream's), so the write
   * callback is the only place that learns it (seen: peers closing together were never reported).
   */
  private send(to: Peer, value: number, fd?: number): void {
    to.socket.write(fd === undefined ? { data: message(value) } : { data: message(value), fds: [fd] }, (err) => {
      if (err) this.remove(to);
    });
  }

  private remove(peer: Peer): void {
    if (this.peers.get(peer.id) !== peer) return;
    this.peers.delete(peer.id);
    peer.socket.destroy();
    peer.vectors.forEach(closeFd);
    for (const other of this.peers.values()) this.send(other, peer.id);
    this.emit({ type: 'left', id: peer.id });
  }

  /** Disconnects every peer, closes every fd, removes the socket file (if it is still ours). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.server.close();
    for (const peer of [...this.peers.values()]) {
      peer.socket.destroy();
      peer.vectors.forEach(closeFd);
    }
    this.peers.clear();
    closeFd(this.memoryFd);
    try {
      if (fs.statSync(this.options.socketPath).ino === this.socketIno) fs.unlinkSync(this.options.socketPath);
    } catch {
      // already gone
    }
    fs.rmSync(this.fifoDir, { recursive: true, force: true });
  }
}
