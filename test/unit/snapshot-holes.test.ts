import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { diffSources } from '../../core/diff/diff';
import { withChecks } from '../../core/snapshot/checked-pass';
import { encodeHeader, headerLength } from '../../core/snapshot/format';
import { PageHasher } from '../../core/snapshot/page-hash';
import { writeSnapshot } from '../../core/snapshot/writer';
import { BackingFileSource } from '../../core/sources/backing-file';
import { MemorySource } from '../../core/sources/memory-source';
import { SnapshotSource } from '../../core/sources/snapshot-source';
import { seededBytes, tempDir } from '../helpers/temp';

const K = 1024;
const M = 1024 * K;
const BLOCK = 64 * K;

/**
 * A sparse file on /dev/shm: `size` bytes from ftruncate, then seeded bytes written at each
 * [from, to). Returns the path and what it reads as.
 */
function sparseSegment(dir: string, name: string, size: number, data: [number, number][]): { file: string; bytes: Buffer } {
  const file = path.join(dir, name);
  const bytes = Buffer.alloc(size);
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, size);
  for (const [i, [from, to]] of data.entries()) {
    const part = seededBytes(to - from, i + 1);
    part.copy(bytes, from);
    fs.writeSync(fd, part, 0, part.length, from);
  }
  fs.closeSync(fd);
  return { file, bytes };
}

/** The version 2 checksums of `bytes`, block by block, from the bytes themselves (no holes involved). */
function checksumsOf(bytes: Buffer): number[] {
  const hasher = new PageHasher(BLOCK, BLOCK);
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += BLOCK) out.push(hasher.checksumOf(bytes.subarray(at, Math.min(bytes.length, at + BLOCK))));
  return out;
}

// The copy goes by data extents in pieces of 8 MiB, the checksums by 1 MiB: holes at every place
// that meets those edges.
const cases: [string, number, [number, number][]][] = [
  ['a hole at the start', 3 * M, [[2 * M + 4 * K, 3 * M]]],
  ['a hole in the middle', 3 * M, [[0, M - 8 * K], [2 * M + 12 * K, 3 * M]]],
  ['a hole at the end (a file extended by ftruncate), in a partial last page', 2 * M + 1000, [[0, 40 * K]]],
  ['a hole straddling a 1 MiB chunk edge and a block edge', 4 * M, [[0, M - 20 * K], [M + 36 * K, 4 * M]]],
  ['a hole straddling an 8 MiB copy edge', 10 * M, [[0, 8 * M - 4 * K], [8 * M + 4 * K, 10 * M]]],
  ['data pages scattered (every tenth page), the last page partial', 2 * M + 100, Array.from({ length: 52 }, (_, i) => [i * 40 * K, i * 40 * K + 4 * K] as [number, number]).concat([[2 * M, 2 * M + 100]])],
  ['a file that is all hole', 5 * M + 4 * K, []],
];

for (const [name, size, data] of cases) {
  test(`snapshot of a sparse segment, ${name}: the same bytes and checksums as a dense copy, holes kept`, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const { file, bytes } = sparseSegment(dir, 'seg', size, data);
    const source = BackingFileSource.open(file);
    t.after(() => source.close());
    const out = path.join(dir, 's.shmsnap');
    const result = await writeSnapshot(source, { target: out, force: false });
    const dataBytes = data.reduce((sum, [from, to]) => sum + (Math.ceil(to / 4096) * 4096 - Math.floor(from / 4096) * 4096), 0);
    assert.equal(result.bytesWritten, Math.min(size, dataBytes) - (size % 4096 !== 0 && data.some(([, to]) => to === size) ? 4096 - (size % 4096) : 0));
    // The holes stay holes: the snapshot holds about its data, not its size.
    assert.ok(fs.statSync(out).blocks * 512 <= dataBytes + 512 * K, `${fs.statSync(out).blocks * 512} bytes allocated for ${dataBytes} of data`);
    const snap = SnapshotSource.open(out);
    t.after(() => snap.close());
    assert.equal(snap.file.header.version, 2);
    assert.deepEqual([...snap.file.header.blockChecksums], checksumsOf(bytes), 'the checksums depend on the bytes only, not on where the holes were');
    assert.deepEqual((await snap.verify()).badBlocks, []);
    const back = Buffer.alloc(size);
    snap.read(0, back);
    assert.ok(back.equals(bytes));
    // A diff against the segment itself (the snapshot checked beside it) finds nothing.
    const { result: diff, damage } = await withChecks([snap, source], ([x, y]) => diffSources(x!, y!));
    assert.deepEqual([diff.changedBytes, damage], [0, []]);
  });
}

