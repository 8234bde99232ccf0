import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diffSources } from '../../core/diff/diff';
import { InputError } from '../../core/errors';
import { BAD, GOOD, UNKNOWN } from '../../core/snapshot/block-trust';
import { checkAll, withChecks } from '../../core/snapshot/checked-pass';
import { DamagedError } from '../../core/snapshot/integrity';
import { writeSnapshot } from '../../core/snapshot/writer';
import { MemorySource } from '../../core/sources/memory-source';
import { SnapshotSource } from '../../core/sources/snapshot-source';
import { seededBytes, tempDir } from '../helpers/temp';

const BLOCK = 65536;

/** A snapshot of `data`, with the data bytes at `flips` (segment offsets) flipped afterwards. */
async function snapshotOf(dir: string, name: string, data: Buffer, flips: number[] = []): Promise<string> {
  const file = path.join(dir, name);
  await writeSnapshot(new MemorySource(data, name, false), { target: file, force: false });
  const fd = fs.openSync(file, 'r+');
  const head = Buffer.alloc(16);
  fs.readSync(fd, head, 0, 16, 0);
  for (const at of flips) {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, head.readUInt32LE(12) + at);
    fs.writeSync(fd, Buffer.from([b[0]! ^ 0x80]), 0, 1, head.readUInt32LE(12) + at);
  }
  fs.closeSync(fd);
  return file;
}

test('a read touching a bad block throws DamagedError naming it; good blocks read; each block is checked once', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = seededBytes(8 * BLOCK + 100, 1);
  const snap = SnapshotSource.open(await snapshotOf(dir, 's.shmsnap', data, [2 * BLOCK + 5, 8 * BLOCK + 99]));
  t.after(() => snap.close());
  const got = new Uint8Array(1000);
  snap.read(BLOCK - 500, got);
  assert.ok(Buffer.from(got).equals(data.subarray(BLOCK - 500, BLOCK + 500)));
  assert.deepEqual([...snap.trust.state], [GOOD, GOOD, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN]);
  assert.throws(() => snap.read(3 * BLOCK - 1, new Uint8Array(2)), (e: unknown) => e instanceof DamagedError && e instanceof InputError && /the data at 0x20000\.\.0x30000 does not match its checksum/.test((e as Error).message));
  // The short last block too.
  assert.throws(() => snap.read(8 * BLOCK, new Uint8Array(100)), /0x80000\.\.0x80064/);
  assert.equal(snap.view(), undefined, 'a view would hand out unchecked bytes');
  const result = await snap.verify();
  assert.deepEqual(result.badBlocks, [2, 8]);
  assert.deepEqual(result.damaged, [{ offset: 2 * BLOCK, length: BLOCK }, { offset: 8 * BLOCK, length: 100 }]);
});

test('the whole-file check finds the same bad blocks on a worker, on this thread, and split between the two', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = seededBytes(64 * BLOCK, 2);
  const file = await snapshotOf(dir, 's.shmsnap', data, [0, 17 * BLOCK + 3, 40 * BLOCK, 63 * BLOCK + BLOCK - 1]);
  const expected = [0, 17, 40, 63];
  for (const how of ['worker', 'thread', 'split'] as const) {
    const snap = SnapshotSource.open(file);
    try {
      // split: this thread checks the first half as a pass would (the file's bytes), the worker the rest.
      if (how === 'split') {
        const half = new Uint8Array(32 * BLOCK);
        snap.readUnchecked(0, half);
        snap.trust.checkInline(0, half);
        assert.deepEqual(snap.trust.badBlocks(), [0, 17]);
      }
      await checkAll([snap.trust], {}, how !== 'thread');
      assert.deepEqual(snap.trust.badBlocks(), expected, how);
      assert.ok([...snap.trust.state].every((s) => s === GOOD || s === BAD), `${how}: a block was left unchecked`);
    } finally {
      snap.close();
    }
  }
});

test('withChecks: a diff of two snapshots is released only with their damage; a block checked once for both sides never hides a bad one', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = seededBytes(32 * BLOCK, 3);
  const good = await snapshotOf(dir, 'good.shmsnap', data);
  // B: block 5 damaged (its bytes differ from A's, same stored checksum); A and C share a
  // damaged block 9 (C is a byte copy of damaged A: equal bytes, equal checksums, both bad).
  const b = await snapshotOf(dir, 'b.shmsnap', data, [5 * BLOCK + 7]);
  const a = await snapshotOf(dir, 'a.shmsnap', data, [9 * BLOCK + 1]);
  const c = path.join(dir, 'c.shmsnap');
  fs.copyFileSync(a, c);
  const cases: [string, string, { index: number; blocks: number[] }[]][] = [
    [good, good, []],
    [good, b, [{ index: 1, blocks: [5] }]],
    [b, good, [{ index: 0, blocks: [5] }]],
    [a, c, [{ index: 0, blocks: [9] }, { index: 1, blocks: [9] }]],
  ];
  for (const [x, y, expected] of cases) {
    const sx = SnapshotSource.open(x);
    const sy = SnapshotSource.open(y);
    try {
      const { result, damage } = await withChecks([sx, sy], ([p, q]) => diffSources(p!, q!));
      assert.deepEqual(damage.map((d) => ({ index: d.index, blocks: d.ranges.map((r) => r.offset / BLOCK) })), expected, `${path.basename(x)} vs ${path.basename(y)}`);
      assert.equal(result.changedBytes, x === y || expected.length === 0 || x === a ? 0 : 1);
    } finally {
      sx.close();
      sy.close();
    }
  }
});

test('withChecks gives up its check when the pass fails, and leaves no worker behind', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const snap = SnapshotSource.open(await snapshotOf(dir, 's.shmsnap', seededBytes(16 * BLOCK, 4)));
  t.after(() => snap.close());
  await assert.rejects(withChecks([snap], async () => {
    throw new InputError('the pass failed');
  }), /the pass failed/);
  // A later whole check still completes (the states a stopped worker claimed are checked again).
  await checkAll([snap.trust]);
  assert.deepEqual(snap.trust.badBlocks(), []);
});
