import type { Range } from '../numbers';
import { BlockChecker, damagedRanges, type ChecksummedData } from './integrity';

/** A block's state. CLAIMED: someone (this thread or a verify worker) is checking it now. */
export const UNKNOWN = 0;
export const GOOD = 1;
export const BAD = 2;
export const CLAIMED = 3;

/**
 * What is known about each block of one open snapshot: not checked yet, being checked, good or
 * bad. The states live in shared memory so that a verify worker (checked-pass.ts) and this thread
 * split a whole-file check between them without checking a block twice: each claims a block with
 * an atomic compare-and-swap before checking it.
 */
export class BlockTrust {
  /** One state per block, over a SharedArrayBuffer (a verify worker writes into it too). */
  readonly state: Uint8Array;
  readonly checker: BlockChecker;

  constructor(
    readonly data: ChecksummedData,
    readonly fd: number,
    readonly dataOffset: number,
  ) {
    this.state = new Uint8Array(new SharedArrayBuffer(data.blockChecksums.length));
    this.checker = new BlockChecker(data);
  }

  /**
   * Checks, now, the blocks under [offset, offset + length) that are not known yet; `bytes`, the
   * data just read at offset, spares a second read of the blocks it holds whole. Returns the bad
   * ranges there. (A block a worker is checking at this moment is checked here too: same verdict.)
   */
  check(offset: number, length: number, bytes?: Uint8Array): Range[] {
    const { blockSize } = this.data;
    const first = Math.floor(offset / blockSize);
    const end = length === 0 ? first : Math.ceil((offset + length) / blockSize);
    const bad: number[] = [];
    for (let index = first; index < end; index++) {
      let s = Atomics.load(this.state, index);
      if (s !== GOOD && s !== BAD) {
        s = this.verdict(index, offset, bytes) ? GOOD : BAD;
        Atomics.store(this.state, index, s);
      }
      if (s === BAD) bad.push(index);
    }
    return damagedRanges(bad, this.data);
  }

  /**
   * In a bulk pass: checks the blocks that lie whole in `bytes` (the data at offset, just handed
   * to the pass) and that nobody has claimed; the rest is left to the worker. With a partner (the
   * other snapshot of a diff or a three-way, same block layout), a block whose bytes and checksum
   * equal the partner's already-checked block takes its verdict: one checksum serves both.
   */
  checkInline(offset: number, bytes: Uint8Array, partner?: { trust: BlockTrust; offset: number; bytes: Uint8Array }): void {
    const { blockSize } = this.data;
    for (let index = Math.ceil(offset / blockSize); index < this.state.length; index++) {
      const from = index * blockSize - offset;
      const length = this.checker.lengthOf(index);
      if (from + length > bytes.length) break;
      if (Atomics.compareExchange(this.state, index, UNKNOWN, CLAIMED) !== UNKNOWN) continue;
      const block = bytes.subarray(from, from + length);
      const inherited = partner ? partnerVerdict(partner, index, block, this.data) : undefined;
      Atomics.store(this.state, index, inherited ?? (this.checker.matches(index, block) ? GOOD : BAD));
    }
  }

  /** Indexes of the blocks known to be bad. */
  badBlocks(): number[] {
    const bad: number[] = [];
    for (let i = 0; i < this.state.length; i++) if (Atomics.load(this.state, i) === BAD) bad.push(i);
    return bad;
  }

  /** Checks here every block that is not known (after a worker stopped, or without one). */
  checkRemaining(first = 0, end = this.state.length): void {
    for (let i = first; i < end; i++) {
      const s = Atomics.load(this.state, i);
      if (s !== GOOD && s !== BAD) this.check(i * this.data.blockSize, 1);
    }
  }

  private verdict(index: number, offset: number, bytes: Uint8Array | undefined): boolean {
    const start = index * this.data.blockSize;
    const length = this.checker.lengthOf(index);
    if (bytes && start >= offset && start + length <= offset + bytes.length) return this.checker.matches(index, bytes.subarray(start - offset, start - offset + length));
    let good = false;
    this.checker.scan(this.fd, this.dataOffset, index, index + 1, (_, ok) => (good = ok));
    return good;
  }
}

/** The partner's verdict for `block` when it is the same block with the same checksum, else undefined. */
function partnerVerdict(partner: { trust: BlockTrust; offset: number; bytes: Uint8Array }, index: number, block: Uint8Array, data: ChecksummedData): number | undefined {
  const p = partner.trust;
  if (p.data.blockSize !== data.blockSize || p.data.size !== data.size || p.data.blockChecksums[index] !== data.blockChecksums[index]) return undefined;
  const s = Atomics.load(p.state, index);
  if (s !== GOOD && s !== BAD) return undefined;
  const from = index * data.blockSize - partner.offset;
  if (from < 0 || from + block.length > partner.bytes.length) return undefined;
  const theirs = partner.bytes.subarray(from, from + block.length);
  return Buffer.from(theirs.buffer, theirs.byteOffset, theirs.byteLength).equals(Buffer.from(block.buffer, block.byteOffset, block.byteLength)) ? s : undefined;
}
