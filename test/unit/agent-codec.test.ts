import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MessageError, parseFromAgent, parseToAgent } from '../../agent/codec';
import { rng } from '../helpers/temp';

test('valid requests pass through unchanged', () => {
  const requests = [
    { type: 'open', source: '/dev/shm/x', writable: false },
    { type: 'read', offset: 2 ** 40, length: 4096 },
    { type: 'write', offset: 3, bytes: new Uint8Array([1, 2]) },
    { type: 'watch', ranges: [{ offset: 0, length: 16 }, { offset: 2 ** 33, length: 1 }], intervalMs: 50 },
    { type: 'unwatch' },
    { type: 'snapshot', target: '/tmp/a.shmsnap', tempPath: '/tmp/.a.tmp', force: true },
    { type: 'verify' },
    { type: 'record', target: '/tmp/r.shmrec', force: false, offset: 2 ** 33, length: 64 << 20, intervalMs: 10 },
    { type: 'record', target: '/tmp/r.shmrec', force: true, offset: 0, length: 1, intervalMs: 5, durationMs: 1500, maxBytes: 2 ** 40, layout: '{}' },
    { type: 'cancel', request: 9 },
    { type: 'close' },
  ];
  for (const request of requests) assert.deepEqual(parseToAgent({ id: 5, request }), { id: 5, request });
});

test('malformed requests are refused with the field named', () => {
  const bad: [unknown, RegExp][] = [
    [null, /message is not an object/],
    [[], /message is not an object/],
    [{ id: 0, request: { type: 'close' } }, /id must be/],
    [{ id: 1.5, request: { type: 'close' } }, /id must be/],
    [{ id: 1, request: 'close' }, /request is not an object/],
    [{ id: 1, request: { type: 'format-disk' } }, /unknown request type/],
    [{ id: 1, request: { type: 'read', offset: -1, length: 1 } }, /offset must be/],
    [{ id: 1, request: { type: 'read', offset: 0, length: 2 ** 30 } }, /length must be/],
    [{ id: 1, request: { type: 'read', offset: '0', length: 1 } }, /offset must be/],
    [{ id: 1, request: { type: 'write', offset: 0, bytes: [1, 2] } }, /bytes must be bytes/],
    [{ id: 1, request: { type: 'open', source: 'a\0b', writable: false } }, /source must be/],
    [{ id: 1, request: { type: 'open', source: '/x', writable: 'yes' } }, /writable must be/],
    [{ id: 1, request: { type: 'watch', ranges: [], intervalMs: 50 } }, /ranges/],
    [{ id: 1, request: { type: 'watch', ranges: [{ offset: 0, length: 0 }], intervalMs: 50 } }, /length must be/],
    [{ id: 1, request: { type: 'watch', ranges: [{ offset: 0, length: 1 }], intervalMs: 1 } }, /intervalMs must be/],
    [{ id: 1, request: { type: 'record', target: '/r', force: false, offset: 0, length: (64 << 20) + 1, intervalMs: 10 } }, /length must be/],
    [{ id: 1, request: { type: 'record', target: '/r', force: false, offset: 0, length: 0, intervalMs: 10 } }, /length must be/],
    [{ id: 1, request: { type: 'record', target: '/r', force: false, offset: 0, length: 8, intervalMs: 10, maxBytes: 0 } }, /maxBytes must be/],
    [{ id: 1, request: { type: 'record', target: '/r', force: 'no', offset: 0, length: 8, intervalMs: 10 } }, /force must be/],
  ];
  for (const [message, reason] of bad) {
    assert.throws(() => parseToAgent(message), (e: unknown) => e instanceof MessageError && reason.test(e.message), JSON.stringify(message));
  }
});

test('agent messages: replies, errors and events are checked', () => {
  assert.deepEqual(parseFromAgent({ kind: 'reply', id: 3, ok: true, reply: {} }), { kind: 'reply', id: 3, ok: true, reply: {} });
  assert.deepEqual(parseFromAgent({ kind: 'reply', id: 3, ok: false, code: 'lost', message: 'gone' }), { kind: 'reply', id: 3, ok: false, code: 'lost', message: 'gone' });
  const change = { offset: 2 ** 32, before: new Uint8Array([0]), after: new Uint8Array([1]) };
  assert.deepEqual(parseFromAgent({ kind: 'event', event: { type: 'changes', time: 5, changes: [change] } }), { kind: 'event', event: { type: 'changes', time: 5, changes: [change] } });
  const stats = { samples: 10, changeSamples: 2, changedBytes: 9, missedTicks: 0, keyframes: 1, events: 0, fileBytes: 4000, elapsedMs: 90.5, slowestSampleMs: 1.25 };
  assert.deepEqual(parseFromAgent({ kind: 'event', event: { type: 'recording', request: 4, stats } }), { kind: 'event', event: { type: 'recording', request: 4, stats } });
  const bad: [unknown, RegExp][] = [
    [{ kind: 'event', event: { type: 'recording', request: 4, stats: { ...stats, samples: -1 } } }, /samples must be/],
    [{ kind: 'event', event: { type: 'recording', request: 4, stats: { ...stats, elapsedMs: 'soon' } } }, /elapsedMs must be/],
    [{ kind: 'reply', id: 3, ok: false, code: 'weird', message: 'x' }, /unknown error code/],
    [{ kind: 'reply', id: 3, ok: 'maybe' }, /ok must be/],
    [{ kind: 'event', event: { type: 'changes', time: 5, changes: [{ offset: 0, before: new Uint8Array(2), after: new Uint8Array(1) }] } }, /same, non-zero length/],
    [{ kind: 'event', event: { type: 'progress', request: 1, done: -5, total: 10 } }, /done must be/],
    [{ kind: 'event', event: { type: 'explode' } }, /unknown event type/],
    [{ kind: 'gossip' }, /kind must be/],
  ];
  for (const [message, reason] of bad) assert.throws(() => parseFromAgent(message), reason);
});

test('random junk never escapes as anything but a MessageError (seeded fuzz)', () => {
  const random = rng(77);
  const atoms = [0, -1, 1.5, 2 ** 53, 'x', '', true, null, undefined, [], {}, new Uint8Array(3), 'open', 'read', 'reply', 'event', 'changes'];
  const keys = ['id', 'request', 'type', 'offset', 'length', 'bytes', 'kind', 'ok', 'event', 'changes', 'source', 'writable', 'ranges', 'intervalMs'];
  const make = (depth: number): unknown => {
    if (depth > 3 || random(3) === 0) return atoms[random(atoms.length)];
    if (random(4) === 0) return Array.from({ length: random(3) }, () => make(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = random(5); i > 0; i--) o[keys[random(keys.length)]!] = make(depth + 1);
    return o;
  };
  for (let i = 0; i < 20000; i++) {
    const m = make(0);
    for (const parse of [parseToAgent, parseFromAgent]) {
      try {
        parse(m);
      } catch (e) {
        assert.ok(e instanceof MessageError, `case ${i}: ${String(e)}`);
      }
    }
  }
});
