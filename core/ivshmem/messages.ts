/**
 * The ivshmem server protocol (QEMU docs/specs/ivshmem-spec.rst), client side, as pure logic.
 *
 * The server sends 8-byte little-endian signed integers, each with zero or one file descriptor:
 *   1. the protocol version, 0, without fd;
 *   2. the client's own ID, 0..65535, without fd;
 *   3. -1 with the shared memory fd;
 *   4. then, in any number: a peer ID with an eventfd (that peer, one message per vector, in
 *      vector order; the client's own ID here means its own vectors), or a peer ID without fd
 *      (that peer left).
 *
 * Bytes arrive in chunks, each read's fds with it (recvmsg returns both). The kernel ends a read at
 * a message that carried fds, so a chunk's fds belong to the message that ends with the chunk. StreamDecoder applies that rule and turns the
 * stream into messages; ClientHandshake checks their order and meaning.
 */

export class ProtocolError extends Error {}

export interface RawMessage {
  value: bigint;
  fd: number | undefined;
}

/** Upper bounds that keep a hostile server from exhausting our descriptors or memory. */
export const MAX_PEER_ID = 65535;
export const MAX_VECTORS = 64;
/** Fds the server may make us hold at once (memory + every live peer's vectors); departed peers' fds are closed and no longer count. */
export const MAX_HELD_FDS = 4096;

/**
 * Cuts a byte stream into 8-byte messages and gives each the fd that came with it. Every fd it
 * was given ends up either in a message or in `takeStrayFds()`, so the caller can close it.
 */
export class StreamDecoder {
  private pending = new Uint8Array(0);

  /** Feeds one chunk and the fds received with it; returns the complete messages. */
  push(chunk: Uint8Array, fds: readonly number[]): RawMessage[] {
    const data = new Uint8Array(this.pending.length + chunk.length);
    data.set(this.pending, 0);
    data.set(chunk, this.pending.length);
    const whole = data.length - (data.length % 8);
    this.pending = data.slice(whole);
    const view = new DataView(data.buffer, data.byteOffset, whole);
    const messages: RawMessage[] = [];
    for (let p = 0; p < whole; p += 8) messages.push({ value: view.getBigInt64(p, true), fd: undefined });
    if (fds.length > 0) {
      if (this.pending.length > 0 || messages.length === 0) {
        throw new FdError('a file descriptor arrived in the middle of a message', fds);
      }
      if (fds.length > 1) throw new FdError(`${fds.length} file descriptors arrived with one message (at most 1 is allowed)`, fds);
      messages[messages.length - 1]!.fd = fds[0];
    }
    return messages;
  }

  /** Bytes of an incomplete message still waiting for the rest. */
  get partialBytes(): number {
    return this.pending.length;
  }
}

/** A protocol error that also hands back fds nobody owns yet, so that they get closed. */
export class FdError extends ProtocolError {
  constructor(
    message: string,
    readonly fds: readonly number[],
  ) {
    super(message);
  }
}

export type ClientEvent =
  | { type: 'welcome'; version: 0 }
  | { type: 'id'; id: number }
  | { type: 'memory'; fd: number }
  | { type: 'peer-vector'; peer: number; vector: number; fd: number }
  | { type: 'own-vector'; vector: number; fd: number }
  | { type: 'peer-left'; peer: number };

/**
 * The client's view of the protocol: checks every message against what may come next and what
 * the numbers may be. Fds in a rejected message are the caller's to close.
 */
export class ClientHandshake {
  private stage: 'version' | 'id' | 'memory' | 'peers' = 'version';
  ownId = -1;
  /** Vectors received so far per peer ID (the own ID included). */
  private readonly vectorCounts = new Map<number, number>();
  /** Fds accepted and not yet released by a peer-left (the memory fd stays for the session). */
  private fdsHeld = 0;

