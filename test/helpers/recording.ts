import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { InputError } from '../../core/errors';
import { RecordingFile } from '../../core/record/reader';
import { encodeHeader } from '../../core/record/header';
import { Recorder, type RecordOptions } from '../../core/record/recorder';
import { encodeChunk, encodeDelta, encodeEnd, encodeEvent, encodeKeyframe } from '../../core/record/records';
import type { RecordedEvent } from '../../core/record/records';
import { MemorySource } from '../../core/sources/memory-source';
import { rng, tempDir } from './temp';

/** What a synthetic recording was made of: the true bytes after each sample, and the events. */
export interface Truth {
  file: string;
  /** times[k] (ms) and states[k]: sample k (0 is the first state). */
  times: number[];
  states: Buffer[];
  /** The runs each sample changed (absolute offsets). */
  events: { timeMs: number; event: RecordedEvent }[];
  recorder: Recorder;
}

export interface SyntheticOptions {
  dir: string;
  name?: string;
  size: number;
  samples: number;
  seed: number;
  /** ms between samples (the fake clock). */
  stepMs?: number;
  /** Per sample: how many scattered writes (0..max), and how long each may be. */
  maxWrites?: number;
  maxRun?: number;
  /** Every n-th sample comes with an event. */
  eventEvery?: number;
  record?: Partial<RecordOptions>;
  /** The segment's bytes before the first sample. */
  initial?: Buffer;
  /** Keep a copy of every sample's bytes (default); false for large segments where only the file matters. */
  keep?: boolean;
}

/**
 * A recording made by the real Recorder over bytes in memory, driven sample by sample with a fake
 * clock, so that the truth of every sample is known exactly.
 */
export function synthetic(o: SyntheticOptions): Truth {
  const random = rng(o.seed);
  const bytes = o.initial ? Buffer.from(o.initial) : Buffer.alloc(o.size);
  const source = new MemorySource(bytes, '/dev/shm/synthetic');
  let nowUs = 0;
  const file = path.join(o.dir, o.name ?? `synthetic-${o.seed}.shmrec`);
  const recorder = Recorder.start(source, { target: file, range: { offset: 0, length: o.size }, intervalMs: o.stepMs ?? 10, clock: () => nowUs, ...o.record });
  const truth: Truth = { file, times: [0], states: [Buffer.from(bytes)], events: [], recorder };
  const stepUs = (o.stepMs ?? 10) * 1000;
  for (let k = 1; k <= o.samples && !recorder.ended; k++) {
    nowUs += stepUs;
    const writes = random((o.maxWrites ?? 4) + 1);
    for (let w = 0; w < writes; w++) {
      const at = random(o.size);
      const n = Math.min(o.size - at, 1 + random(o.maxRun ?? 8));
      for (let i = 0; i < n; i++) bytes[at + i] = random(256);
    }
    const before = recorder.snapshotStats().samples;
    recorder.sample();
    // A sample that did not fit under --max-size is not in the file.
    if (recorder.snapshotStats().samples === before) break;
    truth.times.push(nowUs / 1000);
    if (o.keep !== false) truth.states.push(Buffer.from(bytes));
    if (recorder.ended) break;
    if (o.eventEvery && k % o.eventEvery === 0) {
      nowUs += 1000;
      const event: RecordedEvent = k % 3 === 0 ? { type: 'peer-joined', peer: k % 100, vectors: 2 } : k % 3 === 1 ? { type: 'interrupt', vector: k % 2, count: 1 + (k % 5) } : { type: 'peer-left', peer: k % 100 };
      recorder.event(event);
      truth.events.push({ timeMs: nowUs / 1000, event });
    }
  }
  return truth;
}

/**
 * A recording of scripted writes: sample k (1..samples) runs `write(bytes, k)` on the segment, then
 * the real Recorder samples it at k * stepMs on a fake clock. The truth of every sample is kept.
 */
export function scripted(o: { file: string; size: number; samples: number; stepMs: number; layout?: string; initial?: Buffer; write: (bytes: Buffer, k: number) => void }): Omit<Truth, 'events'> {
  const bytes = o.initial ? Buffer.from(o.initial) : Buffer.alloc(o.size);
  let nowUs = 0;
  const recorder = Recorder.start(new MemorySource(bytes, '/dev/shm/scripted'), { target: o.file, range: { offset: 0, length: o.size }, intervalMs: o.stepMs, clock: () => nowUs, ...(o.layout ? { layout: o.layout } : {}) });
  const truth = { file: o.file, times: [0], states: [Buffer.from(bytes)], recorder };
  for (let k = 1; k <= o.samples; k++) {
    nowUs = k * o.stepMs * 1000;
    o.write(bytes, k);
    recorder.sample();
    truth.times.push(nowUs / 1000);
    truth.states.push(Buffer.from(bytes));
  }
  recorder.stop('stopped');
  return truth;
}

