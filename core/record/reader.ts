import * as fs from 'node:fs';
import { InputError, describeSystemError } from '../errors';
import { preadFully } from '../file-io';
import { hex, type Range } from '../numbers';
import { FormatError } from '../snapshot/format';
import { FIXED_HEADER, declaredHeaderLength, decodeHeader, hasRecordingMagic, type RecordingHeader } from './header';
import { RecordIndex } from './record-index';
import { KIND, chunkBytes, type ParsedRecord, type StopReason } from './records';
import { copyRun, forEachRun, maxRecordLength, parseRecordAt } from './parse';
import { scanRecords, type ByteSource } from './scan';

/** Whether a path is a regular file that starts with the recording magic. */
export function looksLikeRecording(path: string): boolean {
  let fd: number | undefined;
  try {
    // O_NONBLOCK: a FIFO must not block the open (regular files ignore the flag).
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    if (!fs.fstatSync(fd).isFile()) return false;
    const head = Buffer.alloc(8);
    return preadFully(fd, head, 0) === 8 && hasRecordingMagic(head);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export interface RecordingSummary {
  /** Samples taken, the first state included. */
  samples: number;
  /** From the start to the last record (the end record's time when the recorder stopped in order). */
  durationMs: number;
  changeSamples: number;
  changedBytes: number;
  missedTicks: number;
  keyframes: number;
  events: number;
  fileBytes: number;
  /** Bytes of the first state (its chunk records and keyframe): the rest of the file is what changed. */
  firstStateBytes: number;
  /** Bytes of whole, checked records (and the header). */
  readableBytes: number;
  /** How the recorder stopped; undefined if it never wrote its end record (killed, or still recording). */
  end: { reason: StopReason; message: string } | undefined;
  /** What was ignored after the last whole record, and why. */
  tail: { offset: number; bytes: number; reason: string } | undefined;
}

/** The bytes of a recorded window at one moment. */
export interface RecordedState {
  /** The time of the last sample at or before the asked time that changed something (0: the first state). */
  timeMs: number;
  sample: number;
  /** Absolute segment offset of bytes[0]. */
  offset: number;
  bytes: Uint8Array;
  /** The runs that sample changed, clipped to the window (absolute offsets): what to highlight. */
  changed: Range[];
}

/** The most one pread of nearby records reads. */
const SCAN_CHUNK = 8 * 1024 * 1024;
/** Records closer than this are read with one pread (the bytes between are read and skipped). */
const READ_GAP = 64 * 1024;

/**
 * A .shmrec file opened for reading. Opening checks the header and scans every record (length,
 * CRC, every number, the order between records) into an index; the scan stops at the first record
 * it cannot trust, so a file torn by a crash reads up to its last whole record. `refresh()` picks up
 * records appended since (a recording still being written). Every record is checked again when it
 * is read for a seek or a history.
 */
export class RecordingFile {
  readonly index = new RecordIndex();
  private position: number;
  private tail: RecordingSummary['tail'];
  private readonly maxRecord: number;

  private constructor(
    readonly name: string,
    private readonly src: ByteSource,
    readonly header: RecordingHeader,
  ) {
    this.position = header.headerLength;
    this.maxRecord = maxRecordLength(header);
    this.refresh();
  }

  static open(path: string): RecordingFile {
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw new InputError(`${path}: cannot open: ${describeSystemError(err)}`);
    }
    try {
      if (!fs.fstatSync(fd).isFile()) throw new InputError(`${path}: not a regular file`);
      return RecordingFile.from(path, { size: () => fs.fstatSync(fd).size, read: (p, t) => preadFully(fd, t, p), close: () => fs.closeSync(fd) });
    } catch (err) {
      fs.closeSync(fd);
      if (err instanceof InputError) throw err;
      if ((err as NodeJS.ErrnoException).code) throw new InputError(`${path}: ${describeSystemError(err)}`);
      throw err;
    }
  }

  /** A recording held in memory (tests, the fuzzer). */
  static fromBytes(bytes: Uint8Array, name = 'the recording'): RecordingFile {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return RecordingFile.from(name, {
      size: () => b.length,
      read: (p, t) => (p >= b.length ? 0 : b.copy(t, 0, p, Math.min(b.length, p + t.length))),
      close: () => undefined,
    });
  }

  private static from(name: string, src: ByteSource): RecordingFile {
    const size = src.size();
    const fixed = Buffer.alloc(FIXED_HEADER);
    try {
      const got = src.read(0, fixed);
      const length = declaredHeaderLength(fixed.subarray(0, got), size);
      const whole = Buffer.alloc(length);
      if (src.read(0, whole) !== length) throw new FormatError('truncated while reading the header');
      return new RecordingFile(name, src, decodeHeader(whole, size));
    } catch (err) {
      if (err instanceof FormatError) throw new InputError(`${name}: ${err.message}`);
      throw err;
    }
  }

  /** Scans records appended since the last scan; returns whether any were added. */
  refresh(): boolean {
    const before = this.index.count;
    const scanned = scanRecords(this.src, this.header, this.index, this.position, this.maxRecord);
    this.position = scanned.position;
    this.tail = scanned.tail;
    return this.index.count > before;
  }

  summary(): RecordingSummary {
    const x = this.index;
    return {
      samples: x.lastSample + 1,
      durationMs: x.lastTimeUs / 1000,
      changeSamples: x.changes.length,
      changedBytes: x.changedBytes,
      missedTicks: x.missedTicks,
      keyframes: x.keyframes.length,
      events: x.events.length,
      fileBytes: this.src.size(),
      firstStateBytes: x.keyframes.length === 0 ? 0 : x.offsets[x.keyframes[0]!]! + x.lengths[x.keyframes[0]!]! - this.header.headerLength,
      readableBytes: this.position,
      end: x.end,
      tail: this.tail,
    };
  }

  /** Reads and checks record i again (the file may have changed since the scan). */
  readRecord(i: number): ParsedRecord {
    const buf = Buffer.allocUnsafe(this.index.lengths[i]!);
    return this.parseAt(i, buf, 0, this.src.read(this.index.offsets[i]!, buf));
  }

  /** Checks record i, read into buf at `at`; `got` bytes of buf were read. */
  private parseAt(i: number, buf: Buffer, at: number, got: number): ParsedRecord {
    const x = this.index;
    try {
      if (got < at + x.lengths[i]!) throw new FormatError('cut short since it was first read');
      const r = parseRecordAt(buf, at, x.lengths[i]!, this.header);
      if (r.timeUs !== x.times[i] || r.sample !== x.samples[i] || KIND[r.kind] !== x.kinds[i]) throw new FormatError('changed since it was first read');
      return r;
    } catch (err) {
      if (err instanceof FormatError) throw new InputError(`${this.name}: the record at offset ${x.offsets[i]} ${err.message}`);
      throw err;
    }
  }

  /** Reads records (numbers ascending), nearby ones with one pread, and calls visit with each, checked. */
  forEachRecord(records: readonly number[], visit: (record: number, r: ParsedRecord) => void): void {
    const x = this.index;
    for (let first = 0; first < records.length; ) {
      let last = first;
      const start = x.offsets[records[first]!]!;
      let end = start + x.lengths[records[first]!]!;
      while (last + 1 < records.length) {
        const n = records[last + 1]!;
        const nextEnd = x.offsets[n]! + x.lengths[n]!;
        if (x.offsets[n]! - end > READ_GAP || nextEnd - start > SCAN_CHUNK) break;
        end = nextEnd;
        last++;
      }
      const buf = Buffer.allocUnsafe(end - start);
      const got = this.src.read(start, buf);
      for (let k = first; k <= last; k++) {
        const i = records[k]!;
        visit(i, this.parseAt(i, buf, x.offsets[i]! - start, got));
      }
      first = last + 1;
    }
  }

  /** Checks that a window lies inside the recorded range; undefined means all of it. */
  window(w: Range | undefined): Range {
    const { rangeOffset, rangeLength } = this.header;
    if (!w) return { offset: rangeOffset, length: rangeLength };
    if (w.offset < rangeOffset || w.length < 0 || w.offset + w.length > rangeOffset + rangeLength) {
      throw new InputError(`${hex(w.offset)}+${w.length} is outside what ${this.name} recorded (${hex(rangeOffset)}..${hex(rangeOffset + rangeLength)})`);
    }
    return w;
  }

  /** The state of a window (default: the whole recorded range) as of the last sample at or before timeMs. */
  stateAt(timeMs: number, window?: Range): RecordedState {
    const x = this.index;
    const w = this.window(window);
    if (x.keyframes.length === 0) throw new InputError(`${this.name} holds no first state yet`);
    const limit = Math.round(Math.max(0, timeMs) * 1000);
    const d = RecordIndex.lastAtOrBefore(x.changes, (i) => x.times[i]!, limit);
    const step = d < 0 ? undefined : x.changes[d]!;
    const sample = step === undefined ? 0 : x.samples[step]!;
    // The last keyframe at or before the time: it holds every sample up to its own.
    const k = x.keyframes[Math.max(0, RecordIndex.lastAtOrBefore(x.keyframes, (i) => x.times[i]!, limit))]!;
    const bytes = this.keyframeWindow(k, w);
    const replay = step === undefined ? [] : x.changes.slice(RecordIndex.lastAtOrBefore(x.changes, (i) => i, k) + 1, d + 1);
    const changed: Range[] = [];
    const start = w.offset - this.header.rangeOffset;
    // The step's own delta tells what to highlight, also when a keyframe after it made replaying it unnecessary.
    const read = step !== undefined && step < k ? [step] : replay;
    this.forEachRecord(read, (i, r) => {
      if (r.kind !== 'delta') return;
      forEachRun(r.body, (at, length, data) => {
        const from = Math.max(at, start);
        const to = Math.min(at + length, start + w.length);
        if (from >= to) return;
        if (read === replay) copyRun(r.body, data + from - at, to - from, bytes, from - start);
        if (i === step) changed.push({ offset: this.header.rangeOffset + from, length: to - from });
      });
    });
    return { timeMs: step === undefined ? x.times[k]! / 1000 : x.times[step]! / 1000, sample, offset: w.offset, bytes, changed };
  }

  /** The window as the first state (sample 0) has it. */
  initialState(window?: Range): Uint8Array {
    const first = this.index.keyframes[0];
    if (first === undefined) throw new InputError(`${this.name} holds no first state yet`);
    return this.keyframeWindow(first, this.window(window));
  }

  /** A window's bytes as keyframe record k has them. */
  private keyframeWindow(k: number, w: Range): Uint8Array {
    const table = this.readRecord(k);
    if (table.kind !== 'keyframe') throw new Error('not a keyframe');
    const bytes = new Uint8Array(w.length);
    if (w.length === 0) return bytes;
    const { chunkSize, rangeOffset } = this.header;
    const start = w.offset - rangeOffset;
    const chunks: number[] = [];
    for (let c = Math.floor(start / chunkSize); c <= Math.floor((start + w.length - 1) / chunkSize); c++) {
      const at = table.offsets[c]!;
      if (at !== 0) chunks.push(this.chunkRecord(at));
    }
    this.forEachRecord(chunks, (_, r) => {
      if (r.kind !== 'chunk') throw new InputError(`${this.name}: a keyframe points at a record that is not a chunk`);
      const base = r.index * chunkSize;
      const from = Math.max(base, start);
      const to = Math.min(base + chunkBytes(this.header, r.index), start + w.length);
      if (from < to) bytes.set(r.data.subarray(from - base, to - base), from - start);
    });
    return bytes;
  }

  /** The record number at a file offset a keyframe points at (checked by the scan to be a chunk). */
  private chunkRecord(offset: number): number {
    const x = this.index;
    let lo = 0;
    let hi = x.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const o = x.offsets[mid]!;
      if (o === offset) return mid;
      if (o < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    throw new Error(`no record at ${offset}`);
  }

  close(): void {
    this.src.close();
  }
}
