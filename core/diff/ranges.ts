/** A run of bytes that differs between two sides. */
export interface DiffRange {
  offset: number;
  length: number;
}

const PAGE = 4096;

/**
 * Calls onRun(start, end) (relative to the buffers) for each run of differing bytes. Equal pages are
 * skipped with a native compare; in a differing page, 16-byte blocks that are equal are skipped by
 * comparing 32-bit words (when both buffers are 4-byte aligned), and only the others are walked
 * byte by byte. Measured on 1 MiB with 1,000 scattered one-byte changes (every page differs):
 * 0.65-1.8 ms a call, against 6-12 ms walking every byte of a differing page. A run still open at
 * the end is reported with end === a.length.
 */
export function forEachDifference(a: Uint8Array, b: Uint8Array, onRun: (start: number, end: number) => void): void {
  if (a.length !== b.length) throw new Error('forEachDifference needs buffers of equal length');
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (x.equals(y)) return;
  const aligned = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0;
  const wa = aligned ? new Int32Array(a.buffer, a.byteOffset, a.byteLength >>> 2) : undefined;
  const wb = aligned ? new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2) : undefined;
  let runStart = -1;
  for (let page = 0; page < x.length; page += PAGE) {
    const end = Math.min(x.length, page + PAGE);
    // compare() with offsets: no view objects for the thousands of pages of a large range.
    if (x.compare(y, page, end, page, end) === 0) {
      if (runStart >= 0) {
        onRun(runStart, page);
        runStart = -1;
      }
      continue;
    }
    // The byte loop is written out (not a helper): this is the hot path of a recording.
    let i = page;
    const blocks = wa && wb ? page + ((end - page) & ~15) : page;
    while (i < end) {
      if (i < blocks && runStart < 0) {
        const j = i >>> 2;
        if (((wa![j]! ^ wb![j]!) | (wa![j + 1]! ^ wb![j + 1]!) | (wa![j + 2]! ^ wb![j + 2]!) | (wa![j + 3]! ^ wb![j + 3]!)) === 0) {
          i += 16;
          continue;
        }
      }
      const stop = i < blocks ? i + 16 : end;
      for (; i < stop; i++) {
        if (x[i] !== y[i]) {
          if (runStart < 0) runStart = i;
        } else if (runStart >= 0) {
          onRun(runStart, i);
          runStart = -1;
        }
      }
    }
  }
  if (runStart >= 0) onRun(runStart, x.length);
}

/** Collects ranges from consecutive buffers, joining a run that crosses a buffer boundary. */
export class RangeCollector {
  readonly ranges: DiffRange[] = [];
  changedBytes = 0;
  truncated = false;

  constructor(private readonly maxRanges: number) {}

  add(offset: number, length: number): void {
    this.changedBytes += length;
    const last = this.ranges[this.ranges.length - 1];
    if (last && last.offset + last.length === offset) {
      last.length += length;
      return;
    }
    if (this.ranges.length >= this.maxRanges) {
      this.truncated = true;
      return;
    }
    this.ranges.push({ offset, length });
  }
}
