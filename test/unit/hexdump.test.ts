import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hexdump, hexdumpSize } from '../../core/hexdump';

test('a full and a partial line look like xxd', () => {
  const bytes = Buffer.from('Hello, world!\x00\x01\xff~\x7f abc', 'latin1');
  assert.equal(
    hexdump(bytes, 0).toString('latin1'),
    '00000000: 4865 6c6c 6f2c 2077 6f72 6c64 2100 01ff  Hello, world!...\n' +
      '00000010: 7e7f 2061 6263                           ~. abc\n',
  );
});

test('lines start at the first offset, not at a multiple of 16 (like xxd -s)', () => {
  const out = hexdump(Buffer.from('lo, world!'), 3).toString();
  assert.equal(out, '00000003: 6c6f 2c20 776f 726c 6421                 lo, world!\n');
});

test('offsets grow past 8 digits at 2^32, line by line', () => {
  const out = hexdump(Buffer.alloc(32), 0xfffffff0).toString().split('\n');
  assert.ok(out[0]!.startsWith('fffffff0: 0000'));
  assert.ok(out[1]!.startsWith('100000000: 0000'));
  assert.equal(out[1]!.indexOf('  ') - out[1]!.indexOf(':'), 41);
});

test('an odd byte count pads the hex area so the text column stays put', () => {
  for (let n = 1; n <= 16; n++) {
    const line = hexdump(Buffer.alloc(n, 0x41), 0).toString();
    assert.equal(line.length, 10 + 41 + n + 1, `n=${n}`);
    assert.ok(line.endsWith(`${'A'.repeat(n)}\n`));
  }
  assert.equal(hexdump(Buffer.alloc(0), 0).length, 0);
});

test('large pieces (formatted by the WebAssembly kernel) equal the line-by-line formatting', () => {
  // Past WASM_FROM_LINES whole lines, and more than one kernel call (65,536 lines), ending in a partial line.
  const bytes = Buffer.alloc(70_000 * 16 + 7);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + (i >> 9)) & 255;
  for (const start of [0, 5, 0xfff00000]) {
    const big = hexdump(bytes, start);
    // The same bytes in small pieces (below the kernel's threshold: written by the JavaScript loop).
    const pieces: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 4000 * 16) pieces.push(hexdump(bytes.subarray(at, Math.min(bytes.length, at + 4000 * 16)), start + at));
    assert.ok(big.equals(Buffer.concat(pieces)), `start ${start}`);
    const lines = big.toString('latin1').split('\n');
    assert.equal(lines.length, 70_001 + 1);
    assert.equal(lines[69_999], hexdump(bytes.subarray(69_999 * 16, 70_000 * 16), start + 69_999 * 16).toString('latin1').trimEnd());
  }
});

test('a dump written piece by piece into one reused buffer gives the same lines', () => {
  const bytes = Buffer.alloc(3 * 65536 + 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
  const out = Buffer.alloc(hexdumpSize(65536));
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 65536) pieces.push(Buffer.from(hexdump(bytes.subarray(at, at + 65536), at, out)));
  assert.ok(Buffer.concat(pieces).equals(hexdump(bytes, 0)));
  assert.ok(hexdumpSize(16) >= hexdump(Buffer.alloc(16), 2 ** 47).length);
});
