import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { RecordingFile } from '../../core/record/reader';
import { Timeline } from '../../core/record/timeline';
import { KIND } from '../../core/record/records';
import { made, runsBetween, synthetic } from '../helpers/recording';
import { rng, tempDir } from '../helpers/temp';

test('seeking to every sample of a recording rebuilds exactly the bytes of that sample, across keyframes', (t) => {
  const truth = made(t, { size: 200_000, samples: 2000, seed: 7, maxWrites: 40, maxRun: 64, eventEvery: 97 });
  const file = RecordingFile.open(truth.file);
  t.after(() => file.close());
  const s = file.summary();
  assert.equal(s.samples, truth.states.length);
  assert.equal(s.end?.reason, 'stopped');
  assert.equal(s.tail, undefined);
  assert.ok(s.keyframes >= 3, `only ${s.keyframes} keyframes`);
  assert.equal(s.readableBytes, fs.statSync(truth.file).size);
  const changing = truth.states.filter((st, k) => k > 0 && !st.equals(truth.states[k - 1]!)).length;
  assert.equal(s.changeSamples, changing);
  for (let k = 0; k < truth.states.length; k++) {
    const at = file.stateAt(truth.times[k]!);
    assert.ok(Buffer.from(at.bytes).equals(truth.states[k]!), `sample ${k} at ${truth.times[k]} ms`);
    // Between two samples: the earlier one.
    assert.ok(Buffer.from(file.stateAt(truth.times[k]! + 4.5).bytes).equals(truth.states[k]!), `after sample ${k}`);
    if (k > 0 && !truth.states[k]!.equals(truth.states[k - 1]!)) {
      assert.deepEqual(at.changed, runsBetween(truth.states[k - 1]!, truth.states[k]!), `changed runs of sample ${k}`);
      assert.equal(at.sample, k);
      assert.equal(at.timeMs, truth.times[k]);
    }
  }
  // Windows: only the asked bytes, the same as the whole state's.
  const random = rng(3);
  for (let n = 0; n < 300; n++) {
    const k = random(truth.states.length);
    const offset = random(200_000);
    const length = random(200_000 - offset + 1);
    const w = file.stateAt(truth.times[k]!, { offset, length });
    assert.ok(Buffer.from(w.bytes).equals(truth.states[k]!.subarray(offset, offset + length)), `window ${offset}+${length} at sample ${k}`);
  }
  assert.throws(() => file.stateAt(0, { offset: 199_999, length: 2 }), /outside what .* recorded/);
});

test('the timeline: changes of the whole range and of a scope, stepping, density, heat, history, events', (t) => {
  const truth = made(t, { size: 70_000, samples: 800, seed: 11, maxWrites: 3, maxRun: 16, eventEvery: 50 });
  const file = RecordingFile.open(truth.file);
  t.after(() => file.close());
  const tl = new Timeline(file);
  const changedAt = (from: number, to: number): number[] => truth.states.flatMap((st, k) => (k > 0 && !st.subarray(from, to).equals(truth.states[k - 1]!.subarray(from, to)) ? [truth.times[k]!] : []));

  assert.deepEqual(tl.changes().map((c) => c.timeMs), changedAt(0, 70_000));
  const random = rng(5);
  for (let n = 0; n < 40; n++) {
    const offset = random(70_000);
    const length = 1 + random(Math.min(3000, 70_000 - offset));
    const scope = { offset, length };
    const expected = changedAt(offset, offset + length);
    assert.deepEqual(tl.changes(scope).map((c) => c.timeMs), expected, `scope ${offset}+${length}`);
    // Stepping from any moment: the next change strictly after, the previous strictly before.
    const at = random(truth.times.at(-1)! + 20);
    assert.equal(tl.next(at, scope)?.timeMs, expected.find((x) => x > at));
    assert.equal(tl.previous(at, scope)?.timeMs, [...expected].reverse().find((x) => x < at));
    // History: each change with the scope's bytes before and after.
    const history = [...tl.history(scope)];
    assert.deepEqual(history.map((h) => h.timeMs), expected);
    for (const h of history) {
      const k = truth.times.indexOf(h.timeMs);
      assert.ok(Buffer.from(h.before).equals(truth.states[k - 1]!.subarray(offset, offset + length)));
      assert.ok(Buffer.from(h.after).equals(truth.states[k]!.subarray(offset, offset + length)));
    }
  }
  const end = truth.times.at(-1)! + 1;
  const density = tl.density(0, end, 16);
  assert.equal(density.reduce((a, b) => a + b, 0), tl.changes().length);
  const firstBucket = changedAt(0, 70_000).filter((x) => x < end / 16).length;
  assert.equal(density[0], firstBucket);
  // Heat: per region, the samples in which any of its bytes changed.
  const regions = [{ offset: 0, length: 100 }, { offset: 100, length: 4000 }, { offset: 30_000, length: 1 }, { offset: 65_000, length: 5000 }];
  assert.deepEqual([...tl.heat(regions)], regions.map((r) => changedAt(r.offset, r.offset + r.length).length));
  assert.deepEqual([...tl.heat(regions, 100, 2000)], regions.map((r) => changedAt(r.offset, r.offset + r.length).filter((x) => x >= 100 && x <= 2000).length));
  assert.deepEqual(tl.events().map((e) => [e.timeMs, e.event]), truth.events.map((e) => [e.timeMs, e.event]));
  assert.equal(tl.events(1000, 3000).length, truth.events.filter((e) => e.timeMs >= 1000 && e.timeMs <= 3000).length);
});

