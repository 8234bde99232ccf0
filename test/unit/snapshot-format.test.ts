import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import {
  FormatError,
  MAX_HEADER_LENGTH,
  PAGE,
  blockCount,
  chooseBlockSize,
  decodeHeader,
  encodeHeader,
  headerLength,
  type SnapshotHeader,
} from '../../core/snapshot/format';

function header(overrides: Partial<SnapshotHeader> = {}): SnapshotHeader {
  const base: SnapshotHeader = {
    version: 1,
    headerLength: 0,
    size: 3 * 65536 + 100,
    time: Date.UTC(2026, 10, 25, 12, 0, 0),
    blockSize: 65536,
    peerId: 7,
    checked: true,
    source: '/dev/shm/ivshmem — ü',
    layout: '{"regions":[]}',
    torn: [{ offset: 4096, length: 4096 }],
    blockChecksums: new Uint32Array([1, 2, 0xffffffff, 4]),
  };
  const h = { ...base, ...overrides };
  h.headerLength = headerLength(Buffer.byteLength(h.source), Buffer.byteLength(h.layout ?? ''), h.torn.length, h.blockChecksums.length);
  return h;
}

test('a header round-trips through encode and decode, every field', () => {
  const h = header();
  const buf = encodeHeader(h);
  assert.equal(buf.length % PAGE, 0);
  const back = decodeHeader(buf, buf.length + h.size);
  assert.deepEqual(back, h);
  const anon = header({ peerId: undefined, layout: undefined, torn: [], checked: false });
  assert.deepEqual(decodeHeader(encodeHeader(anon), anon.headerLength + anon.size), anon);
});

test('sizes past 2^32 survive the round trip', () => {
  const size = 2 ** 34 + 12345;
  const blockSize = chooseBlockSize(size);
  const h = header({ size, blockSize, torn: [{ offset: 2 ** 33, length: 8192 }], blockChecksums: new Uint32Array(blockCount(size, blockSize)) });
  const back = decodeHeader(encodeHeader(h), h.headerLength + size);
  assert.equal(back.size, size);
  assert.deepEqual(back.torn, [{ offset: 2 ** 33, length: 8192 }]);
});

test('chooseBlockSize keeps the header bounded for the largest segments', () => {
  assert.equal(chooseBlockSize(2 ** 30), 65536);
  const huge = 2 ** 48;
  const bs = chooseBlockSize(huge);
  assert.ok(blockCount(huge, bs) <= 2 ** 24);
  assert.ok(headerLength(4096, 1 << 20, 65536, blockCount(huge, bs)) <= MAX_HEADER_LENGTH);
});

/** Encodes a valid header, then lets `mutate` break one field (without fixing the CRC). */
function broken(mutate: (buf: Buffer) => void, fileSizeDelta = 0): () => void {
  const h = header();
  const buf = encodeHeader(h);
  mutate(buf);
  return () => decodeHeader(buf, h.headerLength + h.size + fileSizeDelta);
}

