import { CancelledError } from './errors';
import { yieldToEventLoop } from './file-io';
import type { Source } from './source';

const CHUNK = 4 * 1024 * 1024;

export interface SearchProgress {
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

/**
 * The first offset at or after `from` where `pattern` occurs, wrapping around to the start once;
 * null if it occurs nowhere. Reads in 4 MiB chunks that overlap by pattern.length - 1 bytes, so a
 * match across a chunk boundary is found; memory stays at one chunk whatever the segment's size.
 */
export async function searchSource(source: Source, pattern: Uint8Array, from: number, progress: SearchProgress = {}): Promise<number | null> {
  const size = source.info.size;
  if (pattern.length === 0 || pattern.length > size) return null;
  const buf = Buffer.allocUnsafe(CHUNK + pattern.length - 1);
  const needle = Buffer.from(pattern.buffer, pattern.byteOffset, pattern.byteLength);
  let scanned = 0;
  let lastYield = Date.now();
  // Two passes: [from, size) then [0, from + pattern.length - 1) for a match that wraps.
  for (const [start, end] of [[from, size], [0, Math.min(size, from + pattern.length - 1)]] as const) {
    for (let pos = start; pos + pattern.length <= end; pos += CHUNK) {
      const length = Math.min(buf.length, end - pos);
      const view = buf.subarray(0, length);
      source.read(pos, view);
      const hit = view.indexOf(needle);
      if (hit >= 0) return pos + hit;
      scanned += Math.min(CHUNK, length);
      if (Date.now() - lastYield > 50) {
        progress.onProgress?.(Math.min(scanned, size), size);
        await yieldToEventLoop();
        lastYield = Date.now();
        if (progress.isCancelled?.()) throw new CancelledError('search cancelled');
      }
    }
  }
  return null;
}