test('a byte written into a hole of a snapshot, or data punched out, fails its block', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { file } = sparseSegment(dir, 'seg', 2 * M, [[M, M + 4 * K]]);
  const source = BackingFileSource.open(file);
  t.after(() => source.close());
  const out = path.join(dir, 's.shmsnap');
  await writeSnapshot(source, { target: out, force: false });
  const headerLen = SnapshotSource.open(out);
  const dataAt = headerLen.file.header.headerLength;
  headerLen.close();
  const fd = fs.openSync(out, 'r+');
  fs.writeSync(fd, Buffer.from([1]), 0, 1, dataAt + 5 * BLOCK + 77); // into a hole
  fs.writeSync(fd, Buffer.alloc(4 * K), 0, 4 * K, dataAt + M); // the data replaced by zeros
  fs.closeSync(fd);
  const snap = SnapshotSource.open(out);
  t.after(() => snap.close());
  assert.deepEqual((await snap.verify()).badBlocks, [5, M / BLOCK]);
});

test('format version 1 snapshots (CRC-32 per block) are still read and checked', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = seededBytes(3 * BLOCK + 500, 9);
  data.fill(0, BLOCK, 2 * BLOCK);
  const blockChecksums = new Uint32Array(4).map((_, i) => crc32(data.subarray(i * BLOCK, Math.min(data.length, (i + 1) * BLOCK))));
  const header = { version: 1, headerLength: headerLength(4, 0, 0, 4), size: data.length, time: Date.now(), blockSize: BLOCK, peerId: undefined, checked: false, source: '/old', layout: undefined, torn: [], blockChecksums };
  const file = path.join(dir, 'v1.shmsnap');
  fs.writeFileSync(file, Buffer.concat([encodeHeader(header), data]));
  const snap = SnapshotSource.open(file);
  t.after(() => snap.close());
  assert.equal(snap.file.header.version, 1);
  assert.deepEqual((await snap.verify()).badBlocks, []);
  const back = Buffer.alloc(data.length);
  snap.read(0, back);
  assert.ok(back.equals(data));
  // Damage in a version 1 file is found the version 1 way.
  const damaged = path.join(dir, 'v1-bad.shmsnap');
  const bytes = fs.readFileSync(file);
  const at = header.headerLength + 2 * BLOCK + 3;
  bytes[at] = bytes[at]! ^ 0x10;
  fs.writeFileSync(damaged, bytes);
  const bad = SnapshotSource.open(damaged);
  t.after(() => bad.close());
  assert.deepEqual((await bad.verify()).badBlocks, [2]);
  // And a snapshot of it is written in version 2, with the same bytes.
  const again = path.join(dir, 'v2.shmsnap');
  await writeSnapshot(snap, { target: again, force: false });
  const v2 = SnapshotSource.open(again);
  t.after(() => v2.close());
  assert.equal(v2.file.header.version, 2);
  const back2 = Buffer.alloc(data.length);
  v2.read(0, back2);
  assert.ok(back2.equals(data));
});

test('a source the kernel cannot copy from (bytes in memory) is read and written, holes for its zero pages', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const data = Buffer.alloc(2 * M);
  seededBytes(10 * K, 3).copy(data, 300 * K);
  const out = path.join(dir, 'm.shmsnap');
  const result = await writeSnapshot(new MemorySource(data, 'memory', false), { target: out, force: false });
  assert.equal(result.bytesWritten, 12 * K);
  assert.equal(result.zeroBlocks, 2 * M / BLOCK - 1);
  const snap = SnapshotSource.open(out);
  t.after(() => snap.close());
  assert.deepEqual([...snap.file.header.blockChecksums], checksumsOf(data));
  assert.ok(fs.statSync(out).blocks * 512 < 512 * K);
});
