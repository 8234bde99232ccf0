import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { findChanges } from '../../core/watch/changes';
import { RangeWatcher } from '../../core/watch/range-watcher';
import { MemorySource } from '../../core/sources/memory-source';
import type { Source } from '../../core/source';
import { rng, seededBytes } from '../helpers/temp';

/** The obvious byte-by-byte definition, to compare the page-skipping version against. */
function reference(a: Uint8Array, b: Uint8Array, base: number): { offset: number; before: number[]; after: number[] }[] {
  const out: { offset: number; before: number[]; after: number[] }[] = [];
  let cur: (typeof out)[number] | undefined;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (!cur) out.push((cur = { offset: base + i, before: [], after: [] }));
      cur.before.push(a[i]!);
      cur.after.push(b[i]!);
    } else cur = undefined;
  }
  return out;
}

test('findChanges equals a byte-by-byte reference on random edits (seeded)', () => {
  const random = rng(2024);
  for (let round = 0; round < 300; round++) {
    const length = 1 + random(40000);
    const a = seededBytes(length, round + 1);
    const b = Buffer.from(a);
    const edits = random(20);
    for (let e = 0; e < edits; e++) {
      const at = random(length);
      const n = 1 + random(Math.min(9000, length - at));
      for (let i = at; i < at + n; i++) if (random(3) > 0) b[i] = random(256);
    }
    const base = round % 2 ? 2 ** 32 - 5000 : 0;
    const got = findChanges(a, b, base).map((c) => ({ offset: c.offset, before: [...c.before], after: [...c.after] }));
    assert.deepEqual(got, reference(a, b, base), `round ${round}`);
  }
});

test('runs that cross a page boundary stay one run; copies survive buffer reuse', () => {
  const a = new Uint8Array(8192);
  const b = new Uint8Array(8192);
  b.fill(1, 4090, 4100);
  const changes = findChanges(a, b, 0);
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.offset, 4090);
  assert.equal(changes[0]!.after.length, 10);
  b.fill(0);
  assert.equal(changes[0]!.after[0], 1);
  assert.deepEqual(findChanges(a, a, 0), []);
});

test('findChanges is the same on 4-byte aligned buffers (word compare) and on unaligned views of them', () => {
  const random = rng(77);
  for (let round = 0; round < 200; round++) {
    const length = 1 + random(20000);
    const backingA = new Uint8Array(length + 3);
    const backingB = new Uint8Array(length + 3);
    const shiftA = round % 4 === 0 ? 0 : random(4);
    const shiftB = round % 4 === 0 ? 0 : random(4);
    const a = backingA.subarray(shiftA, shiftA + length);
    const b = backingB.subarray(shiftB, shiftB + length);
    a.set(seededBytes(length, round + 1));
    b.set(a);
    for (let e = random(30); e > 0; e--) {
      const at = random(length);
      for (let i = at; i < Math.min(length, at + 1 + random(40)); i++) if (random(4) > 0) b[i] = random(256);
    }
    const got = findChanges(a, b, 7).map((c) => ({ offset: c.offset, before: [...c.before], after: [...c.after] }));
    assert.deepEqual(got, reference(a, b, 7), `round ${round} (shifts ${shiftA}, ${shiftB})`);
  }
});

test('RangeWatcher finds the same changes through a mapping (compared in place) as through reads', () => {
  const random = rng(99);
  const size = 5 * 4096 + 123;
  const bytes = seededBytes(size, 5);
  const mapped = new MemorySource(bytes, 'mapped');
  // The same bytes as a source without a mapping (like a sparse file, read with pread).
  const readOnly: Source = new MemorySource(bytes, 'read');
  readOnly.view = () => undefined;
  const ranges = [{ offset: 0, length: 9000 }, { offset: 9000, length: size - 9000 }];
  const a = new RangeWatcher(mapped, ranges);
  const b = new RangeWatcher(readOnly, ranges);
  let before = Buffer.from(bytes);
  for (let round = 0; round < 300; round++) {
    for (let e = random(6); e > 0; e--) {
      const at = random(size);
      // Runs that cross page edges and range edges too.
      for (let i = at; i < Math.min(size, at + 1 + random(random(4) === 0 ? 9000 : 30)); i++) if (random(3) > 0) bytes[i] = random(256);
    }
    const expected = ranges.flatMap((r) => reference(before.subarray(r.offset, r.offset + r.length), bytes.subarray(r.offset, r.offset + r.length), r.offset));
    for (const w of [a, b]) {
      const got = w.tick().changes.map((c) => ({ offset: c.offset, before: [...c.before], after: [...c.after] }));
      assert.deepEqual(got, expected, `round ${round}, ${w === a ? 'mapped' : 'read'}`);
      assert.ok(Buffer.concat(w.last.map((l) => Buffer.from(l))).equals(bytes));
    }
    before = Buffer.from(bytes);
  }
});
