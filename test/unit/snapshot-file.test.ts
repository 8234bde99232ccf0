import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, InputError, SourceLostError } from '../../core/errors';
import { consistencyText, writeSnapshot } from '../../core/snapshot/writer';
import { SnapshotFile } from '../../core/snapshot/reader';
import { BackingFileSource } from '../../core/sources/backing-file';
import { SnapshotSource } from '../../core/sources/snapshot-source';
import { SourceBase } from '../../core/source';
import { MemorySource } from '../../core/sources/memory-source';
import { checkTarget, publish, tempPathFor } from '../../core/atomic-file';
import { openFds, seededBytes, tempDir } from '../helpers/temp';

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'));
}

test('a snapshot holds exactly the segment, and reads back through SnapshotSource', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const data = seededBytes(3 * 65536 + 1234, 42);
  fs.writeFileSync(seg, data);
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'a.shmsnap');
  const result = await writeSnapshot(src, { target: out, force: false, peerId: 3, layout: '{"regions":[]}' });
  assert.equal(result.size, data.length);
  assert.equal(result.blocks, 4);
  // A copy of shared memory is private to its maker, whatever the umask: mode 0600.
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  const snap = SnapshotSource.open(out);
  t.after(() => snap.close());
  assert.equal(snap.info.size, data.length);
  assert.equal(snap.file.header.peerId, 3);
  assert.equal(snap.file.header.source, seg);
  assert.equal(snap.file.header.layout, '{"regions":[]}');
  const all = new Uint8Array(data.length);
  snap.read(0, all);
  assert.ok(Buffer.from(all).equals(data));
  // The raw bytes start at a page boundary, so dd can cut them out.
  const raw = fs.readFileSync(out).subarray(snap.file.header.headerLength);
  assert.equal(snap.file.header.headerLength % 4096, 0);
  assert.ok(raw.equals(data));
  assert.deepEqual((await snap.file.verify()).badBlocks, []);
  assert.deepEqual(leftovers(dir), []);
});

test('zero blocks become holes: a mostly-zero segment costs little disk', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const fd = fs.openSync(seg, 'w+');
  fs.ftruncateSync(fd, 64 * 1024 * 1024);
  fs.writeSync(fd, Buffer.from('needle'), 0, 6, 40 * 1024 * 1024 + 3);
  fs.closeSync(fd);
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'z.shmsnap');
  const result = await writeSnapshot(src, { target: out, force: false });
  assert.equal(result.zeroBlocks, result.blocks - 1);
  assert.equal(result.bytesWritten, 4096);
  const st = fs.statSync(out);
  assert.ok(st.blocks * 512 < 1024 * 1024, `allocated ${st.blocks * 512} bytes`);
  const snap = SnapshotFile.open(out);
  t.after(() => snap.close());
  const got = Buffer.alloc(6);
  snap.readData(40 * 1024 * 1024 + 3, got);
  assert.equal(got.toString(), 'needle');
  assert.deepEqual((await snap.verify()).badBlocks, []);
});

test('holes are per page: every tenth page set, 90% of the pages stay holes; odd sizes end right', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const size = 4 * 1024 * 1024 + 100;
  const data = Buffer.alloc(size);
  for (let p = 0; p < size; p += 10 * 4096) data.fill(0x5a, p, Math.min(size, p + 4096));
  data[size - 1] = 1;
  fs.writeFileSync(seg, data);
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'p.shmsnap');
  const result = await writeSnapshot(src, { target: out, force: false });
  const pagesSet = Math.ceil(1024 / 10);
  assert.equal(result.bytesWritten, pagesSet * 4096 + 100);
  const snap = SnapshotSource.open(out);
  t.after(() => snap.close());
  const back = new Uint8Array(size);
  snap.read(0, back);
  assert.ok(Buffer.from(back).equals(data));
  assert.deepEqual((await snap.file.verify()).badBlocks, []);
});

