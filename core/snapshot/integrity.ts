import { crc32 } from 'node:zlib';
import { InputError } from '../errors';
import { preadFully } from '../file-io';
import { hex, type Range } from '../numbers';

/**
 * How a snapshot's data is checked against its header, in one place: the checksum (CRC-32 per
 * block in format version 1; a faster one can replace it here, with a new format version), and the
 * check of one block. Who checks what and when: block-trust.ts (per open snapshot) and
 * checked-pass.ts (bulk passes: diff, reconnect, info).
 *
 * The rule they serve: no byte of a snapshot is used before its block was checked, or, in a bulk
 * pass, before the pass's result is released.
 */

/** The checksum of one block, as the header stores it. */
export function blockChecksum(block: Uint8Array): number {
  return crc32(block);
}

/** What the header says about the data: enough to check any block. */
export interface ChecksummedData {
  size: number;
  blockSize: number;
  blockChecksums: Uint32Array;
}

/** Whether the bytes of one block match their checksum. Zero blocks (holes) cost a compare. */
export class BlockChecker {
  private readonly zero: Buffer;
  private readonly zeroSum: number;

  constructor(readonly data: ChecksummedData) {
    this.zero = Buffer.alloc(data.blockSize);
    this.zeroSum = blockChecksum(this.zero);
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
    return blockChecksum(b) === expected;
  }

  /**
   * Checks blocks [first, end) as read from `fd` (the data starts at `dataOffset`) into `buf`, a
   * multiple of the block size; `verdict` gets each block's result. A short file fails the blocks
   * it cannot fill.
   */
  scan(fd: number, dataOffset: number, first: number, end: number, buf: Buffer, verdict: (index: number, good: boolean) => void): void {
    const { blockSize, size } = this.data;
    const perRead = Math.max(1, Math.floor(buf.length / blockSize));
    for (let at = first; at < end; at += perRead) {
      const offset = at * blockSize;
      const length = Math.min(perRead * blockSize, size - offset, (end - at) * blockSize);
      const got = preadFully(fd, buf.subarray(0, length), dataOffset + offset);
      for (let from = 0; from < length; from += blockSize) {
        const to = Math.min(length, from + blockSize);
        verdict(at + from / blockSize, to <= got && this.matches(at + from / blockSize, buf.subarray(from, to)));
      }
    }
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
