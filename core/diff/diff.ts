import { CancelledError } from '../errors';
import { yieldToEventLoop } from '../file-io';
import type { Source } from '../source';
import { RangeCollector, forEachDifference, type DiffRange } from './ranges';

export interface DiffOptions {
  /** Ranges beyond this many are counted but not listed. */
  maxRanges?: number;
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

export interface DiffResult {
  sizeA: number;
  sizeB: number;
  /** Bytes compared: the shorter side. */
  compared: number;
  ranges: DiffRange[];
  changedBytes: number;
  /** More ranges differed than were listed. */
  truncated: boolean;
  /** The part only the longer side has, if the sizes differ. */
  tail: { side: 'a' | 'b'; offset: number; length: number } | undefined;
}

/**
 * Small enough that both chunks stay in a core's L2 cache between the pread that fills them and the
 * compare that reads them. Measured here, two 1 GiB /dev/shm files read and compared: 0.50-0.54 s
 * in 64-128 KiB chunks, 1.8-2.2 s in 4-16 MiB chunks (each byte then goes to RAM and back).
 */
export const DIFF_CHUNK = 128 * 1024;

/**
 * The ranges where two sources differ, streaming in small chunks: memory stays at two chunks
 * whatever the size. Equal chunks cost one native compare; only differing pages are walked.
 */
export async function diffSources(a: Source, b: Source, options: DiffOptions = {}): Promise<DiffResult> {
  const sizeA = a.info.size;
  const sizeB = b.info.size;
  const compared = Math.min(sizeA, sizeB);
  const bufA = Buffer.allocUnsafe(Math.min(DIFF_CHUNK, Math.max(1, compared)));
  const bufB = Buffer.allocUnsafe(bufA.length);
  const collector = new RangeCollector(options.maxRanges ?? 100_000);
  let lastYield = Date.now();
  for (let offset = 0; offset < compared; offset += bufA.length) {
    const length = Math.min(bufA.length, compared - offset);
    // Straight from memory when a side holds its bytes (a guest copy), else read into buffers.
    let x = a.view(offset, length);
    let y = b.view(offset, length);
    if (!x) a.read(offset, (x = bufA.subarray(0, length)));
    if (!y) b.read(offset, (y = bufB.subarray(0, length)));
    forEachDifference(x, y, (start, end) => collector.add(offset + start, end - start));
    if (Date.now() - lastYield > 50) {
      options.onProgress?.(offset + length, compared);
      await yieldToEventLoop();
      lastYield = Date.now();
      if (options.isCancelled?.()) throw new CancelledError('diff cancelled');
    }
  }
  options.onProgress?.(compared, compared);
  const tail = sizeA === sizeB ? undefined : { side: sizeA > sizeB ? ('a' as const) : ('b' as const), offset: compared, length: Math.abs(sizeA - sizeB) };
  return { sizeA, sizeB, compared, ranges: collector.ranges, changedBytes: collector.changedBytes, truncated: collector.truncated, tail };
}
