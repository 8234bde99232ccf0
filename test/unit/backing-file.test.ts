import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { InputError, SourceLostError } from '../../core/errors';
import { BackingFileSource } from '../../core/sources/backing-file';
import { SnapshotFile, looksLikeSnapshot } from '../../core/snapshot/reader';
import { mappingsOf, openFds, seededBytes, tempDir } from '../helpers/temp';
import { NO_HUGETLBFS, hugetlbfsMount } from '../helpers/hugetlbfs';

test('reads what was written to the file, and sees later writes by other processes', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  const data = seededBytes(1 << 20, 1);
  fs.writeFileSync(file, data);
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  assert.equal(src.info.size, data.length);
  assert.equal(src.info.fileSystem, dir.startsWith('/dev/shm') ? 'tmpfs' : src.info.fileSystem);
  const got = new Uint8Array(1000);
  src.read(12345, got);
  assert.deepEqual(Buffer.from(got), data.subarray(12345, 13345));
  // Another writer (here: pwrite on another descriptor) changes the file: the same page cache.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from('abcd'), 0, 4, 500);
  fs.closeSync(fd);
  const again = new Uint8Array(4);
  src.read(500, again);
  assert.equal(Buffer.from(again).toString(), 'abcd');
});

test('reading a sparse /dev/shm segment does not allocate its holes', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'sparse');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 64 * 1024 * 1024);
  fs.writeSync(fd, Buffer.from('x'), 0, 1, 32 * 1024 * 1024);
  fs.closeSync(fd);
  const allocated = (): number => fs.statSync(file).blocks * 512;
  const before = allocated();
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  const buf = new Uint8Array(1 << 20);
  for (let off = 0; off < 64 * 1024 * 1024; off += buf.length) src.read(off, buf);
  assert.ok(allocated() <= before + 65536, `reading grew the segment from ${before} to ${allocated()} bytes`);
});

test('tmpfs: reads and writes are positional I/O; nothing is mapped, so nothing can raise SIGBUS', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(8192));
  const src = BackingFileSource.open(file, { writable: true });
  t.after(() => src.close());
  src.write(3, Buffer.from([5]));
  src.read(0, new Uint8Array(8192));
  assert.equal(mappingsOf(file), 0, 'the file was mapped');
  assert.equal(fs.readFileSync(file)[3], 5);
  // A truncation that slips past the checks (skipChecks) shows up as a short read: a clean error.
  const unchecked = BackingFileSource.open(file, { skipChecks: true });
  t.after(() => unchecked.close());
  fs.truncateSync(file, 100);
  assert.throws(() => unchecked.read(0, new Uint8Array(4096)), (e: unknown) => e instanceof SourceLostError && e.message === `${file} ended early at 100`);
});

test('read-only by default: a write is refused and the file is untouched', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(8192, 7));
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  assert.throws(() => src.write(0, Buffer.from([1])), (e: unknown) => e instanceof InputError && /read-only/.test(e.message));
  assert.equal(fs.readFileSync(file)[0], 7);
});

test('read-write writes in place: same inode, bytes visible to other readers', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(8192));
  const ino = fs.statSync(file).ino;
  const src = BackingFileSource.open(file, { writable: true });
  t.after(() => src.close());
  src.write(4094, Buffer.from([1, 2, 3, 4]));
  const disk = fs.readFileSync(file);
  assert.deepEqual([...disk.subarray(4094, 4098)], [1, 2, 3, 4]);
  assert.equal(fs.statSync(file).ino, ino);
});

