import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { eventually, seededBytes, tempDir } from '../helpers/temp';

test('snapshot then info: header fields and a verified checksum', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(1 << 20, 3));
  const snap = path.join(dir, 'a.shmsnap');
  const r = await runCli(['snapshot', seg, '-o', snap]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote .*a\.shmsnap: 1 MiB in [0-9.]+ s/);
  const info = await runCli(['info', snap, '--json']);
  assert.equal(info.code, 0, info.stderr);
  const facts = JSON.parse(info.stdout);
  assert.equal(facts.kind, 'snapshot');
  assert.equal(facts.size, 1 << 20);
  assert.equal(facts.capturedFrom, seg);
  assert.equal(facts.badBlocks, 0);
  assert.equal(facts.blocks, 16);
  assert.equal(facts.dataOffset % 4096, 0);
  assert.ok(Math.abs(Date.parse(facts.captured) - Date.now()) < 60_000);
  const text = await runCli(['info', snap]);
  assert.match(text.stdout, /data: +OK \(16 blocks of 64 KiB match their CRC-32\)/);
  const fileInfo = await runCli(['info', seg]);
  assert.match(fileInfo.stdout, /kind: +backing file\nsource: .*\nsize: +1048576 bytes \(0x100000, 1 MiB\)\nfile system: +tmpfs/);
  // Replacing needs --force; with it, the new capture is there.
  fs.writeFileSync(seg, Buffer.alloc(1 << 20, 0xee));
  assert.equal((await runCli(['snapshot', seg, '-o', snap])).code, 2);
  assert.equal((await runCli(['snapshot', seg, '-o', snap, '--force'])).code, 0);
  assert.match((await runCli(['dump', snap, '--length', '2'])).stdout, /eeee/);
});

test('Ctrl-C during a big snapshot: exit 130, no snapshot, no temporary file', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(1 << 30, 0x11));
  const proc = new CliProcess(['snapshot', seg, '-o', path.join(dir, 'big.shmsnap')]);
  // Wait until the temporary file exists: the capture is under way.
  await eventually(() => fs.readdirSync(dir).some((n) => n.endsWith('.tmp')), 20_000, 'the temporary file');
  proc.child.kill('SIGINT');
  const { code } = await proc.exited;
  assert.equal(code, 130, proc.stderr);
  assert.match(proc.stderr, /snapshot cancelled; no file was written/);
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
});
