import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseOffsetInput, parsePattern } from '../../webview/input';
import { inspect } from '../../webview/inspector';
import { PAGE, PageCache } from '../../webview/page-cache';
import { MessageError } from '../../shared/checks';
import { RequestError, checkForServer } from '../../shared/messenger';
import { failure } from '../../webview/failure';
import { hexProtocol } from '../../webview/hex-protocol';
import { rng } from '../helpers/temp';

test('Go to accepts decimal and 0x-hex inside the segment, past 4 GiB too', () => {
  assert.deepEqual(parseOffsetInput('0x100000010', 5 * 2 ** 30), { offset: 2 ** 32 + 16 });
  assert.deepEqual(parseOffsetInput(' 4096 ', 8192), { offset: 4096 });
  assert.match((parseOffsetInput('8192', 8192) as { error: string }).error, /past the end/);
  assert.match((parseOffsetInput('12abc', 8192) as { error: string }).error, /decimal or 0x-hex/);
  assert.match((parseOffsetInput('-1', 8192) as { error: string }).error, /decimal or 0x-hex/);
});

test('search patterns: hex in several spellings, text as UTF-8, clear errors', () => {
  assert.deepEqual([...(parsePattern('de ad BE ef', 'hex') as { bytes: Uint8Array }).bytes], [0xde, 0xad, 0xbe, 0xef]);
  assert.deepEqual([...(parsePattern('0xde,0xad', 'hex') as { bytes: Uint8Array }).bytes], [0xde, 0xad]);
  assert.deepEqual([...(parsePattern('hé', 'text') as { bytes: Uint8Array }).bytes], [0x68, 0xc3, 0xa9]);
  assert.match((parsePattern('abc', 'hex') as { error: string }).error, /odd number/);
  assert.match((parsePattern('xyz', 'hex') as { error: string }).error, /only hex digits/);
  assert.match((parsePattern('', 'text') as { error: string }).error, /type something/);
});

test('the data inspector agrees with Buffer for every type at both endiannesses (seeded)', () => {
  const random = rng(9);
  for (let round = 0; round < 200; round++) {
    const b = Buffer.from(Array.from({ length: 8 }, () => random(256)));
    const rows = Object.fromEntries(inspect(b).map((r) => [r.type, r]));
    assert.equal(rows.u8!.little, String(b.readUInt8(0)));
    assert.equal(rows.i8!.little, String(b.readInt8(0)));
    assert.equal(rows.u16!.little, String(b.readUInt16LE(0)));
    assert.equal(rows.u16!.big, String(b.readUInt16BE(0)));
    assert.equal(rows.i16!.big, String(b.readInt16BE(0)));
    assert.equal(rows.u32!.little, String(b.readUInt32LE(0)));
    assert.equal(rows.i32!.big, String(b.readInt32BE(0)));
    assert.equal(rows.u64!.little, b.readBigUInt64LE(0).toString());
    assert.equal(rows.i64!.big, b.readBigInt64BE(0).toString());
    const f32 = b.readFloatLE(0);
    if (Number.isFinite(f32) && !Number.isInteger(f32)) assert.equal(rows.f32!.little, String(f32));
    const f64 = b.readDoubleBE(0);
    if (Number.isFinite(f64) && !Number.isInteger(f64)) assert.equal(rows.f64!.big, String(f64));
  }
  const short = Object.fromEntries(inspect(Buffer.from([0x41, 0x42])).map((r) => [r.type, r]));
  assert.equal(short.u32, undefined, 'a u32 shown with only 2 bytes left');
  assert.equal(short.ASCII!.little, "'A'");
  assert.equal(Object.fromEntries(inspect(Buffer.from('€', 'utf8')).map((r) => [r.type, r]))['UTF-8']!.little, "'€' U+20AC");
});