test('offsets past 2 GiB and 4 GiB are read and written exactly (sparse 5 GiB file)', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'big');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 5 * 2 ** 30);
  const marks = [2 ** 31 - 2, 2 ** 32 - 3, 2 ** 32 + 16, 5 * 2 ** 30 - 4];
  marks.forEach((off, i) => fs.writeSync(fd, Buffer.from([0xa0 + i, 0xb0 + i, 0xc0 + i, 0xd0 + i]), 0, 4, off));
  fs.closeSync(fd);
  const src = BackingFileSource.open(file, { writable: true });
  t.after(() => src.close());
  marks.forEach((off, i) => {
    const got = new Uint8Array(4);
    src.read(off, got);
    assert.deepEqual([...got], [0xa0 + i, 0xb0 + i, 0xc0 + i, 0xd0 + i], `at ${off}`);
  });
  // A 32-bit wrap would have put this at offset 16; check that 16 is still zero.
  const low = new Uint8Array(4);
  src.read(16, low);
  assert.deepEqual([...low], [0, 0, 0, 0]);
  src.write(2 ** 32 + 100, Buffer.from('far'));
  const check = Buffer.alloc(3);
  const rfd = fs.openSync(file, 'r');
  fs.readSync(rfd, check, 0, 3, 2 ** 32 + 100);
  fs.closeSync(rfd);
  assert.equal(check.toString(), 'far');
  // A read across 2^31 (where a C int would wrap).
  const straddle = new Uint8Array(8);
  src.read(2 ** 31 - 4, straddle);
  assert.deepEqual([...straddle.subarray(2, 6)], [0xa0, 0xb0, 0xc0, 0xd0]);
});

test('truncation, deletion and replacement are noticed before any read', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const cases: [string, (file: string) => void, RegExp][] = [
    ['truncated', (f) => fs.truncateSync(f, 100), /truncated from 65536 to 100 bytes/],
    ['deleted', (f) => fs.unlinkSync(f), /was deleted/],
    ['replaced', (f) => {
      fs.writeFileSync(`${f}.new`, Buffer.alloc(65536));
      fs.renameSync(`${f}.new`, f);
    }, /replaced by another file/],
    ['unlinked and made again', (f) => {
      fs.unlinkSync(f);
      fs.writeFileSync(f, Buffer.alloc(65536));
    }, /replaced by another file/],
    // The path is a symbolic link (as /dev/shm names often are), pointed at another file.
    ['link', (f) => {
      fs.writeFileSync(`${f}.other`, Buffer.alloc(65536));
      fs.unlinkSync(`${f}.link`);
      fs.symlinkSync(`${f}.other`, `${f}.link`);
    }, /replaced by another file/],
    // A second hard link keeps the inode alive when the path is replaced.
    ['replaced, with another link', (f) => {
      fs.linkSync(f, `${f}.keep`);
      fs.writeFileSync(`${f}.new`, Buffer.alloc(65536));
      fs.renameSync(`${f}.new`, f);
    }, /replaced by another file/],
  ];
  for (const [name, act, reason] of cases) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, Buffer.alloc(65536, 1));
    if (name === 'link') fs.symlinkSync(file, `${file}.link`);
    const src = BackingFileSource.open(name === 'link' ? `${file}.link` : file);
    let told: string | undefined;
    src.onGone((r) => (told = r));
    assert.equal(src.check(), undefined);
    act(file);
    assert.throws(() => src.read(0, new Uint8Array(16)), (e: unknown) => e instanceof SourceLostError && reason.test(e.message), name);
    assert.match(told ?? '', reason);
    src.close();
  }
});

test('bad backing files get one-line input errors and leak no descriptor', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'secret'), 'x');
  fs.chmodSync(path.join(dir, 'secret'), 0o000);
  const before = openFds();
  const cases: [string, RegExp][] = [
    [path.join(dir, 'missing'), /no such file/],
    [dir, /is a directory/],
    [path.join(dir, 'empty'), /is empty/],
    ['/dev/null', /not a regular file/],
  ];
  if (process.getuid?.() !== 0) cases.push([path.join(dir, 'secret'), /permission denied/]);
  for (const [file, message] of cases) {
    assert.throws(() => BackingFileSource.open(file), (e: unknown) => e instanceof InputError && message.test(e.message) && !e.message.includes('\n'), file);
  }
  assert.equal(openFds(), before);
});

