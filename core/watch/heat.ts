import type { Range } from '../numbers';

/** Slices of the segment a heat strip shows: about one per pixel row beside a hex view's scrollbar. */
export const HEAT_BUCKETS = 256;

/** How often each equal slice of a segment changed: `counts[i]` covers [i * sliceSize, (i + 1) * sliceSize). */
export interface Heat {
  sliceSize: number;
  counts: Uint32Array;
}

/** The slice size that cuts `size` bytes into at most `buckets` equal slices. */
export function sliceSizeFor(size: number, buckets = HEAT_BUCKETS): number {
  return Math.max(1, Math.ceil(size / buckets));
}

/** The slices as ranges (the last one may be shorter), e.g. for Timeline.heat. */
export function slices(size: number, buckets = HEAT_BUCKETS): Range[] {
  const s = sliceSizeFor(size, buckets);
  const out: Range[] = [];
  for (let offset = 0; offset < size; offset += s) out.push({ offset, length: Math.min(s, size - offset) });
  return out;
}

/**
 * A live session's heat: per slice of the segment, in how many change ticks something in it
 * changed (a tick that changes a slice twice counts once, as a recording's heat counts samples).
 * It sees what the session watches: the views' rows and the layout's regions.
 */
export class HeatCounter {
  readonly sliceSize: number;
  readonly counts: Uint32Array;
  /** The tick each slice was last counted in. */
  private readonly seen: Uint32Array;
  private ticks = 0;

  constructor(readonly size: number, buckets = HEAT_BUCKETS) {
    this.sliceSize = sliceSizeFor(size, buckets);
    this.counts = new Uint32Array(Math.ceil(size / this.sliceSize));
    this.seen = new Uint32Array(this.counts.length);
  }

  /** One tick's changed runs. */
  tick(runs: readonly Range[]): void {
    const t = ++this.ticks;
    for (const r of runs) {
      if (r.length <= 0 || r.offset >= this.size) continue;
      const last = Math.floor((Math.min(this.size, r.offset + r.length) - 1) / this.sliceSize);
      for (let b = Math.floor(r.offset / this.sliceSize); b <= last; b++) {
        if (this.seen[b] === t) continue;
        this.seen[b] = t;
        this.counts[b]!++;
      }
    }
  }

  get heat(): Heat {
    return { sliceSize: this.sliceSize, counts: this.counts.slice() };
  }
}
