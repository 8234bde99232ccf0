import * as fs from 'node:fs';
import { preadFully } from '../file-io';
import type { Range } from '../numbers';
import { checksumWasm } from '../wasm/checksum-wasm';

/**
 * Block checksums of format version 2 (docs/snapshot-format.md): each 4 KiB page is hashed with
 * XXH64, and a block's checksum is the low 32 bits of the XXH64 of its pages' digests. So a page of
 * zeros costs a compare instead of a hash, and a hole that was never read costs nothing (its digest
 * is a constant): a snapshot's checksums cost what its data costs, not what its size does.
 *
 * The hashing is WebAssembly (core/wasm/checksum.wat): 4.8-6.4 GB/s here against 1.8-3.2 for
 * zlib's CRC-32 of version 1, no native module. Callers read data straight into `area`, a Buffer
 * over the module's memory (memory V8 allocated, so no external ArrayBuffer), and hash it there.
 */
export const PAGE = 4096;
/** hasher.zeros: a page of zeros that was read (stored as data, unless made a hole). */
export const ZERO_READ = 1;
/** hasher.zeros: a hole (zeros, never read). */
export const HOLE = 2;

/** The little of the WebAssembly API used here (the project's lib settings carry no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let compiled: object | undefined;

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  pages(ptr: number, len: number, digests: number, zeros: number): void;
  blocks(digests: number, pages: number, perBlock: number, out: number): void;
  init(scratch: number): void;
}

export class PageHasher {
  /** Where data to hash goes: `capacity` bytes. */
  readonly area: Buffer;
  /** Per page hashed: 0 data, 1 a page of zeros that was read (ZERO_READ), 2 a hole that was not (HOLE). */
  readonly zeros: Uint8Array;
  private readonly exports: Exports;
  private readonly digestsAt: number;
  private readonly zerosAt: number;
  private readonly sumsAt: number;
  private readonly pagesPerBlock: number;
  private readonly zeroDigest: bigint;

  /**
   * @param capacity the most bytes hashed at once (a whole number of blocks, or a block's size)
   * @param blockSize the snapshot's block size (a multiple of PAGE)
   */
  constructor(
    readonly capacity: number,
    readonly blockSize: number,
  ) {
    if (capacity < blockSize || blockSize % PAGE !== 0) throw new RangeError(`bad hasher size ${capacity} for blocks of ${blockSize}`);
    compiled ??= new wasm.Module(Buffer.from(checksumWasm, 'base64'));
    this.exports = new wasm.Instance(compiled).exports as unknown as Exports;
    const pages = Math.ceil(capacity / PAGE);
    this.pagesPerBlock = blockSize / PAGE;
    const blocks = Math.ceil(capacity / blockSize) + 1;
    // Layout: data (from 0), page digests (u64), zero flags, block sums (u32), a zeroed page to start with.
    this.digestsAt = align(capacity, 8);
    this.zerosAt = this.digestsAt + pages * 8;
    this.sumsAt = align(this.zerosAt + pages, 8);
    const scratch = this.sumsAt + blocks * 4;
    const bytes = scratch + PAGE;
    const memory = this.exports.memory;
    const have = memory.buffer.byteLength;
    if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
    this.exports.init(align(scratch, 8));
    this.area = Buffer.from(memory.buffer, 0, capacity);
    this.zeros = new Uint8Array(memory.buffer, this.zerosAt, pages);
    // The digest pages() gives a page of zeros (fresh memory is zeros), for holes never read.
    this.exports.pages(0, PAGE, this.digestsAt, this.zerosAt);
    this.zeroDigest = new BigUint64Array(memory.buffer, this.digestsAt, 1)[0]!;
  }

  /**
   * Hashes the pages of area[from, from + length) into the digests of pages from its first on
   * (`from` a multiple of PAGE), and flags its zero pages in `zeros`.
   */
  hashPages(from: number, length: number): void {
    const page = from / PAGE;
    this.exports.pages(from, length, this.digestsAt + page * 8, this.zerosAt + page);
  }

  /** Marks pages [first, first + count) as holes: zeros, with the digest of zeros, unread. */
  holePages(first: number, count: number): void {
    this.zeros.fill(HOLE, first, first + count);
    new BigUint64Array(this.exports.memory.buffer, this.digestsAt + first * 8, count).fill(this.zeroDigest);
  }

  /**
   * The checksums of the blocks whose pages [0, pages) were hashed (or marked as holes) since the
   * area's start: one per blockSize of pages, the last one possibly shorter.
   */
  blockSums(pages: number): Uint32Array {
    const blocks = Math.ceil(pages / this.pagesPerBlock);
    this.exports.blocks(this.digestsAt, pages, this.pagesPerBlock, this.sumsAt);
    return new Uint32Array(this.exports.memory.buffer, this.sumsAt, blocks);
  }

  /** The checksum of one block given as bytes anywhere (copied into the area first). */
  checksumOf(block: Uint8Array): number {
    if (block.length > this.capacity) throw new RangeError(`a block of ${block.length} bytes is larger than the hasher's ${this.capacity}`);
    this.area.set(block, 0);
    this.hashPages(0, block.length);
    return this.blockSums(Math.ceil(block.length / PAGE))[0]!;
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Bytes read, then hashed, at once: they are still in the core's cache when hashed (reading a 1 MiB
 * piece before hashing it cost twice the system time of 128 KiB pieces here).
 */