/**
 * The benches' long recording at 100 Hz (360,000 samples: one hour), made by the real Recorder
 * with a fake clock: 1 MiB of random bytes; each sample k writes k as a u32 at offset 0 (a head
 * index: the state at any moment says which sample it is) and 8 scattered random bytes (many
 * small records, the worst case for a seek).
 */
export function syntheticHour(file: string, samples = 360_000): { makeSeconds: number } {
  const size = 1 << 20;
  const bytes = Buffer.alloc(size);
  randomFillSync(bytes);
  const random = rng(42);
  let nowUs = 0;
  fs.rmSync(file, { force: true });
  const started = performance.now();
  const recorder = Recorder.start(new MemorySource(bytes, 'synthetic hour'), { target: file, range: { offset: 0, length: size }, intervalMs: 10, clock: () => nowUs });
  for (let k = 1; k <= samples; k++) {
    nowUs = k * 10_000;
    bytes.writeUInt32LE(k, 0);
    for (let i = 0; i < 8; i++) bytes[64 + random(size - 64)] = random(256);
    recorder.sample();
  }
  recorder.stop('stopped');
  return { makeSeconds: Math.round((performance.now() - started) / 100) / 10 };
}

/**
 * Follows a recording being written (by another process) until the last state it holds has
 * `bytes` at `offset`; returns that state's time. How a test drives a writer tick by tick: write,
 * wait until the recorder has it, write the next value, so that no two writes share a sample.
 */
export async function waitForRecorded(file: string, offset: number, bytes: Uint8Array, timeoutMs = 15_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let reader: RecordingFile | undefined;
  try {
    for (;;) {
      try {
        reader ??= RecordingFile.open(file);
        reader.refresh();
        if (reader.index.keyframes.length > 0) {
          const state = reader.stateAt(Infinity, { offset, length: bytes.length });
          if (Buffer.from(state.bytes).equals(Buffer.from(bytes))) return state.timeMs;
        }
      } catch (err) {
        // Not there yet, or its header not written yet.
        if (!(err instanceof InputError)) throw err;
      }
      if (Date.now() > until) throw new Error(`${file} did not record ${Buffer.from(bytes).toString('hex')} at ${offset} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    reader?.close();
  }
}

/**
 * A small recording built record by record with the encoders (chunks of 4 KiB, two keyframes, the
 * second pointing at a chunk of the first; deltas, a heartbeat, events, the end record): every kind
 * and every cross-record rule in 7 KiB, the base the fuzzer mutates.
 */
export function tinyRecording(): Buffer {
  const header = encodeHeader({ segmentSize: 10_000, rangeOffset: 1000, rangeLength: 6000, intervalMs: 10, startTime: Date.UTC(2026, 10, 29), peerId: 3, chunkSize: 4096, source: 'unix:/tmp/ivshmem.sock', layout: '{"regions":[{"name":"r","offset":1000,"fields":[{"name":"a","type":"u32"}]}]}' });
  const state = Buffer.alloc(6000);
  state.fill(7, 100, 200);
  const parts: Buffer[] = [header];
  let at = header.length;
  const add = (b: Buffer): number => {
    parts.push(b);
    at += b.length;
    return at - b.length;
  };
  const chunk0 = add(encodeChunk(0, 0, 0, state.subarray(0, 4096)));
  add(encodeKeyframe(0, 0, [chunk0, 0]));
  const delta = (sample: number, timeUs: number, runs: number[]): void => {
    for (let i = 0; i < runs.length; i += 2) for (let p = runs[i]!; p < runs[i + 1]!; p++) state[p] = (state[p]! + sample) & 0xff || 1;
    add(encodeDelta(sample, timeUs, sample === 3 ? 1 : 0, runs, state));
  };
  delta(1, 10_000, [0, 4, 10, 11, 5000, 5008]);
  add(encodeEvent(1, 12_000, { type: 'peer-joined', peer: 4, vectors: 2 }));
  delta(3, 30_000, [5990, 6000]);
  const chunk1 = add(encodeChunk(3, 30_000, 1, state.subarray(4096)));
  add(encodeKeyframe(3, 30_000, [chunk0, chunk1]));
  add(encodeEvent(3, 31_000, { type: 'interrupt', vector: 1, count: 3 }));
  delta(4, 1_040_000, []);
  delta(5, 1_050_000, [100, 102]);
  add(encodeEvent(5, 1_055_000, { type: 'peer-left', peer: 4 }));
  add(encodeEnd(6, 1_060_000, 2, 'stopped', 'done — ok'));
  return Buffer.concat(parts);
}

/** The byte runs where a and b differ, in order: what a delta between the two should hold. */
export function runsBetween(a: Buffer, b: Buffer): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === i) last.length++;
    else out.push({ offset: i, length: 1 });
  }
  return out;
}

/** A synthetic recording in a temp folder removed after the test, its recorder stopped. */
export function made(t: { after: (fn: () => void) => void }, options: Omit<SyntheticOptions, 'dir'>): Truth {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const truth = synthetic({ dir, ...options });
  truth.recorder.stop('stopped');
  return truth;
}
