import { InputError } from '../errors';
import { formatBytes, type Range } from '../numbers';
import type { Source } from '../source';
import { findChanges, type Change } from './changes';

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

  tick(): Tick {
    const time = Date.now();
    const changes: Change[] = [];
    this.ranges.forEach((r, i) => {
      const next = this.current[i]!;
      this.source.read(r.offset, next);
      for (const change of findChanges(this.previous[i]!, next, r.offset)) changes.push(change);
    });
    [this.previous, this.current] = [this.current, this.previous];
    return { time, changes };
  }
}
