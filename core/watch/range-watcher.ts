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
   * One sample without copies (the recorder's path): reads every range, then calls
   * visit(range index, start, end) for each run that changed, relative to its range. When visit is
   * called, `last` already holds the new bytes (and the other copy the old bytes of the run).
   *
   * A source with a mapping is compared in place: only pages that differ are copied, so a tick over
   * a quiet 16 MiB mapping costs a memcmp, not a memcpy as well (measured in the recording bench).
   * Each differing stretch of pages is copied once and compared on that copy, so the runs reported
   * are exactly the bytes kept, even while the segment changes under us.
   */
  sample(visit: (range: number, start: number, end: number) => void): void {
    this.ranges.forEach((r, i) => {
      const view = this.source.view(r.offset, r.length);
      if (view) {
        this.sampleView(i, view, visit);
        return;
      }
      this.source.read(r.offset, this.current[i]!);
      const next = this.current[i]!;
      this.current[i] = this.previous[i]!;
      this.previous[i] = next;
      forEachDifference(this.current[i]!, next, (start, end) => visit(i, start, end));
    });
  }

  private sampleView(i: number, view: Uint8Array, visit: (range: number, start: number, end: number) => void): void {
    const last = this.previous[i]!;
    const old = this.current[i]!;
    const live = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    const kept = Buffer.from(last.buffer, last.byteOffset, last.byteLength);
    if (live.equals(kept)) return;
    let spanStart = -1;
    const flush = (end: number): void => {
      // Old bytes aside, then the new ones copied once: the runs are found between these two copies.
      old.set(last.subarray(spanStart, end), spanStart);
      live.copy(kept, spanStart, spanStart, end);
      forEachDifference(old.subarray(spanStart, end), last.subarray(spanStart, end), (start, stop) => visit(i, spanStart + start, spanStart + stop));
      spanStart = -1;
    };
    for (let page = 0; page < live.length; page += PAGE) {
      const end = Math.min(live.length, page + PAGE);
      const same = live.subarray(page, end).equals(kept.subarray(page, end));
      if (!same && spanStart < 0) spanStart = page;
      else if (same && spanStart >= 0) flush(page);
    }
    if (spanStart >= 0) flush(live.length);
  }

  /** One sample, its changes with copies of their old and new bytes (the live view's path). */
  tick(): Tick {
    const time = Date.now();
    const changes: Change[] = [];
    this.sample((i, start, end) => changes.push(changeOf(this.current[i]!, this.previous[i]!, start, end, this.ranges[i]!.offset)));
    return { time, changes };
  }
}
