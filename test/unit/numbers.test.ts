import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { InputError } from '../../core/errors';
import { chunks, formatBytes, hex, parseInteger, parseOffset, parseSize, resolveRange } from '../../core/numbers';

test('parseOffset reads decimal and 0x-hex, and a leading zero is decimal', () => {
  assert.equal(parseOffset('4096', 'x'), 4096);
  assert.equal(parseOffset('0x1000', 'x'), 4096);
  assert.equal(parseOffset('0X1f', 'x'), 31);
  assert.equal(parseOffset('010', 'x'), 10);
  assert.equal(parseOffset('0x100000000', 'x'), 2 ** 32);
  assert.equal(parseOffset('0x1000000000000', 'x'), 2 ** 48);
});

test('parseOffset rejects anything else with the option name in the message', () => {
  for (const bad of ['', ' 1', '1 ', '-1', '+1', '1.5', '1e3', '0x', '0xg', 'abc', '12abc', '0b101', 'Infinity', 'NaN']) {
    assert.throws(() => parseOffset(bad, '--offset'), (err: unknown) => err instanceof InputError && err.message.includes('--offset'), `accepted "${bad}"`);
  }
  assert.throws(() => parseOffset('0x1000000000001', '--offset'), /too large/);
  assert.throws(() => parseOffset('99999999999999999999', '--offset'), /too large/);
});

test('parseSize takes binary units', () => {
  assert.equal(parseSize('64K', 's'), 65536);
  assert.equal(parseSize('16M', 's'), 16 * 2 ** 20);
  assert.equal(parseSize('2GiB', 's'), 2 ** 31);
  assert.equal(parseSize('0x10', 's'), 16);
  assert.throws(() => parseSize('1P', 's'), InputError);
  assert.throws(() => parseSize('300T', 's'), /too large/);
});

test('parseInteger enforces its bounds', () => {
  assert.equal(parseInteger('100', 'i', 5, 1000), 100);
  assert.throws(() => parseInteger('4', 'i', 5, 1000), /between 5 and 1000/);
  assert.throws(() => parseInteger('0x10', 'i', 5, 1000), /whole number/);
});

test('resolveRange at and beyond 2^32 stays exact', () => {
  const size = 2 ** 32 + 4096;
  assert.deepEqual(resolveRange(size, 2 ** 32, 4096), { offset: 2 ** 32, length: 4096 });
  assert.deepEqual(resolveRange(size, 2 ** 32 - 1, undefined), { offset: 2 ** 32 - 1, length: 4097 });
  assert.deepEqual(resolveRange(size, size, undefined), { offset: size, length: 0 });
  assert.throws(() => resolveRange(size, 2 ** 32, 4097), /runs past the end/);
  assert.throws(() => resolveRange(size, size + 1, undefined), /past the end of the segment/);
  // A 32-bit wrap (2^32 + 16 read as 16) would pass this check; exact arithmetic refuses it.
  assert.throws(() => resolveRange(2 ** 32 + 8, 2 ** 32 + 16, 1), /past the end/);
});

test('chunks splits on aligned boundaries across 2^32', () => {
  const pieces = [...chunks({ offset: 2 ** 32 - 10, length: 30 }, 16)];
  assert.deepEqual(pieces, [
    { offset: 2 ** 32 - 10, length: 10 },
    { offset: 2 ** 32, length: 16 },
    { offset: 2 ** 32 + 16, length: 4 },
  ]);
  assert.equal(pieces.reduce((s, p) => s + p.length, 0), 30);
});

test('hex and formatBytes are exact past 2^32', () => {
  assert.equal(hex(2 ** 32 + 1), '0x100000001');
  assert.equal(hex(2 ** 48), '0x1000000000000');
  assert.equal(formatBytes(1), '1 byte');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(2 ** 34), '16 GiB');
});
