import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { QtestMachine } from '../helpers/qemu';
import { waitForRecorded } from '../helpers/recording';
import { tempDir } from '../helpers/temp';

/**
 * A real QEMU guest (ivshmem-plain on a /dev/shm backing file) runs a small ring-buffer protocol
 * through qtest while `record` runs: fill a slot, then move the head. Each store waits until the
 * recording has it, so no two stores share a sample (a recording is as fine as its interval; this
 * test is about exactness, not pace). history must list exactly the guest's sequence, and replay
 * at each step must rebuild exactly the guest's bytes.
 */
const SIZE = 1 << 20;

type Store = { op: 'l' | 'q' | 'b'; offset: number; value: bigint };

const STORES: Store[] = [];
for (let i = 0; i < 4; i++) {
  STORES.push({ op: 'l', offset: 0x1000 + i * 0x40, value: BigInt(i + 1) }); // slot[i].seq
  STORES.push({ op: 'q', offset: 0x1008 + i * 0x40, value: 0x1122334455667700n + BigInt(i) }); // slot[i].data
  STORES.push({ op: 'l', offset: 0x0, value: BigInt(i + 1) }); // header.head
}
STORES.push({ op: 'b', offset: SIZE - 1, value: 0x7en }); // the last byte of the BAR
STORES.push({ op: 'l', offset: 0x4, value: 0xdeadbeefn }); // header.state

const WIDTH = { l: 4, q: 8, b: 1 } as const;

function apply(expected: Buffer, s: Store): void {
  if (s.op === 'l') expected.writeUInt32LE(Number(s.value), s.offset);
  else if (s.op === 'q') expected.writeBigUInt64LE(s.value, s.offset);
  else expected[s.offset] = Number(s.value);
}

test('record a QEMU guest: history lists exactly its stores, replay rebuilds its bytes at every step', async (t) => {
  const { dir, cleanup } = tempDir('shmem-inspect-qemu-');
  const file = path.join(dir, 'ivshmem');
  fs.writeFileSync(file, Buffer.alloc(SIZE));
  const machine = await QtestMachine.withBackingFile(file, SIZE);
  t.after(async () => {
    await machine.quit();
    cleanup();
  });
  const layout = path.join(dir, 'ring.shmlayout.json');
  fs.writeFileSync(layout, JSON.stringify({
    types: { slot: { fields: [{ name: 'seq', type: 'u32' }, { name: 'pad', type: 'u32' }, { name: 'data', type: 'u64' }] } },
    regions: [
      { name: 'header', offset: 0, fields: [{ name: 'head', type: 'u32' }, { name: 'state', type: 'u32', enum: { IDLE: 0, BUSY: 0xdeadbeef } }] },
      { name: 'slots', offset: '0x1000', count: 4, type: 'slot', stride: 64 },
    ],
  }));
  const rec = path.join(dir, 'guest.shmrec');
  const proc = new CliProcess(['record', file, '-o', rec, '--interval', '10', '--layout', layout]);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/Ctrl-C stops/, 'stderr', 20_000);

  const expected = Buffer.alloc(SIZE);
  const steps: { store: Store; time: number; state: Buffer }[] = [];
  for (const s of STORES) {
    if (s.op === 'l') await machine.writel(s.offset, Number(s.value));
    else if (s.op === 'q') await machine.writeq(s.offset, s.value);
    else await machine.writeb(s.offset, Number(s.value));
    apply(expected, s);
    const time = await waitForRecorded(rec, s.offset, expected.subarray(s.offset, s.offset + WIDTH[s.op]));
    steps.push({ store: s, time, state: Buffer.from(expected) });
  }
  assert.equal(await machine.readl(0x0), 4, 'the guest reads back its own head');
  proc.child.kill('SIGINT');
  assert.equal((await proc.exited).code, 0, proc.stderr);

  // Every store is one change, at its own time, in order.
  const info = JSON.parse((await runCli(['info', rec, '--json'])).stdout);
  assert.equal(info.changeSamples, STORES.length);
  assert.equal(info.changedBytes > 0, true);
  assert.deepEqual(info.ended, { reason: 'stopped', message: '' });
  const times = steps.map((s) => s.time);
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  assert.equal(new Set(times).size, times.length);

  // The head's history, raw and by field name: exactly 0 -> 1 -> 2 -> 3 -> 4 at the recorded times.
  const heads = steps.filter((s) => s.store.offset === 0);
  const raw = JSON.parse((await runCli(['history', rec, '--offset', '0', '--length', '4', '--json'])).stdout) as { t: number; old: string; new: string }[];
  const hex4 = (n: number): string => Buffer.from(new Uint32Array([n]).buffer).toString('hex');
  assert.deepEqual(raw.map((h) => [h.t, h.old, h.new]), heads.map((s, k) => [s.time, hex4(k), hex4(k + 1)]));
  const byField = await runCli(['history', rec, '--field', 'header.head']);
  assert.equal(byField.code, 0, byField.stderr);
  assert.deepEqual(byField.stdout.trim().split('\n'), heads.map((s, k) => `t=${s.time.toFixed(3)} header.head: ${k} -> ${k + 1}`));
  const data = JSON.parse((await runCli(['history', rec, '--field', 'slots[2].data', '--json'])).stdout);
  assert.deepEqual(data.map((h: { t: number; old: string; new: string }) => [h.t, h.old, h.new]), [[steps[7]!.time, '0', String(0x1122334455667702n)]]);
  const state = (await runCli(['history', rec, '--field', 'header.state'])).stdout.trim();
  assert.equal(state, `t=${steps.at(-1)!.time.toFixed(3)} header.state: IDLE (0) -> BUSY (3735928559)`);
  const last = JSON.parse((await runCli(['history', rec, '--offset', String(SIZE - 1), '--length', '1', '--json'])).stdout);
  assert.deepEqual(last.map((h: { old: string; new: string }) => [h.old, h.new]), [['00', '7e']]);

  // replay at each step, and just before it: exactly the guest's bytes then.
  for (const [k, s] of steps.entries()) {
    for (const [at, want] of [[s.time, s.state], [s.time - 0.001, k === 0 ? Buffer.alloc(SIZE) : steps[k - 1]!.state]] as const) {
      const snap = path.join(dir, `step-${k}-${at}.shmsnap`);
      const r = await runCli(['replay', rec, '--at', at.toFixed(3), '-o', snap]);
      assert.equal(r.code, 0, r.stderr);
      if (k === 0) assert.equal(JSON.parse((await runCli(['info', snap, '--json'])).stdout).badBlocks, 0, 'the snapshot does not verify');
      const bytes = fs.readFileSync(snap);
      // The data starts at the header length (offset 12 of a .shmsnap header).
      assert.ok(bytes.subarray(bytes.readUInt32LE(12)).equals(want), `replay at ${at} ms (step ${k}) differs from the guest's bytes`);
      fs.rmSync(snap);
    }
  }
});