test('hugetlbfs: read by pread; written through a shared mapping (it refuses pwrite), unmapped at close; the huge page reservation is put back', (t) => {
  const before = fs.existsSync('/proc/sys/vm/nr_hugepages') ? fs.readFileSync('/proc/sys/vm/nr_hugepages', 'utf8').trim() : undefined;
  const mount = hugetlbfsMount();
  if (!mount) {
    t.skip(NO_HUGETLBFS);
    return;
  }
  const reserved = fs.readFileSync('/proc/sys/vm/nr_hugepages', 'utf8').trim();
  // The cleanup unmounts without -l: it fails if a mapping was left behind. And what this test
  // changed on the machine (the huge page reservation) is as it was.
  t.after(() => {
    mount.cleanup();
    assert.equal(fs.readFileSync('/proc/sys/vm/nr_hugepages', 'utf8').trim(), before);
  });
  const file = path.join(mount.dir, 'seg');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 2 * 1024 * 1024);
  assert.ok(Number(reserved) >= 2, 'no huge pages reserved');
  assert.throws(() => fs.writeSync(fd, Buffer.from('x'), 0, 1, 0), /EINVAL/, 'hugetlbfs accepted pwrite: this test no longer tests the mapping');
  fs.closeSync(fd);
  const reader = BackingFileSource.open(file);
  assert.equal(reader.info.fileSystem, 'hugetlbfs');
  assert.equal(mappingsOf(file), 0, 'a read-only session mapped the file');
  const writer = BackingFileSource.open(file, { writable: true });
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file));
  assert.equal(maps.length, 1, 'the writer did not map the file');
  assert.match(maps[0]!, / rw-s /, 'the mapping is not shared and writable');
  writer.write(2 * 1024 * 1024 - 5, Buffer.from('huge!'));
  writer.write(0, Buffer.from('first'));
  const got = new Uint8Array(5);
  reader.read(2 * 1024 * 1024 - 5, got);
  assert.equal(Buffer.from(got).toString(), 'huge!');
  reader.read(0, got);
  assert.equal(Buffer.from(got).toString(), 'first');
  writer.close();
  reader.close();
  assert.equal(mappingsOf(file), 0, 'close left the mapping');
});

test('a FIFO is refused at once, as a backing file and as a snapshot, instead of blocking open(2)', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const fifo = path.join(dir, 'pipe.shmsnap');
  execFileSync('mkfifo', [fifo]);
  const before = openFds();
  const started = Date.now();
  // Without O_NONBLOCK each of these would wait for a writer for ever (the test would time out).
  assert.throws(() => BackingFileSource.open(fifo), (e: unknown) => e instanceof InputError && /is not a regular file/.test(e.message));
  assert.throws(() => BackingFileSource.open(fifo, { writable: true }), (e: unknown) => e instanceof InputError && /is not a regular file/.test(e.message));
  assert.throws(() => SnapshotFile.open(fifo), /not a regular file/);
  assert.equal(looksLikeSnapshot(fifo), false);
  assert.ok(Date.now() - started < 2000);
  assert.equal(openFds(), before);
});

test('a sequential scan is checked at least once per 16 MiB; any other read is checked first', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(40 * 1024 * 1024, 1));
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  const chunk = new Uint8Array(128 * 1024);
  src.read(0, chunk);
  fs.unlinkSync(file);
  // The scan may go on (a deleted file still reads: its data is what it was) until its next check:
  // 16 MiB on (or 20 ms later, on a slow machine).
  let offset = chunk.length;
  const noticed = (): number => {
    for (; offset < 40 * 1024 * 1024; offset += chunk.length) {
      try {
        src.read(offset, chunk);
      } catch (e) {
        assert.ok(e instanceof SourceLostError && /was deleted/.test(e.message), String(e));
        return offset;
      }
    }
    return -1;
  };
  const at = noticed();
  assert.ok(at > 0 && at <= 16 * 1024 * 1024, `the deletion was noticed at ${at}`);
  // Once gone, every read says so; and a read that does not continue a scan is always checked.
  assert.throws(() => src.read(0, chunk), SourceLostError);
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, Buffer.alloc(1024 * 1024, 2));
  const b = BackingFileSource.open(other);
  t.after(() => b.close());
  b.read(0, chunk);
  fs.unlinkSync(other);
  assert.throws(() => b.read(4096, chunk.subarray(0, 4096)), (e: unknown) => e instanceof SourceLostError && /was deleted/.test(e.message));
});
