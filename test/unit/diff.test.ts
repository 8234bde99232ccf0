import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DIFF_CHUNK, diffSources } from '../../core/diff/diff';
import { summarize } from '../../core/diff/summary';
import { compileLayout } from '../../core/layout/compile';
import { BackingFileSource } from '../../core/sources/backing-file';
import { rng, seededBytes, tempDir } from '../helpers/temp';

/** Writes a and b as files in dir and opens both as backing files (closed by the caller). */
function openPair(dir: string, a: Buffer, b: Buffer): [BackingFileSource, BackingFileSource] {
  fs.writeFileSync(path.join(dir, 'a'), a);
  fs.writeFileSync(path.join(dir, 'b'), b);
  return [BackingFileSource.open(path.join(dir, 'a')), BackingFileSource.open(path.join(dir, 'b'))];
}

/** The obvious definition, byte by byte. */
function reference(a: Buffer, b: Buffer): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    const last = out[out.length - 1];
    if (last && last.offset + last.length === i) last.length++;
    else out.push({ offset: i, length: 1 });
  }
  return out;
}

test('the diff engine equals a byte-by-byte reference on random inputs (many seeds, page edges, the very end)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const random = rng(6);
  for (let round = 0; round < 60; round++) {
    const size = 1 + random(3 * 1024 * 1024);
    const a = seededBytes(size, round + 100);
    const b = Buffer.from(a);
    const spots = [0, size - 1, 4095, 4096, 8191, 16 * 1024 * 1024 - 1].filter((s) => s < size && random(2) === 0);
    for (let i = random(40); i > 0; i--) spots.push(random(size));
    for (const s of spots) {
      const n = 1 + random(Math.min(6000, size - s));
      for (let k = s; k < s + n; k++) b[k] = (b[k]! + 1 + random(255)) & 0xff;
    }
    const extra = random(3) === 0 ? random(5000) : 0;
    const bb = extra ? Buffer.concat([b, seededBytes(extra, round)]) : b;
    const [sa, sb] = openPair(dir, a, bb);
    const r = await diffSources(sa, sb);
    sa.close();
    sb.close();
    const expected = reference(a, bb);
    assert.deepEqual(r.ranges, expected, `round ${round}, size ${size}`);
    assert.equal(r.changedBytes, expected.reduce((s, x) => s + x.length, 0));
    assert.deepEqual(r.tail, extra ? { side: 'b', offset: size, length: extra } : undefined);
  }
});

test('ranges beyond the limit are counted, not listed; a run across a chunk edge stays one range', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const size = 20 * 1024 * 1024;
  const edge = 16 * DIFF_CHUNK;
  const a = Buffer.alloc(size);
  const b = Buffer.alloc(size);
  b.fill(1, edge - 10, edge + 10);
  for (let i = 0; i < 50; i++) b[i * 2] = 9;
  const [sa, sb] = openPair(dir, a, b);
  t.after(() => {
    sa.close();
    sb.close();
  });
  const all = await diffSources(sa, sb);
  assert.equal(all.ranges.length, 51);
  assert.deepEqual(all.ranges.at(-1), { offset: edge - 10, length: 20 });
  const few = await diffSources(sa, sb, { maxRanges: 10 });
  assert.equal(few.ranges.length, 10);
  assert.equal(few.truncated, true);
  assert.equal(few.changedBytes, 70);
});

test('with a layout: bytes per region and each changed field with both values', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const layout = compileLayout(JSON.stringify({ regions: [{ name: 'ring', offset: 0, fields: [{ name: 'head', type: 'u32' }, { name: 'tail', type: 'u32' }] }, { name: 'data', offset: 16, type: 'char[8]' }] })).layout!;
  const a = Buffer.alloc(64);
  const b = Buffer.alloc(64);
  a.writeUInt32LE(41, 0);
  b.writeUInt32LE(42, 0);
  b.write('hi', 16);
  b[40] = 1; // outside every region
  const [sa, sb] = openPair(dir, a, b);
  t.after(() => {
    sa.close();
    sb.close();
  });
  const r = await diffSources(sa, sb);
  const s = summarize(layout, sa, sb, r.ranges);
  assert.deepEqual(s.fields, [
    { field: 'ring.head', offset: 0, length: 4, old: '41', new: '42' },
    { field: 'data', offset: 16, length: 8, old: '""', new: '"hi"' },
  ]);
  assert.deepEqual(s.regions, [
    { name: 'ring', changedBytes: 1, ranges: 1 },
    { name: 'data', changedBytes: 2, ranges: 1 },
    { name: '(outside regions)', changedBytes: 1, ranges: 1 },
  ]);
});
