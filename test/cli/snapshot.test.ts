import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { eventually, seededBytes, tempDir, writingIn } from '../helpers/temp';

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
  assert.match(text.stdout, /data: +OK \(16 blocks of 64 KiB match their checksum \(XXH64 of their pages\)\)/);
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
  await eventually(() => writingIn(proc.child.pid!, dir, [seg]), 20_000, 'the snapshot to be under way');
  proc.child.kill('SIGINT');
  const { code } = await proc.exited;
  assert.equal(code, 130, proc.stderr);
  assert.match(proc.stderr, /snapshot cancelled; no file was written/);
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
});

test('a snapshot never replaces its source, however spelled, nor a device, FIFO or socket, even with --force', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const bytes = seededBytes(1 << 16, 5);
  fs.writeFileSync(seg, bytes);
  const ino = fs.statSync(seg).ino;
  fs.symlinkSync(seg, path.join(dir, 'link'));
  fs.linkSync(seg, path.join(dir, 'hard'));
  const spellings = [seg, path.join(dir, '..', path.basename(dir), 'seg'), `${dir}//./seg`, path.join(dir, 'link'), path.join(dir, 'hard')];
  for (const target of spellings) {
    for (const force of [[], ['--force']]) {
      const r = await runCli(['snapshot', seg, '-o', target, ...force]);
      assert.equal(r.code, 2, `${target} ${force}: ${r.stderr}`);
      assert.match(r.stderr, /it is the source itself/, target);
    }
  }
  assert.equal(fs.statSync(seg).ino, ino, 'the source was replaced');
  assert.ok(fs.readFileSync(seg).equals(bytes));
  // A snapshot as the source: not over itself either.
  const snap = path.join(dir, 'a.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', snap])).code, 0);
  const snapIno = fs.statSync(snap).ino;
  const again = await runCli(['snapshot', snap, '-o', path.join(dir, '.', 'a.shmsnap'), '--force']);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /it is the source itself/);
  assert.equal(fs.statSync(snap).ino, snapIno);

  // Not a regular file: refused with or without --force, and left as it was.
  const fifo = path.join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const sock = path.join(dir, 'sock');
  const server = net.createServer().listen(sock);
  t.after(() => server.close());
  await new Promise((r) => server.once('listening', r));
  const special: [string, RegExp][] = [[fifo, /it is a FIFO/], [sock, /it is a socket/]];
  // A character device of our own (1,3 is what /dev/null is), where we may create one.
  const cdev = path.join(dir, 'null');
  if (spawnSync('mknod', [cdev, 'c', '1', '3']).status === 0) special.push([cdev, /it is a character device/]);
  else t.diagnostic('mknod is not allowed here: the character-device case is not run');
  fs.symlinkSync(fifo, path.join(dir, 'fifolink'));
  special.push([path.join(dir, 'fifolink'), /it is a FIFO/]);
  for (const [target, message] of special) {
    const before = fs.lstatSync(target);
    for (const force of [[], ['--force']]) {
      const r = await runCli(['snapshot', seg, '-o', target, ...force]);
      assert.equal(r.code, 2, `${target} ${force}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /only a new name or a regular file is ever replaced, even with --force/);
    }
    const after = fs.lstatSync(target);
    assert.deepEqual([after.ino, after.mode], [before.ino, before.mode], `${target} was replaced`);
  }
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'a temporary file was left');
});

test('a valid 255-byte -o name works (its temporary name is shortened, not the target)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(1 << 16, 6));
  for (const name of [`${'s'.repeat(242)}.shmsnap`, `${'é'.repeat(123)}.shmsnap`, `${'x'.repeat(247)}.shmsnap`]) {
    assert.ok(Buffer.byteLength(name) <= 255 && name.length >= 130, name);
    const target = path.join(dir, name);
    const r = await runCli(['snapshot', seg, '-o', target]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(target).subarray(0, 8).equals(Buffer.from('SHMSNAP\0')));
  }
  assert.equal(fs.readdirSync(dir).length, 4);
});
