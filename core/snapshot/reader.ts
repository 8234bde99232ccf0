import * as fs from 'node:fs';
import { InputError, describeSystemError } from '../errors';
import { preadFully } from '../file-io';
import type { Range } from '../numbers';
import { damagedRanges } from './integrity';
import { BlockTrust } from './block-trust';
import { checkAll } from './checked-pass';
import { FIXED_HEADER, FormatError, declaredHeaderLength, decodeHeader, type SnapshotHeader } from './format';

export interface VerifyResult {
  /** Indexes of blocks whose data does not match the checksum in the header. */
  badBlocks: number[];
  blocksChecked: number;
  /** The bad blocks as byte ranges of the segment (adjacent blocks joined). */
  damaged: Range[];
}

export interface Progress {
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

/** Whether a file starts with the snapshot magic (used to tell snapshots from backing files). */
export function looksLikeSnapshot(path: string): boolean {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO must not block the open (regular files ignore the flag).
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) return false;
    const head = Buffer.alloc(8);
    return preadFully(fd, head, 0) === 8 && head.toString('latin1') === 'SHMSNAP\0';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** An open, validated .shmsnap file. Nothing from the file is used before decodeHeader checked it. */
export class SnapshotFile {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly fd: number,
    readonly header: SnapshotHeader,
  ) {}

  static open(path: string): SnapshotFile {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw new InputError(`${path}: cannot open: ${describeSystemError(err)}`);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
      const fixed = Buffer.alloc(FIXED_HEADER);
      const got = preadFully(fd, fixed, 0);
      const length = declaredHeaderLength(fixed.subarray(0, got), st.size);
      const whole = Buffer.alloc(length);
      if (preadFully(fd, whole, 0) !== length) throw new FormatError('truncated while reading the header');
      return new SnapshotFile(path, fd, decodeHeader(whole, st.size));
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof FormatError) throw new InputError(`${path}: ${err.message}`);
      if (err instanceof InputError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code) throw new InputError(`${path}: ${describeSystemError(err)}`);
      throw err;
    }
  }

  /** Reads segment bytes (not file bytes) at offset; returns how many were available. */
  readData(offset: number, target: Uint8Array): number {
    return preadFully(this.fd, target, this.header.headerLength + offset);
  }

  /** Checks every block against its checksum (see integrity.ts): on a worker thread when it can. */
  async verify(progress: Progress = {}): Promise<VerifyResult> {
    const { version, size, blockSize, blockChecksums } = this.header;
    const trust = new BlockTrust({ version, size, blockSize, blockChecksums }, this.fd, this.header.headerLength);
    await checkAll([trust], progress);
    const badBlocks = trust.badBlocks();
    progress.onProgress?.(size, size);
    return { badBlocks, blocksChecked: blockChecksums.length, damaged: damagedRanges(badBlocks, this.header) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