const PIECE = 128 * 1024;

/** The checksums of the blocks of one stretch, and how many of its bytes could be read. */
export interface StretchSums {
  /** One per block of the stretch (a view of the hasher's memory: good until its next use). */
  checksums: Uint32Array;
  /** Bytes of the stretch that were there (fewer than asked only where a file ends). */
  got: number;
}

/**
 * Hashes a stretch of `length` bytes (at most the hasher's capacity; a whole number of blocks, or
 * the segment's last block) whose data lies in `data` (extents relative to the stretch, see
 * ExtentMap); the rest is holes: pages of zeros with a known digest, never read. `read(from, to)`
 * fills hasher.area[from, to) and returns how many bytes it got. `hasher.zeros` then tells the
 * pages of zeros and holes.
 */
export function hashStretch(hasher: PageHasher, length: number, data: readonly Range[], read: (from: number, to: number) => number): StretchSums {
  const pages = Math.ceil(length / PAGE);
  const partial = length % PAGE !== 0;
  const holes = (first: number, count: number): void => {
    if (count <= 0) return;
    // A short last page of zeros is hashed as the short page it is (its digest is not a full page's).
    const short = partial && first + count === pages;
    hasher.holePages(first, short ? count - 1 : count);
    if (short) {
      hasher.area.fill(0, (pages - 1) * PAGE, length);
      hasher.hashPages((pages - 1) * PAGE, length - (pages - 1) * PAGE);
      hasher.zeros[pages - 1] = HOLE;
    }
  };
  let got = length;
  let page = 0;
  for (let e = 0; e < data.length && page < pages; ) {
    const first = Math.floor(data[e]!.offset / PAGE);
    if (first > page) holes(page, first - page);
    page = Math.max(page, first);
    // One read for this extent and any that start in the pages it ends in or right after.
    let end = Math.ceil((data[e]!.offset + data[e]!.length) / PAGE);
    for (e++; e < data.length && Math.floor(data[e]!.offset / PAGE) <= end; e++) end = Math.max(end, Math.ceil((data[e]!.offset + data[e]!.length) / PAGE));
    // Read and hashed in pieces that stay in the cache between the two.
    for (let from = page * PAGE; from < Math.min(length, end * PAGE); from += PIECE) {
      const to = Math.min(length, end * PAGE, from + PIECE);
      const n = read(from, to);
      if (n < to - from) {
        // What is missing counts as missing (its blocks fail), hashed as zeros.
        hasher.area.fill(0, from + n, to);
        got = Math.min(got, from + n);
      }
      hasher.hashPages(from, to - from);
    }
    page = Math.min(pages, end);
  }
  holes(page, pages - page);
  return { checksums: hasher.blockSums(pages), got };
}

/** hashStretch of [position, position + length) of a file, read with pread; `fileSize` when known. */
export function hashFromFile(hasher: PageHasher, fd: number, position: number, length: number, data: readonly Range[] = [{ offset: 0, length }], fileSize = fs.fstatSync(fd).size): StretchSums {
  const there = Math.max(0, Math.min(length, fileSize - position));
  const sums = hashStretch(hasher, length, data, (from, to) => (from >= there ? 0 : preadFully(fd, hasher.area.subarray(from, Math.min(to, there)), position + from)));
  return { checksums: sums.checksums, got: Math.min(sums.got, there) };
}
