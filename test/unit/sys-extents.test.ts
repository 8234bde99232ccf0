import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dataExtents, type Extent } from '../../core/sys/extents';
import { tempDir } from '../helpers/temp';

const K = 1024;

/** A sparse file of `size` with the given data ranges written (non-zero bytes), on tmpfs. */
function sparseFile(dir: string, name: string, size: number, data: [number, number][]): { file: string; fd: number } {
  const file = path.join(dir, name);
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, size);
  for (const [from, to] of data) fs.writeSync(fd, Buffer.alloc(to - from, 0xab), 0, to - from, from);
  return { file, fd };
}

/** Every non-zero byte of [start, end) lies in an extent, and the extents are ordered, clipped, non-empty. */
function assertCovers(fd: number, start: number, end: number, extents: Extent[]): void {
  const bytes = Buffer.alloc(end - start);
  fs.readSync(fd, bytes, 0, bytes.length, start);
  let last = start;
  for (const e of extents) {
    assert.ok(e.length > 0 && e.offset >= last && e.offset + e.length <= end, `bad extent ${JSON.stringify(e)}`);
    assert.ok(bytes.subarray(last - start, e.offset - start).every((b) => b === 0), `data in the hole before ${e.offset}`);
    last = e.offset + e.length;
  }
  assert.ok(bytes.subarray(last - start).every((b) => b === 0), `data in the hole after ${last}`);
}

const cases: [string, number, [number, number][], Extent[]][] = [
  ['a hole at the start', 1024 * K, [[512 * K, 1024 * K]], [{ offset: 512 * K, length: 512 * K }]],
  ['a hole in the middle', 256 * K, [[0, 64 * K], [192 * K, 256 * K]], [{ offset: 0, length: 64 * K }, { offset: 192 * K, length: 64 * K }]],
  ['a hole at the end (the file was extended by ftruncate)', 1024 * K, [[0, 64 * K]], [{ offset: 0, length: 64 * K }]],
  ['all hole', 1024 * K, [], []],
  ['no hole', 64 * K, [[0, 64 * K]], [{ offset: 0, length: 64 * K }]],
];

for (const [name, size, data, want] of cases) {
  test(`dataExtents: ${name}`, (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const { fd } = sparseFile(dir, 'f', size, data);
    t.after(() => fs.closeSync(fd));
    const got = dataExtents(fd, 0, size);
    assert.deepEqual(got, want);
    assertCovers(fd, 0, size, got);
  });
}

test('dataExtents: a hole straddling a chunk edge, asked chunk by chunk, is clipped to each chunk', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const chunk = 256 * K;
  // Data, then a hole from 240 KiB to 272 KiB (across the edge at 256 KiB), then data again.
  const { fd } = sparseFile(dir, 'f', 2 * chunk, [[0, 240 * K], [272 * K, 2 * chunk]]);
  t.after(() => fs.closeSync(fd));
  const first = dataExtents(fd, 0, chunk);
  const second = dataExtents(fd, chunk, 2 * chunk);
  assert.deepEqual(first, [{ offset: 0, length: 240 * K }]);
  assert.deepEqual(second, [{ offset: 272 * K, length: 2 * chunk - 272 * K }]);
  assertCovers(fd, 0, chunk, first);
  assertCovers(fd, chunk, 2 * chunk, second);
  // And data straddling the edge is cut at it: one extent on each side.
  assert.deepEqual(dataExtents(fd, 128 * K, chunk), [{ offset: 128 * K, length: 112 * K }]);
  assert.deepEqual(dataExtents(fd, 200 * K, 300 * K), [{ offset: 200 * K, length: 40 * K }, { offset: 272 * K, length: 28 * K }]);
});

test('dataExtents: past the end of the file there is no data; offsets past 4 GiB are exact', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const far = 2 ** 32 + 64 * K;
  const { fd } = sparseFile(dir, 'f', far + 64 * K, [[far, far + 4 * K]]);
  t.after(() => fs.closeSync(fd));
  assert.deepEqual(dataExtents(fd, 0, far + 64 * K), [{ offset: far, length: 4 * K }]);
  assert.deepEqual(dataExtents(fd, far + 64 * K, far + 1024 * K), []);
  assert.deepEqual(dataExtents(fd, 5, 5), []);
  assert.throws(() => dataExtents(fd, 10, 5), RangeError);
});

test('dataExtents: a bad descriptor is a system error with its code', () => {
  assert.throws(() => dataExtents(999_999, 0, 4096), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EBADF' && (e as NodeJS.ErrnoException).syscall === 'lseek(SEEK_DATA)');
});