test('the page cache fetches only what is missing, keeps changes, and stays bounded', () => {
  // A segment whose last page is short, past 4 GiB.
  const cache = new PageCache(2 ** 32 + 3 * PAGE - 100);
  const base = 2 ** 32;
  assert.deepEqual(cache.missing(base + 10, PAGE * 2), [{ offset: base, length: PAGE * 3 - 100 }]);
  cache.markInFlight({ offset: base, length: PAGE }, true);
  assert.deepEqual(cache.missing(base, PAGE * 2), [{ offset: base + PAGE, length: PAGE }]);
  cache.store(base, new Uint8Array(PAGE).fill(7));
  cache.markInFlight({ offset: base, length: PAGE }, false);
  assert.equal(cache.byte(base + 5), 7);
  assert.equal(cache.byte(base + PAGE), undefined);
  cache.apply(base + 5, new Uint8Array([9]), 100);
  assert.equal(cache.byte(base + 5), 9);
  assert.equal(cache.changedAt.get(base + 5), 100);
  cache.prune(2000, 1500);
  assert.equal(cache.changedAt.has(base + 5), false);
  // The last page is short: never fetched past the end.
  assert.deepEqual(cache.missing(base + 2 * PAGE, 10 * PAGE), [{ offset: base + 2 * PAGE, length: PAGE - 100 }]);
  for (let p = 0; p < 2000; p++) cache.store(p * PAGE, new Uint8Array(PAGE));
  assert.equal(cache.byte(base + 5), undefined, 'the cache grew without bound');
});

test('the host refuses malformed webview messages, naming the field', () => {
  const check = (m: unknown): unknown => checkForServer(hexProtocol, m);
  assert.deepEqual(check({ m: 'note', type: 'viewport', body: { offset: 2 ** 40, length: 512, cursor: 2 ** 40 + 3 } }), { m: 'note', type: 'viewport', body: { offset: 2 ** 40, length: 512, cursor: 2 ** 40 + 3 } });
  assert.equal((check({ m: 'request', id: 4, type: 'write', params: { offset: 1, bytes: new Uint8Array([1]) } }) as { m: string }).m, 'request');
  const bad: [unknown, RegExp][] = [
    [null, /not an object/],
    [{ m: 'eval', code: 'x' }, /unknown message kind/],
    [{ m: 'note', type: 'viewport', body: { offset: -1, length: 1, cursor: 0 } }, /offset must be/],
    [{ m: 'note', type: 'viewport', body: { offset: 0, length: 2 ** 30, cursor: 0 } }, /length must be/],
    [{ m: 'request', id: 0, type: 'read', params: { offset: 0, length: 1 } }, /id must be/],
    [{ m: 'request', id: 1, type: 'read', params: { offset: 0, length: 0 } }, /length must be/],
    [{ m: 'request', id: 1, type: 'read', params: { offset: 2 ** 60, length: 1 } }, /offset must be/],
    [{ m: 'request', id: 1, type: 'write', params: { offset: 0, bytes: [1, 2] } }, /bytes must be/],
    [{ m: 'request', id: 1, type: 'write', params: { offset: 0, bytes: new Uint8Array(5000) } }, /bytes must be/],
    [{ m: 'request', id: 1, type: 'search', params: { pattern: new Uint8Array(0), from: 0 } }, /pattern must be/],
    [{ m: 'request', id: 1, type: 'rm', params: { path: '/' } }, /unknown request "rm"/],
    [{ m: 'request', id: 1, type: 'hasOwnProperty', params: {} }, /unknown request/],
  ];
  for (const [m, reason] of bad) assert.throws(() => check(m), (e: unknown) => e instanceof MessageError && reason.test(e.message), JSON.stringify(m));
});

test('a view reacts to a failed request by its kind: a cancellation quietly, the rest as warnings worded for the kind', () => {
  assert.deepEqual(failure(new RequestError('cancelled', 'cancelled'), 'search'), { code: 'cancelled', text: 'search: cancelled', warn: false });
  assert.deepEqual(failure(new RequestError('lost', 'the backing file was deleted'), 'not written'), { code: 'lost', text: 'not written: the source is gone (the backing file was deleted)', warn: true });
  assert.equal(failure(new RequestError('input', 'this session is read-only'), 'not written').code, 'input');
  assert.equal(failure(new RequestError('timeout', 'no answer'), 'read').code, 'timeout');
  assert.equal(failure(new TypeError('x is undefined'), 'read').code, 'internal', 'an error that is not a request\'s has no kind but internal');
});

test('page cache: fresh bytes overwrite pages that are here, highlight nothing, and add no page', () => {
  const cache = new PageCache(3 * 4096);
  cache.store(0, new Uint8Array(4096).fill(1));
  cache.refresh(4090, new Uint8Array(12).fill(9)); // 6 bytes in page 0, 6 in page 1 (not here)
  assert.equal(cache.byte(4089), 1);
  assert.equal(cache.byte(4090), 9);
  assert.equal(cache.byte(4095), 9);
  assert.equal(cache.byte(4096), undefined, 'a page was added');
  assert.equal(cache.changedAt.size, 0, 'fresh bytes were highlighted as changes');
});