  accept(m: RawMessage): ClientEvent {
    // The cap is on fds held, not received: a long session sees peers come and go for ever.
    if (m.fd !== undefined && ++this.fdsHeld > MAX_HELD_FDS) {
      throw new ProtocolError(`the server made this client hold more than ${MAX_HELD_FDS} file descriptors at once`);
    }
    switch (this.stage) {
      case 'version':
        if (m.value !== 0n) throw new ProtocolError(`the server speaks protocol version ${m.value}; only version 0 is supported`);
        if (m.fd !== undefined) throw new ProtocolError('the server sent a file descriptor with the protocol version');
        this.stage = 'id';
        return { type: 'welcome', version: 0 };
      case 'id':
        if (m.value < 0n || m.value > BigInt(MAX_PEER_ID)) throw new ProtocolError(`the server assigned client ID ${m.value}, outside 0..${MAX_PEER_ID}`);
        if (m.fd !== undefined) throw new ProtocolError('the server sent a file descriptor with the client ID');
        this.ownId = Number(m.value);
        this.stage = 'memory';
        return { type: 'id', id: this.ownId };
      case 'memory':
        if (m.value !== -1n) throw new ProtocolError(`expected -1 with the shared memory, got ${m.value}`);
        if (m.fd === undefined) throw new ProtocolError('the server sent no file descriptor for the shared memory');
        this.stage = 'peers';
        return { type: 'memory', fd: m.fd };
      case 'peers': {
        if (m.value < 0n || m.value > BigInt(MAX_PEER_ID)) throw new ProtocolError(`peer ID ${m.value} is outside 0..${MAX_PEER_ID}`);
        const peer = Number(m.value);
        if (m.fd === undefined) {
          if (peer === this.ownId) throw new ProtocolError('the server says this client left');
          // A peer with no vectors was never announced, but its departure still is.
          this.fdsHeld -= this.vectorCounts.get(peer) ?? 0;
          this.vectorCounts.delete(peer);
          return { type: 'peer-left', peer };
        }
        const vector = this.vectorCounts.get(peer) ?? 0;
        if (vector >= MAX_VECTORS) throw new ProtocolError(`peer ${peer} was given more than ${MAX_VECTORS} vectors`);
        this.vectorCounts.set(peer, vector + 1);
        return peer === this.ownId ? { type: 'own-vector', vector, fd: m.fd } : { type: 'peer-vector', peer, vector, fd: m.fd };
      }
    }
  }

  get ready(): boolean {
    return this.stage === 'peers';
  }
}

export interface ProtocolStep {
  /** Events from the messages before any error, in order; the caller owns their fds. */
  events: ClientEvent[];
  /** Set when a message broke the protocol; its fds and those after it are in orphanFds. */
  error?: ProtocolError;
  /** Fds nobody owns: the caller closes them. */
  orphanFds: number[];
}

/**
 * The whole client-side protocol as one pure step: bytes and fds in, events out. Every fd given
 * to push() comes back exactly once, in an event or in orphanFds (the fuzz test checks this).
 */
export class ClientProtocol {
  private readonly decoder = new StreamDecoder();
  readonly handshake = new ClientHandshake();
  private failed = false;

  push(chunk: Uint8Array, fds: readonly number[]): ProtocolStep {
    if (this.failed) return { events: [], orphanFds: [...fds] };
    let messages: RawMessage[];
    try {
      messages = this.decoder.push(chunk, fds);
    } catch (err) {
      this.failed = true;
      if (err instanceof FdError) return { events: [], error: err, orphanFds: [...err.fds] };
      throw err;
    }
    const events: ClientEvent[] = [];
    for (let i = 0; i < messages.length; i++) {
      try {
        events.push(this.handshake.accept(messages[i]!));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        this.failed = true;
        const orphanFds = messages.slice(i).flatMap((m) => (m.fd === undefined ? [] : [m.fd]));
        return { events, error: err, orphanFds };
      }
    }
    return { events, orphanFds: [] };
  }

  /** Bytes of an incomplete message waiting for the rest (a close now would cut it). */
  get partialBytes(): number {
    return this.decoder.partialBytes;
  }
}
