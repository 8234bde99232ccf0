import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { seededBytes, tempDir } from '../helpers/temp';

const MIB = 1 << 20;

/** Flips one data byte at each segment offset of a snapshot file; the header (and its CRC) stays valid. */
function damage(snap: string, offsets: number[]): void {
  const fd = fs.openSync(snap, 'r+');
  const head = Buffer.alloc(16);
  fs.readSync(fd, head, 0, 16, 0);
  const dataOffset = head.readUInt32LE(12);
  for (const at of offsets) {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, dataOffset + at);
    b[0] = b[0]! ^ 0x40;
    fs.writeSync(fd, b, 0, 1, dataOffset + at);
  }
  fs.closeSync(fd);
}

/** A 1 MiB segment, a good snapshot of it, and a copy whose blocks 3, 4 and 10 (64 KiB each) are damaged. */
async function scene(dir: string): Promise<{ seg: string; good: string; bad: string; data: Buffer }> {
  const seg = path.join(dir, 'seg');
  const data = seededBytes(MIB, 77);
  fs.writeFileSync(seg, data);
  const good = path.join(dir, 'good.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', good])).code, 0);
  const bad = path.join(dir, 'bad.shmsnap');
  fs.copyFileSync(good, bad);
  damage(bad, [0x30010, 0x4ffff, 0xa0000]);
  return { seg, good, bad, data };
}

const RANGES = '0x30000..0x50000, 0xa0000..0xb0000';

test('dump never prints a byte of a block that fails its checksum: exit 2, the ranges named', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { bad, data } = await scene(dir);
  // Blocks that check out are dumped as before.
  const head = await runCli(['dump', bad, '--length', '32']);
  assert.equal(head.code, 0, head.stderr);
  assert.equal(head.stdout.slice(10, 14), data.subarray(0, 2).toString('hex'));
  for (const args of [['dump', bad], ['dump', bad, '--offset', '0x4fff0', '--length', '16'], ['dump', bad, '--offset', '0xa0000', '--length', '1']]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', 'bytes of a damaged block were printed');
    assert.match(r.stderr, new RegExp(`^shmem-inspect: ${bad.replace(/[.]/g, '\\.')} is damaged: the data at 0x[0-9a-f]+\\.\\.0x[0-9a-f]+(, 0x[0-9a-f]+\\.\\.0x[0-9a-f]+)? does not match its checksum\\n$`));
  }
  const whole = await runCli(['dump', bad]);
  assert.match(whole.stderr, new RegExp(`the data at ${RANGES} does not match`));
  // watch reads through the same check.
  const watch = new CliProcess(['watch', bad]);
  t.after(() => watch.child.kill('SIGKILL'));
  const { code } = await watch.exited;
  assert.equal(code, 2, watch.stderr);
  assert.match(watch.stderr, /is damaged: the data at 0x30000\.\.0x50000, 0xa0000\.\.0xb0000/);
});

test('diff with a damaged snapshot: the result is printed with the untrusted ranges marked, stderr names them, exit 2', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { seg, good, bad } = await scene(dir);
  const text = await runCli(['diff', bad, good]);
  assert.equal(text.code, 2, text.stderr);
  // The flipped bytes differ, and each range lies in a damaged block.
  assert.match(text.stdout, /3 byte\(s\) differ in 3 range\(s\):\n {2}0x30010 \+1 {2}\(untrusted: A damaged here\)\n {2}0x4ffff \+1 {2}\(untrusted: A damaged here\)\n {2}0xa0000 \+1 {2}\(untrusted: A damaged here\)\n/);
  assert.match(text.stdout, new RegExp(`untrusted: A fails its checksum at ${RANGES}\\n`));
  assert.equal(text.stderr, `shmem-inspect: A: ${bad} is damaged: the data at ${RANGES} does not match its checksum; the diff there cannot be trusted\n`);
  // On the B side, and in JSON; --exit-code does not hide the trouble.
  const json = await runCli(['diff', seg, bad, '--json', '--exit-code']);
  assert.equal(json.code, 2, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout).damaged, [{ side: 'b', source: bad, ranges: [{ offset: 0x30000, length: 0x20000 }, { offset: 0xa0000, length: 0x10000 }] }]);
  // Good snapshots: no mark, exit 0.
  const clean = await runCli(['diff', good, seg, '--json']);
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(JSON.parse(clean.stdout).damaged, []);
  assert.equal(clean.stderr, '');
});

test('reconnect refuses a damaged --base or --local before anything is written (role=master exits 2, the segment untouched)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { seg, good, bad } = await scene(dir);
  // The segment moved on: a master write-back would have something to write.
  const fd = fs.openSync(seg, 'r+');
  fs.writeSync(fd, Buffer.from('segment moved'), 0, 13, 0x30010);
  fs.closeSync(fd);
  const before = fs.readFileSync(seg);
  const mtime = fs.statSync(seg).mtimeMs;
  for (const [base, local, which] of [[good, bad, '--local'], [bad, good, '--base']] as const) {
    for (const extra of [['--role', 'master'], ['--role', 'master', '--json'], ['--role', 'peer'], ['--role', 'master', '--dry-run']]) {
      const r = await runCli(['reconnect', seg, '--base', base, '--local', local, ...extra]);
      assert.equal(r.code, 2, `${which} ${extra.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'a report was printed from damaged data');
      assert.equal(r.stderr, `shmem-inspect: ${which} ${which === '--base' ? base : local} is damaged: the data at ${RANGES} does not match its checksum; nothing was written\n`);
    }
  }
  assert.ok(fs.readFileSync(seg).equals(before), 'the segment was written');
  assert.equal(fs.statSync(seg).mtimeMs, mtime);
});
