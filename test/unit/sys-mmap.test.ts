import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedMapping } from '../../core/sys/mmap';
import { mappingsOf, seededBytes, tempDir } from '../helpers/temp';

test('SharedMapping: copies in and out of a shared mapping see the file, both ways; unmap is immediate', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(3 * 4096));
  const fd = fs.openSync(file, 'r+');
  t.after(() => fs.closeSync(fd));
  // Mapped from the second page on: the offset is honoured.
  const m = SharedMapping.map(fd, 4096, 2 * 4096, true);
  assert.equal(mappingsOf(file), 1);
  const data = seededBytes(5000, 7);
  m.copyIn(100, data);
  assert.ok(fs.readFileSync(file).subarray(4096 + 100, 4096 + 5100).equals(data));
  // Another writer's bytes, read back through the mapping into a Buffer we own (a subarray too).
  fs.writeSync(fd, Buffer.from('peer'), 0, 4, 4096 + 8000);
  const out = Buffer.alloc(16, 0xee);
  m.copyOut(8000, out.subarray(6, 10));
  assert.equal(out.subarray(6, 10).toString(), 'peer');
  assert.equal(out[5], 0xee);
  assert.equal(out[10], 0xee);
  m.unmap();
  assert.equal(mappingsOf(file), 0, 'the mapping outlived unmap()');
  assert.equal(m.mapped, false);
  assert.throws(() => m.copyIn(0, Buffer.from([1])), /after unmap/);
  m.unmap();
});

test('SharedMapping: a copy that would leave the mapping is refused before any byte moves', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(8192));
  const fd = fs.openSync(file, 'r+');
  t.after(() => fs.closeSync(fd));
  const m = SharedMapping.map(fd, 0, 8192, true);
  t.after(() => m.unmap());
  assert.throws(() => m.copyIn(8191, Buffer.from([1, 2])), RangeError);
  assert.throws(() => m.copyOut(-1, Buffer.alloc(1)), RangeError);
  assert.throws(() => m.copyOut(0.5, Buffer.alloc(1)), RangeError);
  assert.ok(fs.readFileSync(file).every((b) => b === 0));
  m.copyIn(8191, Buffer.from([9]));
  assert.equal(fs.readFileSync(file)[8191], 9);
});

test('SharedMapping: mmap failures are system errors with their code', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(4096));
  const ro = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(ro));
  assert.throws(() => SharedMapping.map(ro, 0, 4096, true), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EACCES' && (e as NodeJS.ErrnoException).syscall === 'mmap');
  assert.throws(() => SharedMapping.map(999_999, 0, 4096, false), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EBADF');
  assert.throws(() => SharedMapping.map(ro, 100, 4096, false), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EINVAL');
  assert.equal(mappingsOf(file), 0);
});
