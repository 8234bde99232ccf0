import { InputError } from '../errors';
import { formatBytes, type Range } from '../numbers';
import type { Source } from '../source';
import { forEachDifference } from '../diff/ranges';
import { changeOf, type Change } from './changes';

/** Two copies of the watched bytes are kept; this bounds the memory a watch can take. */
export const MAX_WATCHED_BYTES = 64 * 1024 * 1024;
const PAGE = 4096;

export interface Tick {
  /** When the sample was taken, ms since the epoch. */
  time: number;
  changes: Change[];
}

/**
 * Samples ranges of a source and reports what changed since the previous sample. Writes through a
 * mapping raise no file event, so sampling is the only way to see them; a tick reads only the
 * watched ranges, so its cost depends on them, not on the segment.
 */
export class RangeWatcher {
  private previous: Uint8Array[];
  private current: Uint8Array[];

  constructor(
    private readonly source: Source,
    readonly ranges: readonly Range[],
  ) {
    const total = ranges.reduce((sum, r) => sum + r.length, 0);
    if (total > MAX_WATCHED_BYTES) {
      throw new InputError(`watching ${formatBytes(total)} at once is more than ${formatBytes(MAX_WATCHED_BYTES)}: narrow it with an offset and a length`);
    }
    this.previous = ranges.map((r) => new Uint8Array(r.length));
    this.current = ranges.map((r) => new Uint8Array(r.length));
    ranges.forEach((r, i) => source.read(r.offset, this.previous[i]!));
  }

  /** The bytes as of the last sample, one array per range. */
  get last(): readonly Uint8Array[] {
    return this.previous;
  }

  /**
   * One sample without copies (the recorder's path): reads every range and calls
   * visit(range index, start, end, before, after) for each run that changed, relative to its range;
   * `before` and `after` hold the run's old and new bytes at [start, end) during the call. Once
   * sample() returns, `last` holds the new bytes.
   *
   * A source with a mapping is compared in place: a stretch of differing pages is copied once (so
   * that the runs are found on bytes that hold still while the segment changes), and only the runs
   * are then copied into `last`. A quiet tick costs a memcmp, a busy one about one copy of the pages
   * that changed (measured in the recording bench).
   */
  sample(visit: (range: number, start: number, end: number, before: Uint8Array, after: Uint8Array) => void): void {
    this.ranges.forEach((r, i) => {
      const view = this.source.view(r.offset, r.length);
      if (view) {
        this.sampleView(i, view, visit);
        return;
      }
      this.source.read(r.offset, this.current[i]!);
      const next = this.current[i]!;
      const old = this.previous[i]!;
      this.current[i] = old;
      this.previous[i] = next;
      forEachDifference(old, next, (start, end) => visit(i, start, end, old, next));
    });
  }

  private sampleView(i: number, view: Uint8Array, visit: (range: number, start: number, end: number, before: Uint8Array, after: Uint8Array) => void): void {
    const last = this.previous[i]!;
    const scratch = this.current[i]!;
    const live = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    const kept = Buffer.from(last.buffer, last.byteOffset, last.byteLength);
    if (live.equals(kept)) return;
    let spanStart = -1;
    const flush = (end: number): void => {
      const from = spanStart;
      live.copy(scratch, from, from, end);
      forEachDifference(last.subarray(from, end), scratch.subarray(from, end), (start, stop) => {
        visit(i, from + start, from + stop, last, scratch);
        // Most runs are a few bytes: a loop costs less than a native copy's call.
        for (let k = from + start; k < from + stop; k++) last[k] = scratch[k]!;
      });
      spanStart = -1;
    };
    for (let page = 0; page < live.length; page += PAGE) {
      const end = Math.min(live.length, page + PAGE);
      // compare() with offsets: no view objects for the thousands of pages of a large range.
      const same = live.compare(kept, page, end, page, end) === 0;
      if (!same && spanStart < 0) spanStart = page;
      else if (same && spanStart >= 0) flush(page);
    }
    if (spanStart >= 0) flush(live.length);
  }

  /** One sample, its changes with copies of their old and new bytes (the live view's path). */
  tick(): Tick {
    const time = Date.now();
    const changes: Change[] = [];
    this.sample((i, start, end, before, after) => changes.push(changeOf(before, after, start, end, this.ranges[i]!.offset)));
    return { time, changes };
  }
}