test('an existing file is never replaced without force; with force it is, atomically', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(4096, 9));
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'keep.shmsnap');
  fs.writeFileSync(out, 'precious');
  await assert.rejects(writeSnapshot(src, { target: out, force: false }), (e: unknown) => e instanceof InputError && /already exists.*--force/.test(e.message));
  assert.equal(fs.readFileSync(out, 'utf8'), 'precious');
  // Atomically: the new file is moved over the old one (a reader of the old one keeps it whole),
  // never the old file truncated and rewritten in place.
  const reader = fs.openSync(out, 'r');
  const oldIno = fs.fstatSync(reader).ino;
  await writeSnapshot(src, { target: out, force: true });
  assert.equal(fs.readFileSync(reader, 'utf8'), 'precious');
  fs.closeSync(reader);
  assert.notEqual(fs.statSync(out).ino, oldIno);
  const replaced = SnapshotFile.open(out);
  assert.equal(replaced.header.size, 4096);
  replaced.close();
  await assert.rejects(writeSnapshot(src, { target: path.join(dir, 'no-such-dir', 'x.shmsnap'), force: false }), /no such file/);
  await assert.rejects(writeSnapshot(src, { target: dir, force: true }), /is a folder/);
  assert.deepEqual(leftovers(dir), []);
});

test('a cancelled snapshot leaves no file behind', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(256 * 1024 * 1024, 0xab));
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'c.shmsnap');
  let cancel = false;
  const p = writeSnapshot(src, { target: out, force: false, isCancelled: () => cancel, onProgress: () => (cancel = true) });
  await assert.rejects(p, CancelledError);
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(leftovers(dir), []);
});

test('a source lost mid-snapshot leaves no file behind', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(256 * 1024 * 1024, 0xcd));
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'lost.shmsnap');
  // Truncate at the first progress report; the next read's check sees it before touching memory.
  const p = writeSnapshot(src, { target: out, force: false, onProgress: () => fs.truncateSync(seg, 4096) });
  await assert.rejects(p, (e: unknown) => e instanceof SourceLostError && /truncated/.test(e.message));
  assert.equal(fs.existsSync(out), false);
  assert.deepEqual(leftovers(dir), []);
});

test('verify finds a flipped data byte and names its block', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(5 * 65536, 8));
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const out = path.join(dir, 'v.shmsnap');
  await writeSnapshot(src, { target: out, force: false });
  const headerLength = SnapshotFile.open(out).header.headerLength;
  const fd = fs.openSync(out, 'r+');
  fs.writeSync(fd, Buffer.from([0x55 ^ seededBytes(3 * 65536 + 11, 8)[3 * 65536 + 10]!]), 0, 1, headerLength + 3 * 65536 + 10);
  fs.closeSync(fd);
  const snap = SnapshotFile.open(out);
  t.after(() => snap.close());
  assert.deepEqual((await snap.verify()).badBlocks, [3]);
});

test('the reader rejects foreign, truncated and padded files with the file name, and leaks no descriptor', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(70000, 9));
  const src = BackingFileSource.open(seg);
  t.after(() => src.close());
  const good = path.join(dir, 'good.shmsnap');
  await writeSnapshot(src, { target: good, force: false });
  const bytes = fs.readFileSync(good);
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /too short/],
    ['text', Buffer.from('hello, this is not a snapshot at all, but it is long enough to have a header'), /bad magic/],
    ['cut in the header', bytes.subarray(0, 100), /truncated/],
    ['cut in the data', bytes.subarray(0, bytes.length - 1), /truncated: .* expected/],
    ['padded', Buffer.concat([bytes, Buffer.alloc(3)]), /3 unexpected bytes/],
  ];
  const before = openFds();
  for (const [name, content, message] of cases) {
    const file = path.join(dir, `${name}.shmsnap`);
    fs.writeFileSync(file, content);
    assert.throws(() => SnapshotFile.open(file), (e: unknown) => e instanceof InputError && e.message.startsWith(`${file}: `) && message.test(e.message) && !e.message.includes('\n'), name);
  }
  assert.throws(() => SnapshotFile.open(dir), /not a regular file|is a directory/);
  assert.equal(openFds(), before);
});

/**
 * A source whose page 3 changes on every read and page 7 changes on its first two reads only:
 * a stand-in for a guest writing while the copy is made (the CLI test uses a real writer).
 */
