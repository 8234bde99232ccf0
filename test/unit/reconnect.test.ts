import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { SourceLostError } from '../../core/errors';
import { applyMaster, fieldVerdicts, plan } from '../../core/reconnect/roles';
import { threeWay, type ChangeKind, type ThreeWayRange } from '../../core/reconnect/three-way';
import { compileLayout } from '../../core/layout/compile';
import { MemorySource } from '../../core/sources/memory-source';
import { rng, seededBytes } from '../helpers/temp';

/** The definition, byte by byte. */
function reference(b: Uint8Array, l: Uint8Array, r: Uint8Array): ThreeWayRange[] {
  const out: ThreeWayRange[] = [];
  for (let i = 0; i < b.length; i++) {
    let kind: ChangeKind | undefined;
    if (l[i] === b[i]) kind = r[i] === b[i] ? undefined : 'remote';
    else if (r[i] === b[i]) kind = 'local';
    else kind = l[i] === r[i] ? 'both' : 'conflict';
    if (!kind) continue;
    const last = out[out.length - 1];
    if (last && last.kind === kind && last.offset + last.length === i) last.length++;
    else out.push({ offset: i, length: 1, kind });
  }
  return out;
}

test('the three-way classification equals a byte-by-byte reference on random inputs (seeded)', async () => {
  const random = rng(7);
  for (let round = 0; round < 80; round++) {
    const size = 1 + random(round < 40 ? 20_000 : 9 * 1024 * 1024);
    const base = seededBytes(size, round + 1);
    const local = Buffer.from(base);
    const remote = Buffer.from(base);
    for (let i = random(30); i > 0; i--) {
      const at = random(size);
      const n = 1 + random(Math.min(5000, size - at));
      const which = random(4);
      for (let k = at; k < at + n; k++) {
        const v = random(256);
        if (which === 0 || which === 2) local[k] = v;
        if (which === 1 || which === 2) remote[k] = which === 2 && random(2) ? v : random(256);
        if (which === 3) {
          local[k] = v;
          remote[k] = v;
        }
      }
    }
    const r = await threeWay(new MemorySource(base, 'base'), new MemorySource(local, 'local'), new MemorySource(remote, 'remote'));
    assert.deepEqual(r.ranges, reference(base, local, remote), `round ${round}, size ${size}`);
  }
});

test('what each role keeps and loses; master writes only where local differs from the segment', async () => {
  const base = Buffer.alloc(64);
  const local = Buffer.from(base);
  const remote = Buffer.from(base);
  local[1] = 1; // local only
  remote[3] = 3; // remote only
  local[5] = remote[5] = 5; // both, same
  local[7] = 7;
  remote[7] = 8; // conflict
  const t = await threeWay(new MemorySource(base, 'b'), new MemorySource(local, 'l'), new MemorySource(remote, 'r'));
  assert.deepEqual(t.bytes, { local: 1, remote: 1, both: 1, conflict: 1 });
  const master = plan(t, 'master');
  assert.deepEqual(master.writes, [{ offset: 1, length: 1 }, { offset: 3, length: 1 }, { offset: 7, length: 1 }]);
  assert.deepEqual(master.lost.map((x) => x.kind), ['remote', 'conflict']);
  const peer = plan(t, 'peer');
  assert.deepEqual(peer.writes, []);
  assert.deepEqual(peer.lost.map((x) => [x.offset, x.kind]), [[1, 'local'], [7, 'conflict']]);
  assert.deepEqual(peer.kept.map((x) => x.kind), ['remote', 'both']);
  // Master write-back: the segment becomes the guest copy, verified.
  const seg = new MemorySource(Buffer.from(remote), 'segment');
  const applied = await applyMaster(master.writes, new MemorySource(local, 'l'), seg);
  assert.deepEqual(applied, { written: master.writes, verified: true });
  assert.ok(Buffer.from(seg.bytes).equals(local));
});

test('a segment that goes away midway: the report says which ranges were written', async () => {
  const local = new MemorySource(Buffer.alloc(16, 9), 'l');
  let writes = 0;
  const failing = new MemorySource(Buffer.alloc(16), 'segment');
  failing.write = (offset: number, data: Uint8Array): void => {
    if (++writes > 2) throw new SourceLostError('the backing file was deleted');
    failing.bytes.set(data, offset);
  };
  const ranges = [{ offset: 0, length: 1 }, { offset: 4, length: 1 }, { offset: 8, length: 1 }];
  const r = await applyMaster(ranges, local, failing);
  assert.deepEqual(r.written, ranges.slice(0, 2));
  assert.equal(r.verified, false);
  assert.match(r.error!, /deleted/);
});

test('field verdicts: the value at disconnect, in the guest copy and in the segment', async () => {
  const layout = compileLayout(JSON.stringify({ regions: [{ name: 'ring', offset: 0, fields: [{ name: 'head', type: 'u32' }, { name: 'tail', type: 'u32' }] }] })).layout!;
  const base = Buffer.alloc(16);
  base.writeUInt32LE(41, 0);
  const local = Buffer.from(base);
  local.writeUInt32LE(42, 0);
  const remote = Buffer.from(base);
  remote.writeUInt32LE(7, 4);
  const sources = [base, local, remote].map((b, i) => new MemorySource(b, String(i))) as [MemorySource, MemorySource, MemorySource];
  const t = await threeWay(...sources);
  assert.deepEqual(fieldVerdicts(layout, t.ranges, ...sources), [
    { field: 'ring.head', offset: 0, kind: 'local', base: '41', local: '42', remote: '41' },
    { field: 'ring.tail', offset: 4, kind: 'remote', base: '0', local: '0', remote: '7' },
  ]);
});
