import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli, xxd } from '../helpers/cli';
import { QtestMachine } from '../helpers/qemu';
import { tempDir } from '../helpers/temp';

/**
 * A real QEMU guest (ivshmem-plain on a backing file under /dev/shm) writes into its BAR2 through
 * qtest; the CLI must see exactly those bytes at exactly those offsets.
 */
const SIZE = 1 << 20;

async function guest(t: { after: (fn: () => unknown) => void }): Promise<{ machine: QtestMachine; file: string; dir: string }> {
  const { dir, cleanup } = tempDir('shmem-inspect-qemu-');
  const file = path.join(dir, 'ivshmem');
  fs.writeFileSync(file, Buffer.alloc(SIZE));
  const started: QtestMachine[] = [];
  t.after(async () => {
    for (const m of started) await m.quit();
    cleanup();
  });
  const machine = await QtestMachine.withBackingFile(file, SIZE);
  started.push(machine);
  return { machine, file, dir };
}

/** The guest's writes, applied to a plain buffer the way x86 stores them (little-endian). */
const WRITES = [
  { op: 'l', offset: 0x0, value: 0xdeadbeef },
  { op: 'q', offset: 0x18, value: 0x0102030405060708n },
  { op: 'b', offset: 0xfff, value: 0x7e },
  { op: 'l', offset: 0x1000, value: 0x64636261 },
  { op: 'q', offset: SIZE - 8, value: 0xfedcba9876543210n },
] as const;

async function applyWrites(machine: QtestMachine, expected: Buffer): Promise<void> {
  for (const w of WRITES) {
    if (w.op === 'l') {
      await machine.writel(w.offset, w.value);
      expected.writeUInt32LE(w.value, w.offset);
    } else if (w.op === 'q') {
      await machine.writeq(w.offset, w.value);
      expected.writeBigUInt64LE(w.value, w.offset);
    } else {
      await machine.writeb(w.offset, w.value);
      expected[w.offset] = w.value;
    }
  }
}

test('dump shows exactly the bytes a QEMU guest wrote into BAR2, in xxd format', async (t) => {
  const { machine, file, dir } = await guest(t);
  const expected = Buffer.alloc(SIZE);
  await applyWrites(machine, expected);
  assert.equal(await machine.readl(0), 0xdeadbeef, 'the guest reads back its own write');
  const expectedFile = path.join(dir, 'expected');
  fs.writeFileSync(expectedFile, expected);
  const whole = await runCli(['dump', file]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(whole.stdout, xxd([expectedFile]));
  const part = await runCli(['dump', file, '--offset', '0x10', '--length', '0x10']);
  assert.equal(part.stdout, '00000010: 0000 0000 0000 0000 0807 0605 0403 0201  ................\n');
  const tail = await runCli(['dump', file, '--offset', String(SIZE - 8)]);
  assert.equal(tail.stdout, '000ffff8: 1032 5476 98ba dcfe                      .2Tv....\n');
});

test('watch reports each guest write as it happens, at its offset, old and new bytes', async (t) => {
  const { machine, file } = await guest(t);
  const proc = new CliProcess(['watch', file, '--interval', '10', '--json']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/watching/, 'stderr');
  await machine.writel(0x100, 0x11223344);
  const first = JSON.parse(await proc.waitFor(/"offset":256/));
  assert.deepEqual([first.offset, first.length, first.old, first.new], [256, 4, '00000000', '44332211']);
  await machine.writel(0x100, 0x11223355);
  const second = JSON.parse(await proc.waitFor(/"old":"44","new":"55"/));
  assert.equal(second.offset, 256);
  await machine.writeq(SIZE - 8, 0x8877665544332211n);
  const third = JSON.parse(await proc.waitFor(new RegExp(`"offset":${SIZE - 8}`)));
  assert.equal(third.new, '1122334455667788');
  // Guest exits: the backing file stays, so the watch stays live (no false disconnect). Shown by a
  // write after QEMU is gone that the watch still reports, not by waiting to see nothing happen.
  await machine.quit();
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, 0x200);
  fs.closeSync(fd);
  const after = JSON.parse(await proc.waitFor(/"offset":512,/));
  assert.deepEqual([after.old, after.new], ['00', '5a']);
  assert.equal(proc.lines.some((l) => l.includes('"disconnected"')), false, 'a false disconnect');
  assert.equal(proc.child.exitCode, null);
  proc.child.kill('SIGINT');
  assert.equal((await proc.exited).code, 130, 'Ctrl-C ends a watch as every command: 130');
});

test('a snapshot of the live segment holds the guest writes and verifies', async (t) => {
  const { machine, file, dir } = await guest(t);
  const expected = Buffer.alloc(SIZE);
  await applyWrites(machine, expected);
  const snap = path.join(dir, 'guest.shmsnap');
  const r = await runCli(['snapshot', file, '-o', snap]);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse((await runCli(['info', snap, '--json'])).stdout);
  assert.equal(info.badBlocks, 0);
  assert.equal(info.size, SIZE);
  const data = fs.readFileSync(snap).subarray(info.dataOffset);
  assert.ok(data.equals(expected), 'the snapshot data differs from what the guest wrote');
  // A guest write after the capture changes the segment, not the snapshot.
  await machine.writel(0x0, 0);
  const later = await runCli(['dump', snap, '--length', '4']);
  assert.equal(later.stdout, '00000000: efbe adde                                ....\n');
});