const rejections: [string, () => void, RegExp][] = [
  ['bad magic', broken((b) => b.write('NOTSNAP!', 0, 'latin1')), /not a Shared Memory Inspector snapshot/],
  ['newer version', broken((b) => b.writeUInt32LE(3, 8)), /newer version of the format \(3\)/],
  ['version 0', broken((b) => b.writeUInt32LE(0, 8)), /unknown format version 0/],
  ['header length not a page multiple', broken((b) => b.writeUInt32LE(5000, 12)), /not a positive multiple of 4096/],
  ['header length zero', broken((b) => b.writeUInt32LE(0, 12)), /not a positive multiple/],
  ['header length absurd', broken((b) => b.writeUInt32LE(0xfffff000, 12)), /larger than any valid header/],
  ['zero size', broken((b) => b.writeBigUInt64LE(0n, 16)), /segment size 0 is out of range/],
  ['size past 256 TiB', broken((b) => b.writeBigUInt64LE(2n ** 60n, 16)), /out of range/],
  ['time garbage', broken((b) => b.writeBigUInt64LE(2n ** 63n, 24)), /not a valid date/],
  ['block size not a power of two', broken((b) => b.writeUInt32LE(65537, 32)), /power of two/],
  ['block size too small', broken((b) => b.writeUInt32LE(512, 32)), /power of two/],
  ['peer ID out of range', broken((b) => b.writeUInt32LE(70000, 36)), /peer ID 70000/],
  ['unknown flags', broken((b) => b.writeUInt32LE(6, 40)), /unknown flags/],
  ['source too long', broken((b) => b.writeUInt32LE(100000, 44)), /source description/],
  ['layout too large', broken((b) => b.writeUInt32LE(0x7fffffff, 48)), /embedded layout/],
  ['too many torn ranges', broken((b) => b.writeUInt32LE(1e6, 52)), /torn ranges/],
  ['block count mismatch', broken((b) => b.writeUInt32LE(3, 56)), /expected 4/],
  ['block count absurd', broken((b) => b.writeUInt32LE(0xffffffff, 56)), /more than/],
  ['truncated data', broken(() => undefined, -1), /truncated: .* expected/],
  ['trailing bytes', broken(() => undefined, 10), /10 unexpected bytes after the data/],
  ['corrupted source text', broken((b) => (b[70] = b[70]! ^ 0x20)), /CRC mismatch/],
  ['corrupted checksum table', broken((b) => (b[4090] = 1)), /padding is not zero|CRC mismatch/],
];

for (const [name, attempt, message] of rejections) {
  test(`decodeHeader rejects: ${name}`, () => {
    assert.throws(attempt, (err: unknown) => err instanceof FormatError && message.test(err.message) && !err.message.includes('\n'));
  });
}

test('decodeHeader rejects a file shorter than the fixed header', () => {
  assert.throws(() => decodeHeader(Buffer.alloc(10), 10), /too short/);
});

test('torn ranges out of order, empty or outside the segment are rejected', () => {
  for (const torn of [[{ offset: 8192, length: 10 }, { offset: 0, length: 10 }], [{ offset: 0, length: 0 }], [{ offset: 3 * 65536 + 90, length: 11 }]]) {
    const h = header({ torn });
    assert.throws(() => decodeHeader(encodeHeader(h), h.headerLength + h.size), /torn range/);
  }
});

test('invalid UTF-8 or JSON in the header is rejected even with a correct CRC', () => {
  const h = header({ layout: '{not json' });
  assert.throws(() => decodeHeader(encodeHeader(h), h.headerLength + h.size), /not valid JSON/);
  const bad = header({ source: 'ab' });
  const buf = encodeHeader(bad);
  buf[64] = 0xff; // not UTF-8, then fix the CRC so that the UTF-8 check is what fails
  buf.writeUInt32LE(0, 60);
  const used = 64 + 2 + Buffer.byteLength(bad.layout!);
  const usedAligned = Math.ceil(used / 8) * 8 + 16 + 16;
  buf.writeUInt32LE(crc32(buf.subarray(0, usedAligned)), 60);
  assert.throws(() => decodeHeader(buf, bad.headerLength + bad.size), /not valid UTF-8/);
});

test('every single-bit flip in a header is caught', () => {
  const h = header();
  const good = encodeHeader(h);
  const fileSize = h.headerLength + h.size;
  let caught = 0;
  for (let bit = 0; bit < 200 * 8; bit++) {
    const buf = Buffer.from(good);
    buf[bit >> 3] = buf[bit >> 3]! ^ (1 << (bit & 7));
    try {
      decodeHeader(buf, fileSize);
    } catch (err) {
      assert.ok(err instanceof FormatError, `bit ${bit}: ${String(err)}`);
      caught++;
    }
  }
  assert.equal(caught, 200 * 8);
});
