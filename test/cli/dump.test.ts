import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, xxd } from '../helpers/cli';
import { rng, seededBytes, tempDir } from '../helpers/temp';

test('dump equals xxd byte for byte over many offsets and lengths (seeded)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, seededBytes(100_003, 11));
  const whole = await runCli(['dump', file]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(whole.stdout, xxd([file]));
  const random = rng(5);
  const cases: [number, number | undefined][] = [[0, 1], [1, 15], [3, 1001], [16, 16], [99_999, 4], [100_003, undefined], [7, undefined]];
  for (let i = 0; i < 20; i++) {
    const offset = random(100_003);
    cases.push([offset, random(100_003 - offset + 1)]);
  }
  for (const [offset, length] of cases) {
    const args = ['--offset', i2s(offset, offset % 2 === 0)];
    if (length !== undefined) args.push('--length', String(length));
    const ours = await runCli(['dump', file, ...args]);
    assert.equal(ours.code, 0, ours.stderr);
    const theirs = xxd(['-s', String(offset), ...(length !== undefined ? ['-l', String(length)] : []), file]);
    assert.equal(ours.stdout, theirs, `offset ${offset} length ${length}`);
  }
});

function i2s(n: number, asHex: boolean): string {
  return asHex ? `0x${n.toString(16)}` : String(n);
}

test('dump equals xxd past 4 GiB on a sparse segment, across the 2^32 line', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'big');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 5 * 2 ** 30);
  fs.writeSync(fd, Buffer.from('before 4 GiB|after 4 GiB'), 0, 24, 2 ** 32 - 12);
  fs.writeSync(fd, Buffer.from('past 2 GiB'), 0, 10, 2 ** 31 + 5);
  fs.closeSync(fd);
  for (const [offset, length] of [[2 ** 32 - 40, 100], [2 ** 31, 64], [5 * 2 ** 30 - 33, 33]] as const) {
    const ours = await runCli(['dump', file, '--offset', `0x${offset.toString(16)}`, '--length', String(length)]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, xxd(['-s', String(offset), '-l', String(length), file]));
  }
  const ours = await runCli(['dump', file, '--offset', String(2 ** 32 - 12), '--length', '24']);
  assert.match(ours.stdout, /^fffffff4: .*before 4 GiB\|aft\n100000004: .*er 4 GiB\n$/);
});

test('a dump piped into head ends quietly with exit 0', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, seededBytes(8 * 1024 * 1024, 12));
  const r = spawnSync('/bin/bash', ['-c', `"${process.execPath}" "${CLI}" dump "${file}" | head -n 2; echo "rc=\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.equal(`${lines[0]}\n${lines[1]}\n`, xxd(['-l', '32', file]));
  assert.equal(lines[2], 'rc=0');
  assert.equal(r.stderr, '');
});

test('dump of a snapshot equals xxd of the segment it was taken from', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, seededBytes(300_000, 13));
  const snap = path.join(dir, 's.shmsnap');
  assert.equal((await runCli(['snapshot', file, '-o', snap])).code, 0);
  const ours = await runCli(['dump', snap, '--offset', '0x1000', '--length', '5000']);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stdout, xxd(['-s', '4096', '-l', '5000', file]));
});
