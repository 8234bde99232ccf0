/** A run of bytes that differs between two sides. */
export interface DiffRange {
  offset: number;
  length: number;
}

const PAGE = 4096;

/**
 * Calls onRun(start, end) (relative to the buffers) for each run of differing bytes. Equal pages
 * are skipped with a native compare; only differing pages are walked byte by byte. A run still open
 * at the end is reported with end === a.length; `open` says whether the first byte continues a run
 * from the previous buffer (the caller merges).
 */
export function forEachDifference(a: Uint8Array, b: Uint8Array, onRun: (start: number, end: number) => void): void {
  if (a.length !== b.length) throw new Error('forEachDifference needs buffers of equal length');
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (x.equals(y)) return;
  let runStart = -1;
  for (let page = 0; page < x.length; page += PAGE) {
    const end = Math.min(x.length, page + PAGE);
    if (x.subarray(page, end).equals(y.subarray(page, end))) {
      if (runStart >= 0) {
        onRun(runStart, page);
        runStart = -1;
      }
      continue;
    }
    for (let i = page; i < end; i++) {
      if (x[i] !== y[i]) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        onRun(runStart, i);
        runStart = -1;
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
