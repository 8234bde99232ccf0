import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_REPLAY_RECORDS, MIN_KEYFRAME_DISTANCE } from '../../core/record/keyframes';
import { RecordingFile } from '../../core/record/reader';
import { Recorder } from '../../core/record/recorder';
import { KIND, RECORD_HEADER } from '../../core/record/records';
import { BackingFileSource } from '../../core/sources/backing-file';
import { MemorySource } from '../../core/sources/memory-source';
import { synthetic } from '../helpers/recording';
import { tempDir } from '../helpers/temp';

test('run(): one sample per interval, scheduled after the previous one finished; a slow sample counts the ticks it covered', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let nowMs = 0;
  const bytes = new Uint8Array(4096);
  const source = new MemorySource(bytes, 'slow');
  let reads = 0;
  let inRead = false;
  // A MemorySource is sampled through its view (like a mapped file): one view per sample.
  const view = source.view.bind(source);
  source.view = (offset, length) => {
    assert.equal(inRead, false, 'a sample started before the previous one finished');
    inRead = true;
    reads++;
    // The third tick's sample takes 35 ms: the ticks due at 40 and 50 ms pass without a sample.
    if (reads === 3) nowMs += 35;
    const v = view(offset, length);
    inRead = false;
    return v;
  };
  const recorder = Recorder.start(source, { target: path.join(dir, 'r.shmrec'), range: { offset: 0, length: 4096 }, intervalMs: 10, clock: () => nowMs * 1000 });
  recorder.run();
  const times: number[] = [];
  const sample = recorder.sample.bind(recorder);
  recorder.sample = (missed) => {
    times.push(nowMs);
    bytes[0] = times.length; // every sample sees a change: one delta each
    sample(missed);
  };
  for (let ms = 0; ms < 100; ms++) {
    nowMs++;
    t.mock.timers.tick(1);
  }
  const result = recorder.stop('stopped');
  // Mock timers run a 0 ms timeout within the same tick: the slow sample ends at 65 ms.
  assert.deepEqual(times, [10, 20, 30, 65, 70, 80, 90, 100, 110, 120, 130]);
  assert.equal(result.missedTicks, 2);
  const file = RecordingFile.open(path.join(dir, 'r.shmrec'));
  t.after(() => file.close());
  assert.equal(file.summary().missedTicks, 2);
  assert.equal(file.summary().samples, 12);
});

test('a quiet recording writes a heartbeat a second, and no keyframes', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  let nowUs = 0;
  const file = path.join(dir, 'quiet.shmrec');
  const recorder = Recorder.start(new MemorySource(new Uint8Array(1 << 20), 'quiet'), { target: file, range: { offset: 0, length: 1 << 20 }, intervalMs: 10, clock: () => nowUs });
  for (let k = 1; k <= 350; k++) {
    nowUs = k * 10_000;
    recorder.sample();
  }
  recorder.stop('stopped');
  const r = RecordingFile.open(file);
  t.after(() => r.close());
  const x = r.index;
  const kinds = Array.from(x.kinds.subarray(0, x.count));
  assert.deepEqual(kinds, [KIND.keyframe, KIND.delta, KIND.delta, KIND.delta, KIND.end]);
  assert.deepEqual([1, 2, 3].map((i) => x.times[i]), [1_000_000, 2_000_000, 3_000_000]);
  assert.equal(r.summary().samples, 351);
  assert.equal(r.summary().durationMs, 3500);
  // 1 MiB of zeros: the first state is a table of 16 empty chunks, not a MiB.
  assert.ok(fs.statSync(file).size < 1000, `${fs.statSync(file).size} bytes`);
});

test('--duration stops after the sample that reaches it; --max-size stops before the file would pass it', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const timed = synthetic({ dir, name: 'timed.shmrec', size: 5000, samples: 100, seed: 1, record: { durationMs: 200 } });
  assert.equal(timed.recorder.outcome?.reason, 'duration');
  assert.equal(timed.times.at(-1), 200);
  const capped = synthetic({ dir, name: 'capped.shmrec', size: 50_000, samples: 5000, seed: 2, maxWrites: 20, maxRun: 30, record: { maxBytes: 120_000 } });
  assert.equal(capped.recorder.outcome?.reason, 'max-size');
  assert.ok(fs.statSync(capped.file).size <= 120_000);
  const file = RecordingFile.open(capped.file);
  t.after(() => file.close());
  assert.equal(file.summary().end?.reason, 'max-size');
  assert.equal(file.summary().samples, capped.states.length);
  for (let k = 0; k < capped.states.length; k += 7) assert.ok(Buffer.from(file.stateAt(capped.times[k]!).bytes).equals(capped.states[k]!), `sample ${k}`);
  assert.ok(Buffer.from(file.stateAt(Infinity).bytes).equals(capped.states.at(-1)!));
});

test('the source goes away: the recording ends with the reason in its end record', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(8192, 1));
  const source = BackingFileSource.open(seg);
  t.after(() => source.close());
  const file = path.join(dir, 'lost.shmrec');
  const recorder = Recorder.start(source, { target: file, range: { offset: 0, length: 8192 }, intervalMs: 10 });
  recorder.sample();
  fs.truncateSync(seg, 100);
  recorder.sample();
  const result = await recorder.finished;
  assert.equal(result.reason, 'source-lost');
  assert.match(result.message, /truncated from 8192 to 100 bytes/);
  const r = RecordingFile.open(file);
  t.after(() => r.close());
  assert.deepEqual(r.summary().end, { reason: 'source-lost', message: result.message });
});

test('keyframes cost at most what the changes cost, whatever the segment size; a seek replays a bounded part', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (const size of [128 * 1024, 2 << 20]) {
    const truth = synthetic({ dir, name: `${size}.shmrec`, size, samples: 1500, seed: 8, maxWrites: 100, maxRun: 64, keep: false });
    truth.recorder.stop('stopped');
    const file = RecordingFile.open(truth.file);
    const x = file.index;
    let first = 0;
    let keyframeBytes = 0;
    let changeBytes = 0;
    let replay = 0;
    let worstReplay = 0;
    let replayRecords = 0;
    for (let i = 0; i < x.count; i++) {
      const kind = x.kinds[i]!;
      if (kind === KIND.chunk || kind === KIND.keyframe) {
        if (x.keyframes[0]! >= i) first += x.lengths[i]!;
        else keyframeBytes += x.lengths[i]!;
        if (kind === KIND.keyframe) replay = replayRecords = 0;
      } else if (kind === KIND.delta || kind === KIND.event) {
        changeBytes += x.lengths[i]!;
        replay += x.lengths[i]!;
        worstReplay = Math.max(worstReplay, replay);
        assert.ok(++replayRecords <= MAX_REPLAY_RECORDS);
      }
    }
    const table = RECORD_HEADER + 8 + 8 * Math.ceil(size / 65536);
    assert.ok(x.keyframes.length >= 2, `${size}: ${x.keyframes.length} keyframes`);
    assert.ok(keyframeBytes <= changeBytes, `${size}: keyframes ${keyframeBytes} bytes for ${changeBytes} bytes of changes`);
    assert.ok(worstReplay <= Math.max(MIN_KEYFRAME_DISTANCE, table + size + 16 * Math.ceil(size / 65536)) + 20_000, `${size}: a seek may replay ${worstReplay} bytes`);
    assert.equal(first, table, `${size}: the first state of zeros took ${first} bytes, not just its table`);
    t.diagnostic(`${size} bytes: ${x.keyframes.length} keyframes, ${keyframeBytes} keyframe bytes for ${changeBytes} bytes of changes, worst replay ${worstReplay}`);
    file.close();
  }
});