test('watch --layout names the field a QEMU guest writes through its BAR', async (t) => {
  const { machine, file, dir } = await guest(t);
  const layout = path.join(dir, 'guest.shmlayout.json');
  fs.writeFileSync(layout, JSON.stringify({
    regions: [
      { name: 'ctrl', offset: 0, fields: [{ name: 'doorbell', type: 'u32' }, { name: 'state', type: 'u32', enum: { IDLE: 0, RUNNING: 1 } }, { name: 'counter', type: 'u64' }] },
      { name: 'mailbox', offset: '0x1000', type: 'char[16]' },
    ],
  }));
  const proc = new CliProcess(['watch', file, '--layout', layout, '--interval', '10', '--length', '0x2000']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/watching/, 'stderr');
  await machine.writel(4, 1);
  assert.match(await proc.waitFor(/ctrl\.state/), /ctrl\.state: IDLE \(0\) -> RUNNING \(1\)$/);
  await machine.writeq(8, 0x100000001n);
  assert.match(await proc.waitFor(/ctrl\.counter/), /ctrl\.counter: 0 -> 4294967297$/);
  await machine.writel(0x1000, 0x6f6c6568); // "helo", as the guest's little-endian store puts it
  assert.match(await proc.waitFor(/mailbox/), /mailbox: "" -> "helo"$/);
});

test('a guest changes bytes between two snapshots: diff lists exactly those ranges', async (t) => {
  const { machine, file, dir } = await guest(t);
  await machine.writel(0x100, 0x01020304);
  const before = path.join(dir, 'before.shmsnap');
  assert.equal((await runCli(['snapshot', file, '-o', before, '--consistent'])).code, 0);
  // Three guest stores: 4 bytes at 0x2000, 1 byte at the last byte of a page, 8 bytes across a page edge.
  await machine.writel(0x2000, 0xaabbccdd);
  await machine.writeb(0x3fff, 0x5a);
  await machine.writeq(0x4ffc, 0x1122334455667788n);
  const after = path.join(dir, 'after.shmsnap');
  assert.equal((await runCli(['snapshot', file, '-o', after])).code, 0);
  const r = await runCli(['diff', before, after, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.deepEqual(d.ranges, [{ offset: 0x2000, length: 4 }, { offset: 0x3fff, length: 1 }, { offset: 0x4ffc, length: 8 }]);
  assert.equal(d.changedBytes, 13);
  // And the live segment against the first snapshot says the same.
  const live = JSON.parse((await runCli(['diff', before, file, '--json'])).stdout);
  assert.deepEqual(live.ranges, d.ranges);
});

test('role=peer and role=master against a QEMU guest that kept writing while we were disconnected', async (t) => {
  const { machine, file, dir } = await guest(t);
  await machine.writel(0x0, 0x11111111);
  // Disconnect: the guest-side copy at this moment is the base.
  const base = path.join(dir, 'base.shmsnap');
  assert.equal((await runCli(['snapshot', file, '-o', base])).code, 0);
  // While we are disconnected, the guest writes into the segment...
  await machine.writel(0x100, 0x22222222);
  // ...and our guest-side copy gets edited (a copy of the base with one change).
  const copy = path.join(dir, 'copy');
  const edited = fs.readFileSync(base).subarray(JSON.parse((await runCli(['info', base, '--json'])).stdout).dataOffset);
  const local = Buffer.from(edited);
  local.writeUInt32LE(0x33333333, 0x200);
  fs.writeFileSync(copy, local);
  const localSnap = path.join(dir, 'local.shmsnap');
  assert.equal((await runCli(['snapshot', copy, '-o', localSnap])).code, 0);

  // role=peer: the guest's bytes survive; our edit is reported as discarded; nothing written.
  const peer = JSON.parse((await runCli(['reconnect', file, '--base', base, '--local', localSnap, '--role', 'peer', '--json'])).stdout);
  assert.deepEqual(peer.plan.lost, [{ offset: 0x200, length: 4, kind: 'local' }]);
  assert.deepEqual(peer.plan.kept, [{ offset: 0x100, length: 4, kind: 'remote' }]);
  assert.equal(await machine.readl(0x100), 0x22222222);
  assert.equal(await machine.readl(0x200), 0);

  // role=master: our copy is written back; the guest reads our bytes, and its own write is gone.
  const master = JSON.parse((await runCli(['reconnect', file, '--base', base, '--local', localSnap, '--role', 'master', '--json'])).stdout);
  assert.equal(master.applied.verified, true);
  assert.deepEqual(master.plan.lost, [{ offset: 0x100, length: 4, kind: 'remote' }]);
  assert.equal(await machine.readl(0x200), 0x33333333);
  assert.equal(await machine.readl(0x100), 0);
  assert.equal(await machine.readl(0x0), 0x11111111);
});
