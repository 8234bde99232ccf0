import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { hexdump } from '../../core/hexdump';

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