test('a recording cut at any byte reads up to its last whole record (torn tail), never further', (t) => {
  const truth = made(t, { size: 3000, samples: 60, seed: 21, maxWrites: 3, maxRun: 40, eventEvery: 9 });
  const whole = fs.readFileSync(truth.file);
  const full = RecordingFile.fromBytes(whole);
  const x = full.index;
  const ends = Array.from({ length: x.count }, (_, i) => x.offsets[i]! + x.lengths[i]!);
  for (let cut = full.header.headerLength; cut <= whole.length; cut++) {
    const file = RecordingFile.fromBytes(whole.subarray(0, cut));
    const s = file.summary();
    const complete = ends.filter((e) => e <= cut).length;
    assert.equal(file.index.count, complete, `cut at ${cut}`);
    assert.equal(s.readableBytes, complete === 0 ? full.header.headerLength : ends[complete - 1]);
    assert.equal(s.tail === undefined, cut === s.readableBytes, `cut at ${cut}: ${JSON.stringify(s.tail)}`);
    assert.equal(s.end === undefined, cut < whole.length);
    if (file.index.keyframes.length === 0) continue;
    // The last sample it holds reads back as the truth of that sample.
    const last = file.index.lastSample;
    const k = Math.min(last, truth.states.length - 1);
    assert.ok(Buffer.from(file.stateAt(Infinity).bytes).equals(truth.states[k]!), `cut at ${cut}: sample ${k}`);
  }
  // A header cut short is not a recording.
  assert.throws(() => RecordingFile.fromBytes(whole.subarray(0, full.header.headerLength - 1)), /truncated|too short/);
});

test('a damaged record ends what can be read; bytes after the end record are ignored and reported', (t) => {
  const truth = made(t, { size: 5000, samples: 100, seed: 4, maxWrites: 2, maxRun: 10 });
  const whole = fs.readFileSync(truth.file);
  const full = RecordingFile.fromBytes(whole);
  const x = full.index;
  const middle = x.changes[Math.floor(x.changes.length / 2)]!;
  const bad = Buffer.from(whole);
  bad[x.offsets[middle]! + 30]! ^= 0x40;
  const damaged = RecordingFile.fromBytes(bad);
  assert.equal(damaged.index.count, middle);
  assert.equal(damaged.summary().tail?.offset, x.offsets[middle]);
  assert.match(damaged.summary().tail!.reason, /CRC/);
  const extra = RecordingFile.fromBytes(Buffer.concat([whole, whole.subarray(full.header.headerLength, full.header.headerLength + 100)]));
  assert.equal(extra.index.count, x.count);
  assert.match(extra.summary().tail!.reason, /after the end record/);
  // Each kind is where the scan put it.
  assert.equal(x.kinds[0], KIND.keyframe); // 5000 zero bytes: the first keyframe needs no chunk
  assert.equal(x.kinds[x.count - 1], KIND.end);
});

test('a recording still being written: refresh() picks up the new records', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const truth = synthetic({ dir, size: 10_000, samples: 50, seed: 9, maxWrites: 3 });
  const file = RecordingFile.open(truth.file);
  t.after(() => file.close());
  assert.equal(file.summary().end, undefined);
  const before = file.index.count;
  assert.ok(Buffer.from(file.stateAt(Infinity).bytes).equals(truth.states.at(-1)!));
  truth.recorder.stop('stopped');
  assert.equal(file.refresh(), true);
  assert.equal(file.index.count, before + 1);
  assert.equal(file.summary().end?.reason, 'stopped');
  assert.equal(file.refresh(), false);
});
