import * as fs from 'node:fs';
import { InputError, SourceLostError } from '../errors';
import { formatBytes, type Range } from '../numbers';
import type { Source } from '../source';
import { RangeWatcher } from '../watch/range-watcher';
import { MAX_INTERVAL_MS, MAX_RANGE_LENGTH, chunkCount, encodeHeader } from './header';
import { KeyframePolicy } from './keyframes';
import { MAX_MESSAGE_LENGTH, RECORD_HEADER, encodeChunk, encodeDelta, encodeEnd, encodeEvent, encodeKeyframe, type RecordedEvent, type StopReason } from './records';
import { RecordingWriter } from './writer';

export interface RecordOptions {
  target: string;
  force?: boolean;
  range: Range;
  intervalMs: number;
  /** Stop after the first sample at or past this long. */
  durationMs?: number;
  /** Stop before the file would grow past this many bytes. */
  maxBytes?: number;
  layout?: string;
  /** A monotonic clock in µs; performance.now() by default (tests drive their own). */
  clock?: () => number;
  /** Fault injection for tests only: see RecordingWriter.create. */
  pauseMidRecordMs?: number;
  /** Called about once a second while recording. */
  onStats?: (stats: RecordStats) => void;
}

export interface RecordStats {
  /** Samples taken, the first state included. */
  samples: number;
  /** Samples that saw a change. */
  changeSamples: number;
  changedBytes: number;
  /** Ticks that passed without a sample: the recorder was late by a whole interval or more. */
  missedTicks: number;
  keyframes: number;
  events: number;
  fileBytes: number;
  elapsedMs: number;
  /** The longest a sample took (reading, comparing, writing): against the interval, it tells a busy machine from a range too large to sample that often. */
  slowestSampleMs: number;
}

export interface RecordResult extends RecordStats {
  path: string;
  reason: StopReason;
  message: string;
}

/** The chunk size of new recordings: small enough that one changed field rewrites little in a keyframe. */
export const CHUNK_SIZE = 64 * 1024;
/** A sample that changes nothing writes no record, but one is written after this long of quiet. */
const HEARTBEAT_US = 1_000_000;
/** Room kept for the end record, so that a recording stopped by --max-size still ends properly. */
const END_RESERVE = RECORD_HEADER + 16 + MAX_MESSAGE_LENGTH;

/**
 * Samples a range of a source into a .shmrec file: the first state in full (as a keyframe), then
 * per sample the runs that changed, with the sample's time. `sample()` takes one sample now; `run()`
 * takes one per interval, each scheduled after the previous one finished, counting the ticks it
 * could not keep. `stop()` ends the file with an end record, synchronously (safe in exit paths).
 */
export class Recorder {
  private readonly policy: KeyframePolicy;
  private readonly table: number[];
  private sampleNo = 0;
  private sampleUs = 0;
  private pendingMissed = 0;
  private lastRecordUs = 0;
  /** Time of the latest record written. */
  private writtenUs = 0;
  private lastStatsUs = 0;
  private timer: NodeJS.Timeout | undefined;
  private result: RecordResult | undefined;
  private readonly stats: RecordStats = { samples: 1, changeSamples: 0, changedBytes: 0, missedTicks: 0, keyframes: 0, events: 0, fileBytes: 0, elapsedMs: 0, slowestSampleMs: 0 };
  private readonly offGone: () => void;
  private settle!: { resolve: (r: RecordResult) => void; reject: (e: Error) => void };
  /** Settles once the recording has ended and its file is closed; rejects only if the file could not be written. */
  readonly finished: Promise<RecordResult>;

  private constructor(
    source: Source,
    private readonly watcher: RangeWatcher,
    private readonly writer: RecordingWriter,
    private readonly options: RecordOptions,
    private readonly clock: () => number,
    private readonly startUs: number,
    chunks: number,
  ) {
    this.policy = new KeyframePolicy({ rangeLength: options.range.length, chunkSize: CHUNK_SIZE });
    this.table = new Array<number>(chunks).fill(0);
    this.finished = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.finished.catch(() => undefined);
    this.offGone = source.onGone((reason) => this.stop('source-lost', reason));
  }

