import { crc32 } from '../builtins';
import { InputError } from '../errors';
import { preadFully } from '../file-io';
import { hashFromFile, PageHasher } from './page-hash';
import { clip, ExtentMap } from '../sys/extents';
import { nativeAvailable } from '../sys/libc';
import { hex, type Range } from '../numbers';

/**
 * How a snapshot's data is checked against its header, in one place: the checksum of each format
 * version (version 1: CRC-32 of each block; version 2: XXH64 of each page, then of a block's page
 * digests, page-hash.ts), and the check of one block. Who checks what and when: block-trust.ts (per
 * open snapshot) and checked-pass.ts (bulk passes: diff, reconnect, info).
 *
 * The rule they serve: no byte of a snapshot is used before its block was checked, or, in a bulk
 * pass, before the pass's result is released.
 */

/** What the header says about the data: enough to check any block. */
export interface ChecksummedData {
  /** The format version, which decides the checksum. */
  version: number;
  size: number;
  blockSize: number;
  blockChecksums: Uint32Array;
}

/** Bytes read at once by a scan: a few blocks, small enough to stay in a core's cache. */
const SCAN_BYTES = 1 << 20;

/** Whether the bytes of one block match their checksum. Zero blocks (holes) cost a compare. */
export class BlockChecker {
  private readonly zero: Buffer;
  private readonly zeroSum: number;
  /** Version 2: the hasher, whose memory scans read into. */
  private readonly hasher: PageHasher | undefined;
  /** Version 1: where scans read. */
  private crcBuffer: Buffer | undefined;
  private extents: { within(offset: number, length: number): Range[] } | undefined;

  constructor(readonly data: ChecksummedData) {
    this.zero = Buffer.alloc(data.blockSize);
    if (data.version >= 2) this.hasher = new PageHasher(Math.max(data.blockSize, SCAN_BYTES - (SCAN_BYTES % data.blockSize)), data.blockSize);
    this.zeroSum = this.sum(this.zero);
  }

  /** Bytes of block `index`: blockSize, or less for the last block. */
  lengthOf(index: number): number {
    return Math.min(this.data.blockSize, this.data.size - index * this.data.blockSize);
  }

  matches(index: number, bytes: Uint8Array): boolean {
    const expected = this.data.blockChecksums[index];
    if (bytes.length !== this.lengthOf(index)) return false;
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (b.length === this.zero.length && b.equals(this.zero)) return this.zeroSum === expected;
    return this.sum(b) === expected;
  }

  /**
   * Checks blocks [first, end) as read from `fd` (the data starts at `dataOffset`); `verdict` gets
   * each block's result. A short file fails the blocks it cannot fill. Version 2 reads only the
   * file's data: its holes are pages of zeros, whose digest is known without reading them.
   */
  scan(fd: number, dataOffset: number, first: number, end: number, verdict: (index: number, good: boolean) => void): void {
    const { blockSize, size } = this.data;
    const capacity = this.hasher?.capacity ?? SCAN_BYTES;
    const perRead = Math.max(1, Math.floor(capacity / blockSize));
    for (let at = first; at < end; at += perRead) {
      const offset = at * blockSize;
      const length = Math.min(perRead * blockSize, size - offset, (end - at) * blockSize);
      if (this.hasher) {
        const sums = hashFromFile(this.hasher, fd, dataOffset + offset, length, this.dataOf(fd, dataOffset).within(offset, length));
        for (let i = 0; i < sums.checksums.length; i++) verdict(at + i, Math.min(length, (i + 1) * blockSize) <= sums.got && sums.checksums[i] === this.data.blockChecksums[at + i]);
        continue;
      }
      const buf = (this.crcBuffer ??= Buffer.allocUnsafe(Math.max(blockSize, capacity - (capacity % blockSize))));
      const got = preadFully(fd, buf.subarray(0, length), dataOffset + offset);
      for (let from = 0; from < length; from += blockSize) {
        const to = Math.min(length, from + blockSize);
        verdict(at + from / blockSize, to <= got && this.matches(at + from / blockSize, buf.subarray(from, to)));
      }
    }
  }

  /** The data extents of the snapshot's data, found once (see ExtentMap); all data without the native library. */
  private dataOf(fd: number, dataOffset: number): { within(offset: number, length: number): Range[] } {
    if (!this.extents) {
      let map: ExtentMap | undefined;
      try {
        if (nativeAvailable()) map = new ExtentMap(fd, dataOffset, dataOffset + this.data.size);
      } catch {
        map = undefined; // a file system that refuses SEEK_DATA some other way: read it all
      }
      this.extents = map ? { within: (offset, length) => clip(map.extents, dataOffset + offset, length) } : { within: (_offset, length) => [{ offset: 0, length }] };
    }
    return this.extents;
  }

  private sum(block: Buffer): number {
    return this.hasher ? this.hasher.checksumOf(block) : crc32(block);
  }
}

/** Adjacent bad blocks as byte ranges of the segment. */
export function damagedRanges(badBlocks: readonly number[], data: ChecksummedData): Range[] {
  const out: Range[] = [];
  for (const index of badBlocks) {
    const offset = index * data.blockSize;
    const length = Math.min(data.blockSize, data.size - offset);
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length });
  }
  return out;
}

/** "0x30000..0x40000, 0x90000..0xa0000" (at most `max` listed). */
export function describeRanges(ranges: readonly Range[], max = 5): string {
  const listed = ranges.slice(0, max).map((r) => `${hex(r.offset)}..${hex(r.offset + r.length)}`);
  return `${listed.join(', ')}${ranges.length > max ? `, and ${ranges.length - max} more` : ''}`;
}

/** A snapshot whose blocks fail their checksum was about to be used: exit 2, naming the ranges. */
export class DamagedError extends InputError {}

export function damagedMessage(file: string, ranges: readonly Range[]): string {
  return `${file} is damaged: the data at ${describeRanges(ranges)} does not match its checksum`;
}