class ChangingSource extends SourceBase {
  readonly info = { kind: 'file' as const, description: 'changing', size: 16 * 4096, writable: false };
  private reads = new Map<number, number>();
  /** Page 3 changes on every read (torn); page 7 changes between the first two reads, then settles. */
  constructor(private readonly tornPage = true) {
    super();
  }
  read(offset: number, target: Uint8Array): void {
    for (let i = 0; i < target.length; i++) target[i] = Math.floor((offset + i) / 4096) + 1;
    const pages = new Set<number>();
    for (let at = offset; at < offset + target.length; at += 4096) pages.add(Math.floor(at / 4096));
    for (const page of pages) {
      const n = (this.reads.get(page) ?? 0) + 1;
      this.reads.set(page, n);
      const from = Math.max(offset, page * 4096) - offset;
      const to = Math.min(offset + target.length, page * 4096 + 4096) - offset;
      if (page === 3 && this.tornPage) target.fill(n & 0xff, from, to);
      if (page === 7 && n <= 2) target.fill(100 + n, from, to);
    }
  }
  write(): void {
    throw new Error('read-only');
  }
  protected probe(): undefined {
    return undefined;
  }
  protected release(): void {}
}

test('a checked snapshot re-reads changing pages: settled ones are kept, the rest recorded as torn', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const out = path.join(dir, 'checked.shmsnap');
  const result = await writeSnapshot(new ChangingSource(), { target: out, force: false, consistent: true });
  assert.equal(result.checked, true);
  assert.deepEqual(result.torn, [{ offset: 3 * 4096, length: 4096 }]);
  const snap = SnapshotFile.open(out);
  t.after(() => snap.close());
  assert.equal(snap.header.checked, true);
  assert.deepEqual(snap.header.torn, [{ offset: 3 * 4096, length: 4096 }]);
  const page7 = Buffer.alloc(4096);
  snap.readData(7 * 4096, page7);
  assert.ok(page7.every((b) => b === 8), 'page 7 was not re-read until it settled');
  assert.deepEqual((await snap.verify()).badBlocks, []);
  // What the user is told counts the pages read again (it once said "no page changed" whenever
  // none stayed torn).
  assert.equal(result.reread, 2);
  assert.equal(consistencyText(result), '2 page(s) changed while they were copied and were read again; 4096 byte(s) in 1 range(s) kept changing (torn): 0x3000+4096');
  const settled = await writeSnapshot(new ChangingSource(false), { target: path.join(dir, 'settled.shmsnap'), force: false, consistent: true });
  assert.deepEqual([settled.reread, settled.torn], [1, []]);
  assert.equal(consistencyText(settled), '1 page(s) changed while they were copied and were read again until two reads agreed');
  const plain = await writeSnapshot(new ChangingSource(), { target: path.join(dir, 'plain.shmsnap'), force: false });
  assert.equal(plain.checked, false);
  assert.deepEqual(plain.torn, []);
  const still = BackingFileSource.open(out);
  t.after(() => still.close());
  const quiet = await writeSnapshot(still, { target: path.join(dir, 'quiet.shmsnap'), force: false, consistent: true });
  assert.deepEqual([quiet.reread, consistencyText(quiet)], [0, 'no page changed while it was copied']);
});

test('a copy held in memory (savevm) is never written over the segment it copies, nor is an export', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(8192, 9));
  const st = fs.statSync(seg);
  const copy = new MemorySource(seededBytes(8192, 10), seg, false, { dev: st.dev, ino: st.ino });
  for (const target of [seg, path.join(dir, '..', path.basename(dir), 'seg')]) {
    await assert.rejects(writeSnapshot(copy, { target, force: true }), (err: Error) => err instanceof InputError && /it is the source itself/.test(err.message));
    assert.throws(() => checkTarget(target, true, { dev: st.dev, ino: st.ino }), /it is the source itself/);
  }
  assert.equal(fs.statSync(seg).ino, st.ino);
  assert.ok(fs.readFileSync(seg).equals(seededBytes(8192, 9)));
  assert.deepEqual(leftovers(dir), []);
  // Another regular file is replaced with force, as before.
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, 'x');
  await writeSnapshot(copy, { target: other, force: true });
  assert.equal(fs.readFileSync(other).subarray(0, 7).toString(), 'SHMSNAP');
});

test('the target is checked again just before it is published: a FIFO that took its place meanwhile is not replaced', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const target = path.join(dir, 'out');
  fs.writeFileSync(target, 'old');
  const temp = tempPathFor(target);
  fs.writeFileSync(temp, 'new');
  fs.rmSync(target);
  assert.equal(spawnSync('mkfifo', [target]).status, 0);
  assert.throws(() => publish(temp, target, true), /it is a FIFO/);
  assert.ok(fs.lstatSync(target).isFIFO());
});
