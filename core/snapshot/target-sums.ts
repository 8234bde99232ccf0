import type { Range } from '../numbers';
import { clip } from '../sys/extents';
import { hashFromFile, PageHasher, PAGE, ZERO_READ, HOLE } from './page-hash';

/**
 * The checksums of a snapshot being written, computed from the file itself (its data read back
 * from the page cache right behind the copy), so that they describe exactly the bytes written,
 * whatever the live segment did meanwhile; and, on the way, the pages of zeros that were copied as
 * data (to be given back as holes). Runs in a worker thread (checksum-worker.ts) beside the copy,
 * or in the writer's own thread when no worker can run.
 */
export interface SumsResult {
  /** Bytes of pages that hold data (not zeros). */
  dataBytes: number;
  /** Blocks whose every page is zeros. */
  zeroBlocks: number;
  /** Runs of pages of zeros stored as data: [data offset, length]. */
  zeroRuns: [number, number][];
}

export interface SumsTarget {
  fd: number;
  /** The data extents of the segment (segment offsets): the rest of the file was never written. */
  extents: Range[];
  /** Where the segment's data starts in the file (the header length). */
  dataOffset: number;
  size: number;
  blockSize: number;
}

/** Bytes hashed at once: a few blocks, small enough to stay in a core's cache. */
const CHUNK = 1 << 20;

export class TargetSums {
  private readonly hasher: PageHasher;
  private readonly chunk: number;
  /** Data before this offset has been hashed. */
  private done = 0;
  private readonly result: SumsResult = { dataBytes: 0, zeroBlocks: 0, zeroRuns: [] };

  /** `checksums`: one per block, filled as the copy goes (a SharedArrayBuffer's, from a worker). */
  constructor(
    private readonly target: SumsTarget,
    private readonly checksums: Uint32Array,
  ) {
    this.chunk = Math.max(target.blockSize, CHUNK - (CHUNK % target.blockSize));
    this.hasher = new PageHasher(this.chunk, target.blockSize);
  }

  /** The copy is final before `offset`: hashes every whole chunk before it. */
  upTo(offset: number): void {
    while (this.done < this.target.size && (this.done + this.chunk <= offset || offset >= this.target.size)) this.hashChunk();
  }

  /** Hashes what is left; the copy is complete. */
  finish(): SumsResult {
    this.upTo(this.target.size);
    return this.result;
  }

  private hashChunk(): void {
    const { fd, dataOffset, size, blockSize } = this.target;
    const length = Math.min(this.chunk, size - this.done);
    const { checksums, got } = hashFromFile(this.hasher, fd, dataOffset + this.done, length, clip(this.target.extents, this.done, length), dataOffset + size);
    // The file is ours and was sized up front: a short read is a bug, not a lost source.
    if (got < length) throw new Error(`the snapshot being written is shorter than its size (${this.done + got} of ${size})`);
    this.checksums.set(checksums, this.done / blockSize);
    const zeros = this.hasher.zeros;
    const pages = Math.ceil(length / PAGE);
    const perBlock = blockSize / PAGE;
    for (let p = 0; p < pages; p++) {
      const flag = zeros[p]!;
      if (flag === 0) this.result.dataBytes += Math.min(PAGE, length - p * PAGE);
      else if (flag === ZERO_READ) {
        const at = this.done + p * PAGE;
        const last = this.result.zeroRuns[this.result.zeroRuns.length - 1];
        if (last && last[0] + last[1] === at) last[1] += PAGE;
        else this.result.zeroRuns.push([at, PAGE]);
      }
    }
    for (let first = 0; first < pages; first += perBlock) {
      let allZero = true;
      for (let p = first; p < Math.min(pages, first + perBlock) && allZero; p++) allZero = zeros[p] === ZERO_READ || zeros[p] === HOLE;
      if (allZero && Math.min(length - first * PAGE, blockSize) === blockSize) this.result.zeroBlocks++;
    }
    this.done += length;
  }
}
