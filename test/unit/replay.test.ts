import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordingFile } from '../../core/record/reader';
import { ReplayCursor } from '../../core/record/replay-cursor';
import { RecordingSource } from '../../core/sources/recording-source';
import { SnapshotFile } from '../../core/snapshot/reader';
import { HeatCounter, slices } from '../../core/watch/heat';
import { RemoteSession } from '../../agent/remote-session';
import { InputError } from '../../core/errors';
import { made, runsBetween, tinyRecording } from '../helpers/recording';
import { rng, tempDir } from '../helpers/temp';

test('a replay cursor moved forward step by step, by jumps and backwards always holds the true bytes of the sample', (t) => {
  const truth = made(t, { size: 100_000, samples: 1500, seed: 11, maxWrites: 30, maxRun: 48 });
  const file = RecordingFile.open(truth.file);
  t.after(() => file.close());
  assert.ok(file.summary().keyframes >= 3, 'the recording should cross keyframes');
  const cursor = new ReplayCursor(file);
  assert.ok(Buffer.from(cursor.bytes).equals(truth.states[0]!));
  // Every sample in order: the forward path, one delta at a time.
  for (let k = 1; k < truth.states.length; k++) {
    const step = cursor.seek(truth.times[k]!);
    assert.ok(Buffer.from(cursor.bytes).equals(truth.states[k]!), `sample ${k}, stepping`);
    if (!truth.states[k]!.equals(truth.states[k - 1]!)) {
      assert.equal(step.sample, k);
      assert.equal(step.timeMs, truth.times[k]);
      assert.deepEqual(step.changed, runsBetween(truth.states[k - 1]!, truth.states[k]!), `changed runs of sample ${k}`);
    }
  }
  // Anywhere, in any order (backwards, across keyframes, between samples).
  const random = rng(5);
  for (let n = 0; n < 400; n++) {
    const k = random(truth.states.length);
    const between = random(2) === 1 ? 3.5 : 0;
    cursor.seek(truth.times[k]! + between);
    assert.ok(Buffer.from(cursor.bytes).equals(truth.states[k]!), `sample ${k} (+${between} ms) after a jump`);
  }
});

test('a recording source: segment offsets, zeros before the recorded range, the state at another moment without moving', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'tiny.shmrec');
  fs.writeFileSync(file, tinyRecording());
  const source = RecordingSource.open(file);
  t.after(() => source.close());
  // The tiny recording holds 1000..7000 of a 10,000-byte segment.
  assert.equal(source.info.kind, 'recording');
  assert.equal(source.info.size, 7000);
  assert.equal(source.info.writable, false);
  const before = new Uint8Array(16);
  source.read(1095, before);
  assert.deepEqual([...before.subarray(0, 5)], [0, 0, 0, 0, 0]);
  assert.deepEqual([...before.subarray(5)], Array(11).fill(7));
  const straddling = new Uint8Array(8);
  straddling.fill(9);
  source.read(996, straddling);
  assert.deepEqual([...straddling], [0, 0, 0, 0, 0, 0, 0, 0]);
  const step = source.seek(1_050);
  assert.equal(step.sample, 5);
  assert.deepEqual(step.changed, [{ offset: 1100, length: 2 }]);
  const first = source.at(0);
  const b = new Uint8Array(2);
  first.source.read(1100, b);
  assert.deepEqual([...b], [7, 7]);
  // at() did not move the cursor.
  assert.equal(source.step.sample, 5);
  assert.throws(() => source.write(), InputError);
  assert.throws(() => source.scope({ offset: 0, length: 10 }), /outside what .* recorded/);
});

