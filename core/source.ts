import * as fs from 'node:fs';
import { SourceLostError } from './errors';
import type { CheckedPass } from './snapshot/checked-pass';
import { Emitter, type Unsubscribe } from './events';
import type { Range } from './numbers';

export type SourceKind = 'file' | 'snapshot' | 'ivshmem' | 'recording';

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
  /**
   * The file behind the bytes (device and inode of the open descriptor), when there is one: a
   * snapshot or an export is never written over it, however its path is spelled.
   */
  identity?: FileIdentity;
}

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The device and inode of an open descriptor; undefined if it cannot be examined. */
export function identityOf(fd: number): FileIdentity | undefined {
  try {
    const st = fs.fstatSync(fd);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
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
  /**
   * Bulk copies (snapshots): the data extents of [offset, offset + length) in order, the rest of the
   * range reading as zeros without being stored (holes), when the source can tell (a file:
   * SEEK_DATA); undefined means: all of it may be data. Checks, like read(), that the source is there.
   */
  dataExtents?(offset: number, length: number): Range[] | undefined;
  /** Writes data at offset, in place. Only for writable sources. */
  write(offset: number, data: Uint8Array): void;
  /**
   * Sources whose bytes carry checksums (snapshots): a bulk pass over them, checked beside it, paired
   * with another snapshot's pass when given. Use it through withChecks (core/snapshot/checked-pass.ts),
   * which releases a result only once every block was checked.
   */
  checkedPass?(partner?: CheckedPass): CheckedPass;
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
  private readonly goneEvents = new Emitter<string>();
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
    this.goneEvents.emit(reason);
  }

  onGone(listener: (reason: string) => void): Unsubscribe {
    return this.goneEvents.on(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.goneEvents.clear();
    this.release();
  }
}
