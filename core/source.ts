import { SourceLostError } from './errors';

export type SourceKind = 'file' | 'snapshot' | 'ivshmem';

/** What a user sees about a source: enough for `info` and for the Sessions view. */
export interface SourceInfo {
  kind: SourceKind;
  /** A path or socket, as the user named it. */
  description: string;
  size: number;
  writable: boolean;
  /** The file system holding a backing file: "tmpfs", "hugetlbfs", "ext4"... */
  fileSystem?: string;
  /** The ID an ivshmem server gave us. */
  peerId?: number;
}

/**
 * Where bytes come from. Every offset and length passed in has been checked against `size` by the
 * caller (see resolveRange); a source only has to check that it is still there.
 */
export interface Source {
  readonly info: SourceInfo;
  /** Copies target.length bytes starting at offset into target. Throws SourceLostError once gone. */
  read(offset: number, target: Uint8Array): void;
  /**
   * The bytes themselves (no copy) for bulk work such as a diff, when the source holds them in this
   * process (a guest copy); undefined means: use read(). Only good until the next await.
   */
  view(offset: number, length: number): Uint8Array | undefined;
  /** Writes data at offset, in place. Only for writable sources. */
  write(offset: number, data: Uint8Array): void;
  /** Checks that the source is still there; returns why it is gone, or undefined. Cheap. */
  check(): string | undefined;
  /** Called once when the source goes away, with the reason in plain words. */
  onGone(listener: (reason: string) => void): () => void;
  close(): void;
}

/** The bookkeeping every source shares: the gone state and its listeners. */
export abstract class SourceBase implements Source {
  abstract readonly info: SourceInfo;
  private goneReason: string | undefined;
  private readonly listeners = new Set<(reason: string) => void>();
  protected closed = false;

  abstract read(offset: number, target: Uint8Array): void;
  abstract write(offset: number, data: Uint8Array): void;

  view(_offset: number, _length: number): Uint8Array | undefined {
    return undefined;
  }

  /** Looks at the underlying object; returns why it is gone, or undefined. */
  protected abstract probe(): string | undefined;
  protected abstract release(): void;

  get gone(): string | undefined {
    return this.goneReason;
  }

  check(): string | undefined {
    if (this.goneReason === undefined && !this.closed) {
      const reason = this.probe();
      if (reason !== undefined) this.lose(reason);
    }
    return this.goneReason;
  }

  /** Throws if the source is gone or closed; called before touching memory. */
  protected ensurePresent(): void {
    if (this.closed) throw new Error('source used after close');
    const reason = this.check();
    if (reason !== undefined) throw new SourceLostError(reason);
  }

  protected lose(reason: string): void {
    if (this.goneReason !== undefined) return;
    this.goneReason = reason;
    for (const listener of [...this.listeners]) listener(reason);
  }

  onGone(listener: (reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.release();
  }
}
