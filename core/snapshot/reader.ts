import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { CancelledError, InputError, describeSystemError } from '../errors';
import { preadFully, yieldToEventLoop } from '../file-io';
import { FIXED_HEADER, FormatError, declaredHeaderLength, decodeHeader, type SnapshotHeader } from './format';

export interface VerifyResult {
  /** Indexes of blocks whose data does not match the checksum in the header. */
  badBlocks: number[];
  blocksChecked: number;
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

  /** Recomputes every block checksum. Zero blocks (holes) cost a compare, not a CRC. */
  async verify(progress: Progress = {}): Promise<VerifyResult> {
    const { blockSize, size, blockChecksums } = this.header;
    const perRead = Math.max(1, Math.floor((4 * 1024 * 1024) / blockSize));
    const buf = Buffer.allocUnsafe(perRead * blockSize);
    const zero = Buffer.alloc(blockSize);
    const zeroCrc = crc32(zero);
    const badBlocks: number[] = [];
    let lastYield = Date.now();
    for (let first = 0; first < blockChecksums.length; first += perRead) {
      const offset = first * blockSize;
      const length = Math.min(buf.length, size - offset);
      const got = this.readData(offset, buf.subarray(0, length));
      for (let b = 0; b * blockSize < length; b++) {
        const index = first + b;
        const from = b * blockSize;
        const to = Math.min(length, from + blockSize);
        const block = buf.subarray(from, to);
        let crc: number;
        if (to > got) crc = -1; // the file ended early: cannot match
        else if (block.length === blockSize && block.equals(zero)) crc = zeroCrc;
        else crc = crc32(block);
        if (crc !== blockChecksums[index]) badBlocks.push(index);
      }
      if (Date.now() - lastYield > 50) {
        progress.onProgress?.(offset + length, size);
        await yieldToEventLoop();
        lastYield = Date.now();
        if (progress.isCancelled?.()) throw new CancelledError('verification cancelled');
      }
    }
    progress.onProgress?.(size, size);
    return { badBlocks, blocksChecked: blockChecksums.length };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
