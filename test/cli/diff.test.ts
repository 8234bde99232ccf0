import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { ROOT, childrenOf, eventually, fdTargets, seededBytes, tempDir } from '../helpers/temp';

/** The process that holds `file` open: the CLI itself (files are read in its process) or a child of it. */
function processHolding(cli: number, file: string): number | undefined {
  return [cli, ...childrenOf(cli)].find((pid) => fdTargets(pid).includes(file));
}

test('diff of snapshots and live files: ranges, the tail of the longer side, JSON', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const data = seededBytes(300_000, 21);
  fs.writeFileSync(seg, data);
  const before = path.join(dir, 'before.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', before])).code, 0);
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, Buffer.from([data[4095]! ^ 0xff, data[4096]! ^ 0xff]), 0, 2, 4095);
  fs.writeSync(fd, Buffer.from([data[299_999]! ^ 1]), 0, 1, 299_999);
  fs.closeSync(fd);
  const text = await runCli(['diff', before, seg]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /3 byte\(s\) differ in 2 range\(s\):\n {2}0xfff \+2\n {2}0x493df \+1\n/);
  const json = JSON.parse((await runCli(['diff', before, seg, '--json'])).stdout);
  assert.deepEqual(json.ranges, [{ offset: 4095, length: 2 }, { offset: 299_999, length: 1 }]);
  assert.equal(json.identical, false);
  assert.equal(json.tail, null);
  assert.deepEqual([json.a.size, json.b.size, json.compared, json.changedBytes], [300_000, 300_000, 300_000, 3]);
  // Identical sides, and sides of different sizes.
  const same = JSON.parse((await runCli(['diff', seg, seg, '--json'])).stdout);
  assert.equal(same.identical, true);
  const longer = path.join(dir, 'longer');
  fs.writeFileSync(longer, Buffer.concat([fs.readFileSync(seg), Buffer.alloc(4096, 1)]));
  const grown = JSON.parse((await runCli(['diff', seg, longer, '--json'])).stdout);
  assert.deepEqual(grown.tail, { side: 'b', offset: 300_000, length: 4096 });
  assert.equal(grown.changedBytes, 0);
});

test('diff --layout: per region and per field, old -> new', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = Buffer.alloc(8192);
  a.write('RING', 0, 'latin1');
  a.writeUInt32LE(41, 8);
  const b = Buffer.from(a);
  b.writeUInt32LE(42, 8);
  b.write('new message', 0x100 + 64 * 5 + 16, 'latin1');
  fs.writeFileSync(path.join(dir, 'a'), a);
  fs.writeFileSync(path.join(dir, 'b'), b);
  const r = await runCli(['diff', path.join(dir, 'a'), path.join(dir, 'b'), '--layout', path.join(ROOT, 'examples', 'ring.shmlayout.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /by region:\n {2}header: 1 byte\(s\) in 1 range\(s\)\n {2}slots: 11 byte\(s\) in 1 range\(s\)\n/);
  assert.match(r.stdout, /by field:\n {2}header\.head: 41 -> 42\n {2}slots\[5\]\.text: "" -> "new message"\n/);
});

test('diff: bad input, and a live side that disconnects midway', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(4096));
  const fake = path.join(dir, 'fake.shmsnap');
  fs.writeFileSync(fake, 'SHMSNAP\0 but not really a snapshot');
  for (const [args, code, message] of [
    [['diff', seg], 1, /missing B/],
    [['diff', seg, path.join(dir, 'nope')], 2, /cannot open .*nope: no such file/],
    [['diff', seg, fake], 2, /fake\.shmsnap: /],
    [['diff', seg, seg, '--layout', path.join(dir, 'nope.json')], 2, /cannot read the layout/],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // B is truncated while the diff reads it: a clear "disconnected", exit 3.
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, Buffer.alloc(1024 * 1024 * 1024, 1));
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, Buffer.alloc(1024 * 1024 * 1024, 1));
  const proc = new CliProcess(['diff', big, other]);
  // Truncate while the diff runs: stop the process that compares once it has opened B (before
  // comparing), make sure it has not finished with B (it closes B when done), truncate, let it go
  // on. A fast machine compares 1 GiB in a quarter of a second: no race with the clock.
  const holder = await eventually(() => processHolding(proc.child.pid!, other), 10_000, 'B to be opened');
  process.kill(holder, 'SIGSTOP');
  try {
    assert.ok(fdTargets(holder).includes(other), 'the diff was over before the test could stop it');
    fs.truncateSync(other, 4096);
  } finally {
    process.kill(holder, 'SIGCONT');
  }
  const { code } = await proc.exited;
  assert.equal(code, 3, proc.stderr);
  // The diff notices the new size before it reads the lost pages, or its pread comes up short:
  // either way one clear line, exit 3 (reads are pread: nothing can raise SIGBUS).
  assert.match(proc.stderr, /^shmem-inspect: disconnected: the backing file was truncated from 1073741824 to 4096 bytes\n$/);
});