test('heat: each slice counts the ticks that changed it, once per tick', () => {
  const heat = new HeatCounter(1000, 10);
  assert.equal(heat.sliceSize, 100);
  heat.tick([{ offset: 5, length: 1 }, { offset: 50, length: 10 }, { offset: 199, length: 2 }]);
  heat.tick([{ offset: 0, length: 1 }]);
  heat.tick([{ offset: 990, length: 20 }]);
  assert.deepEqual([...heat.counts], [2, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(slices(1000, 3).map((s) => s.length), [334, 334, 332]);
});

test('a recording opened in an agent: seek and step by scope, density, heat, history and a snapshot of a moment', async (t) => {
  const truth = made(t, { size: 65536, samples: 300, seed: 21, maxWrites: 6, maxRun: 8, record: { layout: undefined } });
  // Without asking for a recording, the agent refuses it by name.
  await assert.rejects(RemoteSession.attach(truth.file), /is a recording, not a segment/);
  const remote = await RemoteSession.attach(truth.file, { recording: true });
  t.after(() => remote.close());
  assert.equal(remote.info.kind, 'recording');
  assert.equal(remote.recording?.summary.samples, truth.states.length);
  assert.equal(remote.recording?.header.rangeLength, 65536);

  // A watch sees the bytes of a seek before the seek's reply.
  const ticks: number[] = [];
  remote.onChanges((tick) => ticks.push(tick.changes.length));
  await remote.watch([{ offset: 0, length: 65536 }], 1000);
  const k = 150;
  const moved = await remote.seek(truth.times[k]!);
  assert.equal(moved.found, true);
  assert.ok(ticks.length > 0, 'no changes came before the seek reply');
  assert.ok(Buffer.from(remote.lastBytes.get(0, 65536)!).equals(truth.states[k]!));

  // Steps of a scope: the next sample after k that changed those bytes.
  const scope = { offset: 4096, length: 4096 };
  const touched = (j: number): boolean => !truth.states[j]!.subarray(4096, 8192).equals(truth.states[j - 1]!.subarray(4096, 8192));
  let want = k + 1;
  while (want < truth.states.length && !touched(want)) want++;
  const next = await remote.seek(truth.times[k]!, { step: 'next', scope });
  assert.equal(next.found, true);
  assert.equal(next.timeMs, truth.times[want]);
  let back = want - 1;
  while (back > 0 && !touched(back)) back--;
  const previous = await remote.seek(next.timeMs, { step: 'previous', scope });
  assert.equal(previous.timeMs, back > 0 ? truth.times[back] : 0);
  const end = await remote.seek(truth.times.at(-1)!, { step: 'next' });
  assert.equal(end.found, false);

  const density = await remote.density(10);
  const changing = truth.states.filter((s, j) => j > 0 && !s.equals(truth.states[j - 1]!)).length;
  assert.equal(density.reduce((a, b) => a + b, 0), changing);
  const heat = await remote.heat(16);
  assert.equal(heat.sliceSize, 4096);
  for (let slice = 0; slice < 16; slice++) {
    let n = 0;
    for (let j = 1; j < truth.states.length; j++) if (!truth.states[j]!.subarray(slice * 4096, slice * 4096 + 4096).equals(truth.states[j - 1]!.subarray(slice * 4096, slice * 4096 + 4096))) n++;
    assert.equal(heat.counts[slice], n, `heat of slice ${slice}`);
  }

  const field = { offset: 100, length: 4 };
  const history = await remote.history(field, 1000);
  const expected = truth.states.flatMap((s, j) => (j > 0 && !s.subarray(100, 104).equals(truth.states[j - 1]!.subarray(100, 104)) ? [{ timeMs: truth.times[j]!, after: [...s.subarray(100, 104)] }] : []));
  assert.deepEqual(history.changes.map((c) => ({ timeMs: c.timeMs, after: [...c.after] })), expected);
  assert.equal(history.truncated, false);
  if (expected.length > 1) assert.equal((await remote.history(field, 1)).truncated, true);

  const { dir } = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const snap = path.join(dir, 'moment.shmsnap');
  const written = await remote.replay(truth.times[40]!, snap);
  assert.equal(written.timeMs, truth.times[40]);
  const s = SnapshotFile.open(snap);
  t.after(() => s.close());
  const bytes = Buffer.alloc(65536);
  fs.readSync(s.fd, bytes, 0, 65536, s.header.headerLength);
  assert.ok(bytes.equals(truth.states[40]!), 'the snapshot of the moment');
  // The cursor did not move.
  assert.ok(Buffer.from(await remote.read(0, 65536)).equals(truth.states[back > 0 ? back : 0]!));
});
