import type { Range } from '../numbers';
import { RecordIndex } from './record-index';
import { copyRun, forEachRun } from './parse';
import type { RecordingFile } from './reader';

/** Where a cursor stands: the state's time, its sample, and the runs of that step (absolute offsets). */
export interface CursorStep {
  /** The time of the last change at or before the asked time (0: the first state). */
  timeMs: number;
  sample: number;
  /** What that step changed: the bytes a view highlights. */
  changed: Range[];
}

/**
 * The whole recorded range as of one moment, moved by seeks. A seek forward with no keyframe in
 * between applies the deltas between (playing and stepping cost one record each); any other seek
 * starts from the last keyframe at or before the target (RecordingFile.stateAt), whose distance
 * the keyframe policy bounds. Bytes are held in this process (at most the recorded range, 64 MiB).
 */
export class ReplayCursor {
  private state: Uint8Array;
  /** Index into index.changes of the last delta applied; -1: the first state. */
  private at = -1;
  private current: CursorStep = { timeMs: 0, sample: 0, changed: [] };

  constructor(readonly file: RecordingFile) {
    this.state = file.initialState();
  }

  /** The recorded range's bytes now (index 0 is the range's first byte); replaced by seeks that jump. */
  get bytes(): Uint8Array {
    return this.state;
  }

  get step(): CursorStep {
    return this.current;
  }

  /** Moves to the last sample at or before timeMs. */
  seek(timeMs: number): CursorStep {
    const x = this.file.index;
    const limit = Math.round(Math.max(0, timeMs) * 1000);
    const d = RecordIndex.lastAtOrBefore(x.changes, (i) => x.times[i]!, limit);
    if (d === this.at) return this.current;
    if (d > this.at && !this.keyframeBetween(this.at, d)) this.forward(d);
    else {
      const s = this.file.stateAt(timeMs);
      this.state = s.bytes;
      this.at = d;
      this.current = { timeMs: s.timeMs, sample: s.sample, changed: s.changed };
    }
    return this.current;
  }

  /** Whether a keyframe lies after change `from` and at or before change `to`: then it is the shorter way. */
  private keyframeBetween(from: number, to: number): boolean {
    const x = this.file.index;
    const start = from < 0 ? x.keyframes[0]! : x.changes[from]!;
    const k = RecordIndex.lastAtOrBefore(x.keyframes, (i) => i, x.changes[to]!);
    return k >= 0 && x.keyframes[k]! > start;
  }

  private forward(to: number): void {
    const x = this.file.index;
    const last = x.changes[to]!;
    const base = this.file.header.rangeOffset;
    const changed: Range[] = [];
    this.file.forEachRecord(x.changes.slice(this.at + 1, to + 1), (i, r) => {
      if (r.kind !== 'delta') return;
      forEachRun(r.body, (at, length, data) => {
        copyRun(r.body, data, length, this.state, at);
        if (i === last) changed.push({ offset: base + at, length });
      });
    });
    this.at = to;
    this.current = { timeMs: x.times[last]! / 1000, sample: x.samples[last]!, changed };
  }
}
