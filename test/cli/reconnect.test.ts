import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { ROOT, tempDir } from '../helpers/temp';

/** base (at disconnect), local (guest copy now, a snapshot of an edited copy), and the live segment. */
async function scene(dir: string): Promise<{ seg: string; base: string; local: string }> {
  const seg = path.join(dir, 'seg');
  const b = Buffer.alloc(8192);
  b.write('RING', 0, 'latin1');
  b.writeUInt32LE(41, 8);
  fs.writeFileSync(seg, b);
  const base = path.join(dir, 'base.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', base])).code, 0);
  const copy = path.join(dir, 'copy');
  const l = Buffer.from(b);
  l.writeUInt32LE(42, 8); // the guest advanced head
  l[0x1000] = 0x11; // and wrote a byte the segment also changed (conflict)
  fs.writeFileSync(copy, l);
  const local = path.join(dir, 'local.shmsnap');
  assert.equal((await runCli(['snapshot', copy, '-o', local])).code, 0);
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, Buffer.from([0x22]), 0, 1, 0x1000); // conflict
  fs.writeSync(fd, Buffer.from([7]), 0, 1, 12); // tail moved in the segment only
  fs.closeSync(fd);
  return { seg, base, local };
}

test('reconnect --role peer: nothing written, the guest changes reported as discarded', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { seg, base, local } = await scene(dir);
  const before = fs.readFileSync(seg);
  const r = await runCli(['reconnect', seg, '--base', base, '--local', local, '--role', 'peer', '--layout', path.join(ROOT, 'examples', 'ring.shmlayout.json')]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.readFileSync(seg).equals(before), 'role=peer wrote into the segment');
  assert.match(r.stdout, /0x8 \+1 {2}local\n {2}0xc \+1 {2}remote\n {2}0x1000 \+1 {2}conflict/);
  assert.match(r.stdout, /header\.head \[local\]: 41 \/ 42 \/ 41/);
  assert.match(r.stdout, /header\.tail \[remote\]: 0 \/ 0 \/ 7/);
  assert.match(r.stdout, /role=peer: the segment wins; 2 byte\(s\) of the guest's changes are discarded:\n {2}discarded 0x8 \+1 \(local\)\n {2}discarded 0x1000 \+1 \(conflict\)/);
});

test('reconnect --role master: --dry-run writes nothing; then the guest copy is written back and verified', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { seg, base, local } = await scene(dir);
  const before = fs.readFileSync(seg);
  const dry = JSON.parse((await runCli(['reconnect', seg, '--base', base, '--local', local, '--role', 'master', '--dry-run', '--json'])).stdout);
  assert.equal(dry.applied, undefined);
  assert.deepEqual(dry.plan.writes, [{ offset: 8, length: 1 }, { offset: 12, length: 1 }, { offset: 0x1000, length: 1 }]);
  assert.ok(fs.readFileSync(seg).equals(before), '--dry-run wrote into the segment');
  const ino = fs.statSync(seg).ino;
  const r = JSON.parse((await runCli(['reconnect', seg, '--base', base, '--local', local, '--role', 'master', '--json'])).stdout);
  assert.deepEqual(r.applied, { written: dry.plan.writes, verified: true });
  const after = fs.readFileSync(seg);
  assert.equal(after.readUInt32LE(8), 42);
  assert.equal(after.readUInt32LE(12), 0, 'the segment-only change survived a master write-back');
  assert.equal(after[0x1000], 0x11);
  assert.equal(fs.statSync(seg).ino, ino, 'written in place');
});

test('reconnect: bad input', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { seg, base, local } = await scene(dir);
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, Buffer.alloc(4096));
  const otherSnap = path.join(dir, 'other.shmsnap');
  await runCli(['snapshot', other, '-o', otherSnap]);
  const cases: [string[], number, RegExp][] = [
    [['reconnect', seg, '--local', local, '--role', 'peer'], 1, /--base SNAP and --local SNAP are required/],
    [['reconnect', seg, '--base', base, '--local', local], 1, /--role must be master or peer/],
    [['reconnect', seg, '--base', base, '--local', local, '--role', 'boss'], 1, /--role must be master or peer, got "boss"/],
    [['reconnect', seg, '--base', otherSnap, '--local', local, '--role', 'peer'], 2, /--base .*other\.shmsnap is 4096 bytes, the segment 8192: snapshots of a different segment/],
    [['reconnect', base, '--base', base, '--local', local, '--role', 'peer'], 2, /is a snapshot: reconnect needs the live segment/],
    [['reconnect', seg, '--base', path.join(dir, 'nope'), '--local', local, '--role', 'peer'], 2, /no such file/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
