import * as fs from 'node:fs';
import { InputError } from '../errors';
import type { Range } from '../numbers';
import { RecordingFile } from '../record/reader';
import { ReplayCursor, type CursorStep } from '../record/replay-cursor';
import { Timeline } from '../record/timeline';
import { SourceBase, type FileIdentity, type SourceInfo } from '../source';
import { MemorySource } from './memory-source';

/**
 * A .shmrec recording as a read-only source whose bytes are the segment as of one moment, moved by
 * `seek`: every view of a session (the hex view, the Regions view, a snapshot) shows a recording
 * at the timeline's time the way it shows a live segment. Offsets are the segment's: the source
 * ends where the recorded range ends, and bytes before the range (a recording of part of a
 * segment) read as zeros. Opening scans the whole file (about a second for an hour at 100 Hz):
 * it runs in the agent, never in the extension host.
 */
export class RecordingSource extends SourceBase {
  readonly info: SourceInfo;
  readonly timeline: Timeline;
  private readonly cursor: ReplayCursor;

  private constructor(readonly file: RecordingFile, identity: FileIdentity | undefined) {
    super();
    const h = file.header;
    if (file.index.keyframes.length === 0) throw new InputError(`${file.name} holds no first state (its recorder stopped before writing one)`);
    this.info = { kind: 'recording', description: file.name, size: h.rangeOffset + h.rangeLength, writable: false, ...(identity ? { identity } : {}), ...(h.peerId === undefined ? {} : { peerId: h.peerId }) };
    this.timeline = new Timeline(file);
    this.cursor = new ReplayCursor(file);
  }

  static open(path: string): RecordingSource {
    const file = RecordingFile.open(path);
    try {
      let identity: FileIdentity | undefined;
      try {
        const st = fs.statSync(path);
        identity = { dev: st.dev, ino: st.ino };
      } catch {
        identity = undefined;
      }
      return new RecordingSource(file, identity);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  /** Where the cursor stands. */
  get step(): CursorStep {
    return this.cursor.step;
  }

  /** Moves every view of this source to the last sample at or before timeMs. */
  seek(timeMs: number): CursorStep {
    return this.cursor.seek(timeMs);
  }

  read(offset: number, target: Uint8Array): void {
    copyState(this.cursor.bytes, this.file.header.rangeOffset, offset, target);
  }

  override view(offset: number, length: number): Uint8Array | undefined {
    const start = offset - this.file.header.rangeOffset;
    return start >= 0 ? this.cursor.bytes.subarray(start, start + length) : undefined;
  }

  /** The segment at another moment, without moving the cursor: for a snapshot of that moment. */
  at(timeMs: number): { source: MemorySource; step: Omit<CursorStep, 'changed'> } {
    const s = this.file.stateAt(timeMs);
    const bytes = new Uint8Array(this.info.size);
    copyState(s.bytes, this.file.header.rangeOffset, 0, bytes);
    return { source: new MemorySource(bytes, `${this.file.name} at t=${s.timeMs.toFixed(3)} ms`, false, this.info.identity), step: { timeMs: s.timeMs, sample: s.sample } };
  }

  /** A scope (absolute offsets) checked against what was recorded. */
  scope(range: Range | undefined): Range | undefined {
    return range === undefined ? undefined : this.file.window(range);
  }

  write(): void {
    throw new InputError(`${this.file.name} is a recording: recordings are read-only`);
  }

  protected probe(): undefined {
    // Every record is checked again when a seek reads it; a file changed under us fails that seek.
    return undefined;
  }

  protected release(): void {
    this.file.close();
  }
}

/** Copies the segment bytes [offset, offset + target.length) from a state of the range that starts at rangeOffset. */
function copyState(state: Uint8Array, rangeOffset: number, offset: number, target: Uint8Array): void {
  const start = offset - rangeOffset;
  if (start >= 0) {
    target.set(state.subarray(start, start + target.length));
    return;
  }
  // Before the recorded range: zeros, then the range's first bytes.
  target.fill(0, 0, Math.min(target.length, -start));
  if (target.length > -start) target.set(state.subarray(0, target.length + start), -start);
}
