import { InputError } from '../errors';
import { formatBytes, type Range } from '../numbers';
import type { Source } from '../source';
import { forEachDifference } from '../diff/ranges';
import { changeOf, type Change } from './changes';

/** Two copies of the watched bytes are kept; this bounds the memory a watch can take. */
export const MAX_WATCHED_BYTES = 64 * 1024 * 1024;

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
   * called, `last` already holds the new bytes.
   */
  sample(visit: (range: number, start: number, end: number) => void): void {
    this.ranges.forEach((r, i) => this.source.read(r.offset, this.current[i]!));
    [this.previous, this.current] = [this.current, this.previous];
    this.ranges.forEach((_, i) => forEachDifference(this.current[i]!, this.previous[i]!, (start, end) => visit(i, start, end)));
  }

  /** One sample, its changes with copies of their old and new bytes (the live view's path). */
  tick(): Tick {
    const time = Date.now();
    const changes: Change[] = [];
    this.sample((i, start, end) => changes.push(changeOf(this.current[i]!, this.previous[i]!, start, end, this.ranges[i]!.offset)));
    return { time, changes };
  }
}
