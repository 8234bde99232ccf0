import { FormatError } from '../snapshot/format';
import { KIND, type ParsedRecord, type RecordKind, type StopReason } from './records';

/**
 * Where every record of a recording is, and what it is, in typed arrays (a one-hour recording at
 * 100 Hz has some 360,000 records: about 11 MiB here, no objects). Built by the reader's scan;
 * `accept` checks what a single record cannot check alone (times that never go back, sample
 * numbers in order, keyframes that point at chunk records that exist) before it adds anything.
 */
export class RecordIndex {
  count = 0;
  offsets = new Float64Array(1024);
  lengths = new Uint32Array(1024);
  kinds = new Uint8Array(1024);
  /** µs since the start. */
  times = new Float64Array(1024);
  samples = new Uint32Array(1024);
  /** Per kind: a chunk's index, a delta's changed bytes, an event's type. */
  aux = new Uint32Array(1024);
  /** Record numbers of keyframes, deltas that changed something, and events, in file order. */
  readonly keyframes: number[] = [];
  readonly changes: number[] = [];
  readonly events: number[] = [];
  /** File offset → record number, for chunk records (keyframes point at them). */
  private readonly chunkAt = new Map<number, number>();

  lastTimeUs = 0;
  lastSample = 0;
  missedTicks = 0;
  changedBytes = 0;
  end: { reason: StopReason; message: string } | undefined;

  /** Checks a parsed record against the ones before it, then adds it. Throws FormatError. */
  accept(r: ParsedRecord, offset: number, length: number): void {
    if (this.end) throw new FormatError('data after the end record');
    if (r.timeUs < this.lastTimeUs) throw new FormatError(`record time ${r.timeUs} µs goes back (the previous was ${this.lastTimeUs} µs)`);
    if (this.keyframes.length === 0 && r.kind !== 'chunk' && r.kind !== 'keyframe') throw new FormatError(`${named(r.kind)} record comes before the first state`);
    let aux = 0;
    switch (r.kind) {
      case 'chunk':
        this.notEarlier(r);
        aux = r.index;
        break;
      case 'keyframe':
        this.notEarlier(r);
        r.offsets.forEach((o, i) => {
          const at = o === 0 ? undefined : this.chunkAt.get(o);
          if (o !== 0 && (at === undefined || this.aux[at] !== i)) throw new FormatError(`a keyframe points chunk ${i} at ${o}, where no record of that chunk is`);
        });
        break;
      case 'delta':
        if (r.sample <= this.lastSample) throw new FormatError(`sample ${r.sample} does not follow sample ${this.lastSample}`);
        aux = r.changedBytes;
        break;
      case 'event':
        this.notEarlier(r);
        aux = r.event.type === 'peer-joined' ? 1 : r.event.type === 'peer-left' ? 2 : 3;
        break;
      case 'end':
        this.notEarlier(r);
        break;
    }
    const i = this.push(KIND[r.kind] as RecordKind, offset, length, r.timeUs, r.sample, aux);
    this.lastTimeUs = r.timeUs;
    this.lastSample = r.sample;
    if (r.kind === 'chunk') this.chunkAt.set(offset, i);
    else if (r.kind === 'keyframe') this.keyframes.push(i);
    else if (r.kind === 'event') this.events.push(i);
    else if (r.kind === 'delta') {
      this.missedTicks += r.missed;
      this.changedBytes += r.changedBytes;
      if (r.runs > 0) this.changes.push(i);
    } else if (r.kind === 'end') {
      this.missedTicks += r.missed;
      this.end = { reason: r.reason, message: r.message };
    }
  }

  /** Samples that changed nothing write no record: other records may name a later sample, never an earlier one. */
  private notEarlier(r: ParsedRecord): void {
    if (r.sample < this.lastSample) throw new FormatError(`${named(r.kind)} record of sample ${r.sample} comes after sample ${this.lastSample}`);
  }

  private push(kind: RecordKind, offset: number, length: number, timeUs: number, sample: number, aux: number): number {
    if (this.count === this.offsets.length) this.grow();
    const i = this.count++;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.kinds[i] = kind;
    this.times[i] = timeUs;
    this.samples[i] = sample;
    this.aux[i] = aux;
    return i;
  }

  private grow(): void {
    const n = this.offsets.length * 2;
    const grown = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.offsets = grown(this.offsets, (k) => new Float64Array(k));
    this.lengths = grown(this.lengths, (k) => new Uint32Array(k));
    this.kinds = grown(this.kinds, (k) => new Uint8Array(k));
    this.times = grown(this.times, (k) => new Float64Array(k));
    this.samples = grown(this.samples, (k) => new Uint32Array(k));
    this.aux = grown(this.aux, (k) => new Uint32Array(k));
  }

  /** The last element of `list` (record numbers, ascending) whose value by `key` is <= limit, or -1. */
  static lastAtOrBefore(list: readonly number[], key: (record: number) => number, limit: number): number {
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (key(list[mid]!) <= limit) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }
}

function named(kind: string): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
}
