import type { Range } from '../numbers';
import type { RecordingFile } from './reader';
import type { RecordedEvent } from './records';
import { copyRun, forEachRun } from './parse';

/** One sample that changed something (in the whole range, or in a scope). */
export interface ChangeStep {
  timeMs: number;
  sample: number;
  /** The delta record's number in the recording's index. */
  record: number;
}

export interface ValueChange extends ChangeStep {
  before: Uint8Array;
  after: Uint8Array;
}

export interface TimedEvent {
  timeMs: number;
  sample: number;
  event: RecordedEvent;
}

const SCOPES_KEPT = 16;

/**
 * What a timeline needs from a recording, on top of RecordingFile's seek (`stateAt`): the changes
 * of the whole range or of a scope (a field, a selection) to step through, change density per time
 * bucket for the scrubber, change counts per region for a heatmap, a scope's history with old and
 * new bytes, and the ivshmem events. A scope's changes are found once by reading every delta
 * (kept for the last 16 scopes, and extended when the file grows); stepping is then a binary search.
 */
export class Timeline {
  /** Per scope: the delta records (numbers, in file order) that changed it, found up to changes[upTo]. */
  private readonly scoped = new Map<string, { upTo: number; records: number[] }>();

  constructor(readonly file: RecordingFile) {}

  private step(i: number): ChangeStep {
    const x = this.file.index;
    return { timeMs: x.times[i]! / 1000, sample: x.samples[i]!, record: i };
  }

  /** The delta records that changed the scope (default: anything), in time order; kept, not copied. */
  private records(scope?: Range): readonly number[] {
    const x = this.file.index;
    if (!scope) return x.changes;
    const key = `${scope.offset}+${scope.length}`;
    const entry = this.scoped.get(key) ?? { upTo: 0, records: [] };
    this.scoped.delete(key);
    if (entry.upTo < x.changes.length) {
      const w = this.file.window(scope);
      const from = w.offset - this.file.header.rangeOffset;
      const to = from + w.length;
      this.file.forEachRecord(x.changes.slice(entry.upTo), (i, r) => {
        if (r.kind !== 'delta') return;
        let touched = false;
        forEachRun(r.body, (at, length) => {
          if (at < to && at + length > from) touched = true;
        });
        if (touched) entry.records.push(i);
      });
      entry.upTo = x.changes.length;
    }
    this.scoped.set(key, entry);
    if (this.scoped.size > SCOPES_KEPT) this.scoped.delete(this.scoped.keys().next().value!);
    return entry.records;
  }

  /** The samples that changed the scope (default: anything), in time order. */
  changes(scope?: Range): ChangeStep[] {
    return this.records(scope).map((i) => this.step(i));
  }

  /** How many of the records (in time order) are at or before timeMs. */
  private countAtOrBefore(records: readonly number[], timeMs: number): number {
    const times = this.file.index.times;
    const limit = timeMs * 1000;
    let lo = 0;
    let hi = records.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[records[mid]!]! <= limit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first change strictly after timeMs, or undefined. */
  next(timeMs: number, scope?: Range): ChangeStep | undefined {
    const records = this.records(scope);
    const i = this.countAtOrBefore(records, timeMs);
    return i < records.length ? this.step(records[i]!) : undefined;
  }

  /** The last change strictly before timeMs, or undefined. */
  previous(timeMs: number, scope?: Range): ChangeStep | undefined {
    const records = this.records(scope);
    const times = this.file.index.times;
    let i = this.countAtOrBefore(records, timeMs) - 1;
    while (i >= 0 && times[records[i]!]! >= timeMs * 1000) i--;
    return i < 0 ? undefined : this.step(records[i]!);
  }

  /** Changes per time bucket: `buckets` equal slices of [fromMs, toMs). */
  density(fromMs: number, toMs: number, buckets: number, scope?: Range): Uint32Array {
    const out = new Uint32Array(Math.max(0, buckets));
    const span = toMs - fromMs;
    if (buckets <= 0 || !(span > 0)) return out;
    const records = this.records(scope);
    const times = this.file.index.times;
    for (let k = this.countAtOrBefore(records, fromMs - 0.001); k < records.length; k++) {
      const t = times[records[k]!]! / 1000;
      if (t >= toMs) break;
      if (t >= fromMs) out[Math.min(buckets - 1, Math.floor(((t - fromMs) / span) * buckets))]!++;
    }
    return out;
  }

  /**
   * For each region (absolute offsets, ascending, not overlapping; e.g. a layout's regions, or equal
   * slices of the segment beside a scrollbar): in how many samples of [fromMs, toMs] it changed.
   */
  heat(regions: readonly Range[], fromMs = 0, toMs = Infinity): Uint32Array {
    for (let r = 1; r < regions.length; r++) {
      if (regions[r]!.offset < regions[r - 1]!.offset + regions[r - 1]!.length) throw new Error('heat() needs regions in order, not overlapping');
    }
    const counts = new Uint32Array(regions.length);
    const lastSeen = new Int32Array(regions.length).fill(-1);
    const x = this.file.index;
    const base = this.file.header.rangeOffset;
    const records = x.changes.filter((i) => x.times[i]! >= fromMs * 1000 && x.times[i]! <= toMs * 1000);
    this.file.forEachRecord(records, (i, rec) => {
      if (rec.kind !== 'delta') return;
      forEachRun(rec.body, (at, length) => {
        const start = base + at;
        const end = start + length;
        // The first region that ends after the run starts.
        let lo = 0;
        let hi = regions.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (regions[mid]!.offset + regions[mid]!.length <= start) lo = mid + 1;
          else hi = mid;
        }
        for (let r = lo; r < regions.length && regions[r]!.offset < end; r++) {
          if (regions[r]!.length === 0 || lastSeen[r] === i) continue;
          lastSeen[r] = i;
          counts[r]!++;
        }
      });
    });
    return counts;
  }

  /** Each change of the scope, with its bytes before and after, in time order. */
  *history(scope: Range): Generator<ValueChange> {
    const w = this.file.window(scope);
    if (this.file.index.keyframes.length === 0) return;
    let current = this.file.initialState(w);
    const steps = this.records(w).map((i) => this.step(i));
    const from = w.offset - this.file.header.rangeOffset;
    // Records are read in batches, and each change keeps two copies of the scope: at most 16 MiB of them at once.
    const per = Math.max(1, Math.min(256, Math.floor((16 << 20) / Math.max(1, w.length))));
    for (let k = 0; k < steps.length; k += per) {
      const batch = steps.slice(k, k + per);
      const found: ValueChange[] = [];
      this.file.forEachRecord(
        batch.map((s) => s.record),
        (i, rec) => {
          if (rec.kind !== 'delta') return;
          const before = current;
          const after = before.slice();
          forEachRun(rec.body, (at, length, data) => {
            const lo = Math.max(at, from);
            const hi = Math.min(at + length, from + w.length);
            if (lo < hi) copyRun(rec.body, data + lo - at, hi - lo, after, lo - from);
          });
          current = after;
          found.push({ ...this.step(i), before, after });
        },
      );
      yield* found;
    }
  }

  /** The ivshmem events in [fromMs, toMs], in time order. */
  events(fromMs = 0, toMs = Infinity): TimedEvent[] {
    const x = this.file.index;
    const out: TimedEvent[] = [];
    const records = x.events.filter((i) => x.times[i]! >= fromMs * 1000 && x.times[i]! <= toMs * 1000);
    this.file.forEachRecord(records, (i, r) => {
      if (r.kind === 'event') out.push({ timeMs: x.times[i]! / 1000, sample: x.samples[i]!, event: r.event });
    });
    return out;
  }
}

