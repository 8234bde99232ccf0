import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { ROOT, tempDir } from '../helpers/temp';
import { decodeHeader, encodeHeader, headerLength } from '../../core/snapshot/format';

const RING = path.join(ROOT, 'examples', 'ring.shmlayout.json');

function ringSegment(file: string): Buffer {
  const b = Buffer.alloc(8192);
  b.write('RING', 0, 'latin1');
  b.writeUInt32LE(1, 4);
  b.writeUInt32LE(41, 8);
  b.writeUInt32LE(40, 12);
  b.writeBigUInt64LE(1234n, 16);
  b.writeUInt32LE(64, 24);
  b.writeUInt32LE(64, 28);
  b.writeBigUInt64LE(7n, 0x100 + 64 * 3);
  b.write('hello', 0x100 + 64 * 3 + 16, 'latin1');
  fs.writeFileSync(file, b);
  return b;
}

test('dump --layout prints each field decoded, with its offset and type', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  ringSegment(seg);
  const r = await runCli(['dump', seg, '--layout', RING, '--length', '0x200']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 7), [
    'header.magic @0x0 char[4] = "RING"',
    'header.version @0x4 u32 = 1',
    'header.head @0x8 u32 = 41',
    'header.tail @0xc u32 = 40',
    'header.seq @0x10 u64 = 1234',
    'header.slotSize @0x18 u32 = 64',
    'header.slotCount @0x1c u32 = 64',
  ]);
  assert.ok(lines.includes('slots[3].seq @0x1c0 u64 = 7'));
  assert.ok(lines.includes('slots[3].text @0x1d0 char[48] = "hello"'));
  assert.equal(lines.filter((l) => l.startsWith('slots[')).length, 4 * 3, 'only the slots inside --length');
});

test('watch --layout names the field that changed: header.head: 41 -> 42', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  ringSegment(seg);
  for (const json of [false, true]) {
    const proc = new CliProcess(['watch', seg, '--layout', RING, '--interval', '10', ...(json ? ['--json'] : [])]);
    t.after(() => proc.child.kill('SIGKILL'));
    await proc.waitFor(/watching/, 'stderr');
    const fd = fs.openSync(seg, 'r+');
    // Only the low byte of head changes: the whole field is decoded anyway.
    fs.writeSync(fd, Buffer.from([42]), 0, 1, 8);
    fs.writeSync(fd, Buffer.from('bye!!'), 0, 5, 0x100 + 64 * 3 + 16);
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 0x80);
    fs.closeSync(fd);
    if (json) {
      const e = JSON.parse(await proc.waitFor(/"field":"header.head"/));
      assert.deepEqual([e.field, e.offset, e.length, e.old, e.new], ['header.head', 8, 4, '41', '42']);
      await proc.waitFor(/"field":"slots\[3\].text".*"old":"\\"hello\\"","new":"\\"bye!!\\""/);
    } else {
      assert.match(await proc.waitFor(/header\.head/), /Z header\.head: 41 -> 42$/);
      await proc.waitFor(/slots\[3\]\.text: "hello" -> "bye!!"$/);
      // A byte outside every field is printed raw.
      await proc.waitFor(/0x80 \+1: 00 -> ff$/);
    }
    proc.child.kill('SIGINT');
    await proc.exited;
    ringSegment(seg);
  }
});

test('a bad layout is refused with FILE:LINE:COLUMN, or with what lies past the segment', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  ringSegment(seg);
  const bad = path.join(dir, 'bad.shmlayout.json');
  fs.writeFileSync(bad, '{\n  "regions": [\n    { "name": "x", "offset": 0, "type": "u24" }\n  ]\n}\n');
  const past = path.join(dir, 'past.shmlayout.json');
  fs.writeFileSync(past, '{ "regions": [ { "name": "far", "offset": 8190, "type": "u32" } ] }');
  const cases: [string[], RegExp][] = [
    [['dump', seg, '--layout', bad], new RegExp(`^shmem-inspect: ${bad.replace(/[.]/g, '\\.')}:3:33: unknown type "u24"`)],
    [['watch', seg, '--layout', bad], /:3:33: unknown type "u24"/],
    [['dump', seg, '--layout', past], /region "far" \(0x1ffe..0x2002\) runs past the end of the segment \(size 0x2000\)/],
    [['dump', seg, '--layout', path.join(dir, 'missing.json')], /cannot read the layout .*missing\.json: no such file/],
    [['dump', seg, '--layout', 'embedded'], /carries no layout/],
    [['snapshot', seg, '-o', path.join(dir, 's.shmsnap'), '--layout', bad], /unknown type "u24"/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  assert.equal(fs.existsSync(path.join(dir, 's.shmsnap')), false);
});

test('a snapshot embeds its layout; dump --layout embedded decodes with it', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  ringSegment(seg);
  const snap = path.join(dir, 'ring.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', snap, '--layout', RING])).code, 0);
  const info = JSON.parse((await runCli(['info', snap, '--json'])).stdout);
  assert.equal(info.embeddedLayoutBytes, fs.statSync(RING).size);
  const r = await runCli(['dump', snap, '--layout', 'embedded', '--length', '0x20']);
  assert.match(r.stdout, /^header\.magic @0x0 char\[4\] = "RING"\n/);
  assert.match(r.stdout, /header\.head @0x8 u32 = 41/);
  // Without --layout, dump stays a plain xxd dump.
  assert.match((await runCli(['dump', snap, '--length', '16'])).stdout, /^00000000: 5249 4e47/);
});

test('a layout nested thousands of levels deep, in a file or embedded in a snapshot: exit 2 with FILE:LINE:COLUMN, no stack trace', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  ringSegment(seg);
  const deep = path.join(dir, 'deep.shmlayout.json');
  fs.writeFileSync(deep, `{\n  "regions": ${'['.repeat(5000)}${']'.repeat(5000)}\n}\n`);
  for (const command of ['dump', 'watch', 'diff']) {
    const r = await runCli(command === 'diff' ? ['diff', seg, seg, '--layout', deep] : [command, seg, '--layout', deep]);
    assert.equal(r.code, 2, `${command}: ${r.stderr}`);
    assert.equal(r.stderr, `shmem-inspect: ${deep}:2:77: the JSON nests deeper than 64 levels (a layout needs far fewer)\n`);
  }
  // A snapshot carrying such a layout (made by rewriting a good snapshot's header).
  const snap = path.join(dir, 'ring.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', snap, '--layout', RING])).code, 0);
  const file = fs.readFileSync(snap);
  const header = decodeHeader(file.subarray(0, file.readUInt32LE(12)), file.length);
  const layout = `{ "regions": ${'['.repeat(3000)}${']'.repeat(3000)} }`;
  const bigger = headerLength(Buffer.byteLength(header.source), layout.length, 0, header.blockChecksums.length);
  const evil = path.join(dir, 'evil.shmsnap');
  fs.writeFileSync(evil, Buffer.concat([encodeHeader({ ...header, layout, headerLength: bigger }), file.subarray(header.headerLength)]));
  const info = await runCli(['info', evil]);
  assert.equal(info.code, 0, info.stderr);
  const r = await runCli(['dump', evil, '--layout', 'embedded']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `shmem-inspect: the layout embedded in ${evil}:1:77: the JSON nests deeper than 64 levels (a layout needs far fewer)\n`);
});
