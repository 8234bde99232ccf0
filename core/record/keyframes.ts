import { chunkCount, type RecordingHeader } from './header';
import { RECORD_HEADER, chunkBytes } from './records';

/**
 * When to write a keyframe. A seek reads the last keyframe before its time and replays the records
 * written since; a keyframe costs the chunks that changed since the previous keyframe (chunks that
 * did not change are pointed at, not written again) plus a table of one offset per chunk.
 *
 * The rule: a keyframe once the records since the last one are as large as that keyframe would be
 * (at least 64 KiB apart, so that a busy small segment does not write one every tick). Then the
 * keyframes take at most as many bytes as the changes themselves, whatever the segment's size (the
 * file grows with the changes), and a seek replays at most about one keyframe's worth of records.
 * Two caps bound a seek where that rule alone would not (a large segment, changes scattered over
 * all of it): 16 MiB of records, or 5,000 records since the last keyframe (each costs a CRC call
 * and a parse: 3-4 µs of CPU on this 2-core VM under load, so a seek replays at most some 15-20 ms
 * of them). The caps can make keyframes cost more than the changes: small changes scattered over
 * a large segment dirty most chunks, and every 5,000 records they are written again. No rule by
 * time: an idle recording writes no keyframes.
 */
export const MIN_KEYFRAME_DISTANCE = 64 * 1024;
export const MAX_REPLAY_BYTES = 16 * 1024 * 1024;
export const MAX_REPLAY_RECORDS = 5_000;

export class KeyframePolicy {
  private readonly dirty: Uint8Array;
  private readonly dirtyList: number[] = [];
  private dirtyBytes = 0;
  private replayBytes = 0;
  private replayRecords = 0;
  private readonly tableBytes: number;

  constructor(private readonly h: Pick<RecordingHeader, 'rangeLength' | 'chunkSize'>) {
    this.dirty = new Uint8Array(chunkCount(h));
    this.tableBytes = RECORD_HEADER + 8 + 8 * chunkCount(h);
  }

  /** The run [start, end) of the range changed: its chunks go into the next keyframe. */
  touch(start: number, end: number): void {
    const last = Math.floor((end - 1) / this.h.chunkSize);
    for (let c = Math.floor(start / this.h.chunkSize); c <= last; c++) {
      if (this.dirty[c]) continue;
      this.dirty[c] = 1;
      this.dirtyList.push(c);
      this.dirtyBytes += RECORD_HEADER + 8 + chunkBytes(this.h, c);
    }
  }

  /** A record was appended after the last keyframe: a seek past it replays it. */
  written(bytes: number): void {
    this.replayBytes += bytes;
    this.replayRecords++;
  }

  due(): boolean {
    if (this.replayRecords === 0) return false;
    if (this.replayBytes >= MAX_REPLAY_BYTES || this.replayRecords >= MAX_REPLAY_RECORDS) return true;
    return this.replayBytes >= Math.max(MIN_KEYFRAME_DISTANCE, this.tableBytes + this.dirtyBytes);
  }

  /** The chunks changed since the last keyframe, ascending; forgets them (a keyframe is being written). */
  take(): number[] {
    const list = this.dirtyList.sort((a, b) => a - b).slice();
    for (const c of list) this.dirty[c] = 0;
    this.dirtyList.length = 0;
    this.dirtyBytes = 0;
    this.replayBytes = 0;
    this.replayRecords = 0;
    return list;
  }
}
