import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { agentProtocol } from '../../agent/protocol';
import { MessageError } from '../../shared/checks';
import { checkForClient, checkForServer } from '../../shared/messenger';
import { rng } from '../helpers/temp';

/** What the agent accepts from its parent (checkForServer), and what the parent accepts back. */
const toAgent = (raw: unknown): unknown => checkForServer(agentProtocol, raw);
const fromAgent = (raw: unknown): unknown => checkForClient(agentProtocol, raw);
const req = (type: string, params: unknown, id = 5): unknown => ({ m: 'request', id, type, params });

test('valid requests pass through unchanged', () => {
  const requests: [string, unknown][] = [
    ['open', { source: '/dev/shm/x', writable: false }],
    ['read', { offset: 2 ** 40, length: 4096 }],
    ['write', { offset: 3, bytes: new Uint8Array([1, 2]) }],
    ['watch', { ranges: [{ offset: 0, length: 16 }, { offset: 2 ** 33, length: 1 }], intervalMs: 50 }],
    ['unwatch', {}],
    ['snapshot', { target: '/tmp/a.shmsnap', tempPath: '/tmp/.a.tmp', force: true }],
    ['verify', {}],
    ['close', {}],
  ];
  for (const [type, params] of requests) assert.deepEqual(toAgent(req(type, params)), req(type, params));
  assert.deepEqual(toAgent({ m: 'cancel', id: 9 }), { m: 'cancel', id: 9 });
});

test('malformed requests are refused with the field named', () => {
  const bad: [unknown, RegExp][] = [
    [null, /message is not an object/],
    [[], /message is not an object/],
    [{ m: 'request', id: 0, type: 'close', params: {} }, /id must be/],
    [{ m: 'request', id: 1.5, type: 'close', params: {} }, /id must be/],
    [req('close', 'close'), /body is not an object/],
    [req('close', { now: true }), /unexpected field "now"/],
    [req('format-disk', {}), /unknown request "format-disk"/],
    [req('__proto__', {}), /unknown request/],
    [req('toString', {}), /unknown request/],
    [req('read', { offset: -1, length: 1 }), /offset must be/],
    [req('read', { offset: 0, length: 2 ** 30 }), /length must be/],
    [req('read', { offset: '0', length: 1 }), /offset must be/],
    [req('write', { offset: 0, bytes: [1, 2] }), /bytes must be/],
    [req('open', { source: 'a\0b', writable: false }), /source must be/],
    [req('open', { source: '/x', writable: 'yes' }), /writable must be/],
    [req('watch', { ranges: [], intervalMs: 50 }), /ranges/],
    [req('watch', { ranges: [{ offset: 0, length: 0 }], intervalMs: 50 }), /length must be/],
    [req('watch', { ranges: [{ offset: 0, length: 1 }], intervalMs: 1 }), /intervalMs must be/],
    [req('reconnect', { base: 'a', local: 'b', role: 'boss', dryRun: false }), /role must be one of master, peer/],
    [{ m: 'reply', id: 1, ok: true, body: {} }, /a reply message for the answering side/],
  ];
  for (const [message, reason] of bad) {
    assert.throws(() => toAgent(message), (e: unknown) => e instanceof MessageError && reason.test(e.message), JSON.stringify(message));
  }
});

test('agent messages: replies, errors and events are checked', () => {
  assert.deepEqual(fromAgent({ m: 'reply', id: 3, ok: true, body: {} }), { m: 'reply', id: 3, ok: true, body: {} });
  assert.deepEqual(fromAgent({ m: 'reply', id: 3, ok: false, code: 'lost', message: 'gone' }), { m: 'reply', id: 3, ok: false, code: 'lost', message: 'gone' });
  const change = { offset: 2 ** 32, before: new Uint8Array([0]), after: new Uint8Array([1]) };
  assert.deepEqual(fromAgent({ m: 'note', type: 'changes', body: { time: 5, changes: [change] } }), { m: 'note', type: 'changes', body: { time: 5, changes: [change] } });
  // Reply bodies are checked against the request they answer.
  assert.throws(() => agentProtocol.requests.read.reply({ bytes: [1] }), /bytes must be/);
  assert.throws(() => agentProtocol.requests.search.reply({ offset: -3 }), /offset must be/);
  assert.throws(() => agentProtocol.requests.peers.reply({ ownId: 1, interrupts: [-1], peers: [] }), /interrupts must be/);
  const bad: [unknown, RegExp][] = [
    [{ m: 'reply', id: 3, ok: false, code: 'weird', message: 'x' }, /code must be one of/],
    [{ m: 'reply', id: 3, ok: 'maybe' }, /ok must be/],
    [{ m: 'note', type: 'changes', body: { time: 5, changes: [{ offset: 0, before: new Uint8Array(2), after: new Uint8Array(1) }] } }, /same, non-zero length/],
    [{ m: 'progress', id: 1, done: -5, total: 10 }, /done must be/],
    [{ m: 'note', type: 'explode', body: {} }, /unknown note "explode"/],
    [{ m: 'gossip' }, /unknown message kind/],
    [{ m: 'request', id: 1, type: 'read', params: {} }, /a request message for the asking side/],
  ];
  for (const [message, reason] of bad) assert.throws(() => fromAgent(message), reason);
});

test('random junk never escapes as anything but a MessageError (seeded fuzz)', () => {
  const random = rng(77);
  const atoms = [0, -1, 1.5, 2 ** 53, 'x', '', true, null, undefined, [], {}, new Uint8Array(3), 'open', 'read', 'reply', 'note', 'request', 'changes', 'constructor'];
  const keys = ['m', 'id', 'type', 'params', 'body', 'offset', 'length', 'bytes', 'ok', 'code', 'changes', 'source', 'writable', 'ranges', 'intervalMs'];
  const make = (depth: number): unknown => {
    if (depth > 3 || random(3) === 0) return atoms[random(atoms.length)];
    if (random(4) === 0) return Array.from({ length: random(3) }, () => make(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = random(5); i > 0; i--) o[keys[random(keys.length)]!] = make(depth + 1);
    return o;
  };
  for (let i = 0; i < 20000; i++) {
    const m = make(0);
    for (const check of [toAgent, fromAgent]) {
      try {
        check(m);
      } catch (e) {
        assert.ok(e instanceof MessageError, `case ${i}: ${String(e)}`);
      }
    }
  }
});