  /** Reads the first state, creates the file (never replacing one without force) and writes it. */
  static start(source: Source, options: RecordOptions): Recorder {
    const { range, intervalMs } = options;
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 1 || intervalMs > MAX_INTERVAL_MS) throw new InputError(`the interval must be 1 to ${MAX_INTERVAL_MS} ms`);
    if (range.length < 1 || range.offset + range.length > source.info.size) throw new InputError('the recorded range must lie inside the segment');
    if (range.length > MAX_RANGE_LENGTH) throw new InputError(`a recording covers at most ${formatBytes(MAX_RANGE_LENGTH)} (this range is ${formatBytes(range.length)}): narrow it with --offset and --length`);
    const clock = options.clock ?? (() => performance.now() * 1000);
    const watcher = new RangeWatcher(source, [range]);
    const startUs = clock();
    const header = encodeHeader({
      segmentSize: source.info.size,
      rangeOffset: range.offset,
      rangeLength: range.length,
      intervalMs,
      startTime: Date.now(),
      peerId: source.info.peerId,
      chunkSize: CHUNK_SIZE,
      source: source.info.description.slice(0, 1024),
      layout: options.layout,
    });
    const chunks = chunkCount({ rangeLength: range.length, chunkSize: CHUNK_SIZE });
    const first = Array.from({ length: chunks }, (_, i) => i);
    if (options.maxBytes !== undefined) {
      const needed = header.length + keyframeBytes(watcher.last[0]!, first) + END_RESERVE;
      if (needed > options.maxBytes) throw new InputError(`--max-size ${formatBytes(options.maxBytes)} cannot hold even the first state (${formatBytes(needed)})`);
    }
    const writer = RecordingWriter.create(options.target, options.force ?? false, header, options.pauseMidRecordMs);
    const recorder = new Recorder(source, watcher, writer, options, clock, startUs, chunks);
    try {
      recorder.writeKeyframe(first);
    } catch (err) {
      // Without its first state the file is no recording: remove it.
      recorder.halt();
      writer.close();
      fs.rmSync(options.target, { force: true });
      throw err;
    }
    return recorder;
  }

  get ended(): boolean {
    return this.result !== undefined;
  }

  /** How the recording ended, once it has. */
  get outcome(): RecordResult | undefined {
    return this.result;
  }

  /** µs since the start; never earlier than a record already written (times never go back). */
  private now(): number {
    return Math.max(this.writtenUs, Math.round(this.clock() - this.startUs));
  }

  /** Whether `bytes` more fit under --max-size, keeping room for the end record. */
  private fits(bytes: number): boolean {
    const max = this.options.maxBytes;
    return max === undefined || this.writer.size + bytes + END_RESERVE <= max;
  }

  private stopAtMaxSize(): void {
    this.stop('max-size', formatBytes(this.options.maxBytes ?? 0));
  }

  private append(record: Buffer, timeUs: number): void {
    this.writer.append(record);
    this.writtenUs = Math.max(this.writtenUs, timeUs);
  }

  /** Takes one sample now; `missed` ticks passed before it without one. */
  sample(missed = 0): void {
    if (this.result) return;
    const began = this.clock();
    try {
      const timeUs = this.now();
      this.pendingMissed += missed;
      this.stats.missedTicks += missed;
      const runs: number[] = [];
      this.watcher.sample((_, start, end) => runs.push(start, end));
      if (runs.length > 0 || timeUs - this.lastRecordUs >= HEARTBEAT_US) {
        const record = encodeDelta(this.sampleNo + 1, timeUs, this.pendingMissed, runs, this.watcher.last[0]!);
        // A sample that does not fit is not part of the recording: it ends with the one before.
        if (!this.fits(record.length)) return this.stopAtMaxSize();
        this.append(record, timeUs);
        this.lastRecordUs = timeUs;
        this.pendingMissed = 0;
        this.policy.written(record.length);
        for (let i = 0; i < runs.length; i += 2) {
          this.policy.touch(runs[i]!, runs[i + 1]!);
          this.stats.changedBytes += runs[i + 1]! - runs[i]!;
        }
        if (runs.length > 0) this.stats.changeSamples++;
      }
      this.sampleNo++;
      this.sampleUs = timeUs;
      this.stats.samples++;
      if (this.policy.due()) this.writeKeyframe(this.policy.take());
      const { durationMs } = this.options;
      if (durationMs !== undefined && this.sampleUs >= durationMs * 1000) this.stop('duration', `${durationMs / 1000} s`);
      if (this.sampleUs - this.lastStatsUs >= 1_000_000) {
        this.lastStatsUs = this.sampleUs;
        this.options.onStats?.(this.snapshotStats());
      }
    } catch (err) {
      if (err instanceof SourceLostError) this.stop('source-lost', err.message);
      else this.fail(err as Error);
    } finally {
      this.stats.slowestSampleMs = Math.max(this.stats.slowestSampleMs, (this.clock() - began) / 1000);
    }
  }

  /** Appends an ivshmem event (a peer joined or left, interrupts on one of our vectors) at its time. */
  event(e: RecordedEvent): void {
    if (this.result) return;
    try {
      const timeUs = this.now();
      const record = encodeEvent(this.sampleNo, timeUs, e);
      if (!this.fits(record.length)) return this.stopAtMaxSize();
      this.append(record, timeUs);
      this.policy.written(record.length);
      this.stats.events++;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Chunk records for the chunks that changed, then the table of where every chunk now is. */
  private writeKeyframe(chunks: number[]): void {
    const state = this.watcher.last[0]!;
    const records: Buffer[] = [];
    let at = this.writer.size;
    const table = this.table.slice();
    for (const c of chunks) {
      const data = state.subarray(c * CHUNK_SIZE, Math.min(state.length, (c + 1) * CHUNK_SIZE));
      if (isZero(data)) {
        table[c] = 0;
        continue;
      }
      const record = encodeChunk(this.sampleNo, this.sampleUs, c, data);
      table[c] = at;
      at += record.length;
      records.push(record);
    }
    const keyframe = encodeKeyframe(this.sampleNo, this.sampleUs, table);
    records.push(keyframe);
    if (!this.fits(at + keyframe.length - this.writer.size)) return this.stopAtMaxSize();
    for (const r of records) this.append(r, this.sampleUs);
    this.table.splice(0, table.length, ...table);
    this.stats.keyframes++;
  }

  /** Samples once per interval until stopped; each sample is scheduled after the previous one finished. */
  run(): void {
    const intervalUs = this.options.intervalMs * 1000;
    let slot = 0;
    const tick = (): void => {
      if (this.result) return;
      // The slot this wake-up belongs to; timers may fire a little early (libuv's cached clock).
      const due = Math.max(slot + 1, Math.floor((this.clock() - this.startUs) / intervalUs));
      const missed = due - slot - 1;
      slot = due;
      this.sample(missed);
      if (this.result) return;
      const next = (slot + 1) * intervalUs - (this.clock() - this.startUs);
      this.timer = setTimeout(tick, Math.max(0, Math.ceil(next / 1000)));
    };
    this.timer = setTimeout(tick, this.options.intervalMs);
  }

  snapshotStats(): RecordStats {
    return { ...this.stats, fileBytes: this.writer.size, elapsedMs: this.sampleUs / 1000 };
  }

  /** Ends the recording: an end record with the reason, the file synced and closed. Idempotent. */
  stop(reason: StopReason, message = ''): RecordResult {
    if (this.result) return this.result;
    this.halt();
    try {
      // Its time is the last sample's (or a later event's): what came after the last sample was not seen.
      this.writer.append(encodeEnd(this.sampleNo, Math.max(this.sampleUs, this.writtenUs), this.pendingMissed, reason, message));
    } catch {
      // the file ends on its last whole record; that is still a valid recording
    }
    this.writer.close();
    this.result = { ...this.snapshotStats(), path: this.options.target, reason, message };
    this.settle.resolve(this.result);
    return this.result;
  }

  /** The file could not be written: close it as it is (whole up to its last record) and report. */
  private fail(err: Error): void {
    if (this.result) return;
    this.halt();
    this.writer.close();
    this.result = { ...this.snapshotStats(), path: this.options.target, reason: 'stopped', message: err.message };
    this.settle.reject(err);
  }

  private halt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.offGone();
  }
}

const ZERO = Buffer.alloc(CHUNK_SIZE);

function isZero(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(ZERO.subarray(0, data.length));
}

/** Bytes the first keyframe takes: a record per non-zero chunk, and the table. */
function keyframeBytes(state: Uint8Array, chunks: number[]): number {
  let total = RECORD_HEADER + 8 + 8 * chunks.length;
  for (const c of chunks) {
    const data = state.subarray(c * CHUNK_SIZE, Math.min(state.length, (c + 1) * CHUNK_SIZE));
    if (!isZero(data)) total += RECORD_HEADER + 8 + data.length;
  }
  return total;
}
