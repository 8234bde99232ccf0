import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { InputError } from '../../core/errors';
import { FormatError } from '../../core/snapshot/format';
import { decodeHeader, encodeHeader, type RecordingHeader } from '../../core/record/header';
import { RecordingFile } from '../../core/record/reader';
import { Timeline } from '../../core/record/timeline';
import { encodeDelta, encodeEnd, encodeEvent, recordCrc } from '../../core/record/records';
import { forEachRun, parseRecord } from '../../core/record/parse';
import { tinyRecording } from '../helpers/recording';

const BASE = { segmentSize: 2 ** 40 + 5, rangeOffset: 2 ** 33, rangeLength: 64 << 20, intervalMs: 10, startTime: Date.UTC(2026, 10, 29, 12), peerId: 65535, chunkSize: 65536, source: '/dev/shm/ü', layout: '{"regions":[]}' };

test('a recording header round-trips every field, offsets past 2^32 included', () => {
  const buf = encodeHeader(BASE);
  assert.equal(buf.length % 8, 0);
  const h = decodeHeader(buf, buf.length);
  assert.deepEqual(h, { ...BASE, version: 1, headerLength: buf.length } satisfies RecordingHeader);
  const anon = encodeHeader({ ...BASE, peerId: undefined, layout: undefined, source: '' });
  assert.equal(decodeHeader(anon, anon.length).peerId, undefined);
  assert.equal(decodeHeader(anon, anon.length).layout, undefined);
});

test('every header field out of range is refused with a one-line reason', () => {
  const reseal = (b: Buffer): Buffer => {
    b.writeUInt32LE(0, 68);
    b.writeUInt32LE(crc32(b), 68);
    return b;
  };
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['magic', (b) => b.write('SHMSNAP\0', 0, 'latin1'), /bad magic/],
    ['newer version', (b) => b.writeUInt32LE(2, 8), /newer version of the format \(2\)/],
    ['header length', (b) => b.writeUInt32LE(12, 12), /header length 12/],
    ['segment size 0', (b) => b.writeBigUInt64LE(0n, 16), /segment size 0/],
    ['range past the segment', (b) => b.writeBigUInt64LE(2n ** 40n, 24), /runs past the segment/],
    ['range length 0', (b) => b.writeUInt32LE(0, 32), /recorded length 0/],
    ['range of 65 MiB', (b) => b.writeUInt32LE(65 << 20, 32), /recorded length/],
    ['interval 0', (b) => b.writeUInt32LE(0, 36), /sampling interval 0/],
    ['start time', (b) => b.writeBigUInt64LE(2n ** 63n, 40), /start time/],
    ['peer ID', (b) => b.writeUInt32LE(70000, 48), /peer ID 70000/],
    ['chunk size', (b) => b.writeUInt32LE(3000, 52), /chunk size 3000/],
    ['source length', (b) => b.writeUInt32LE(5000, 56), /source description of 5000/],
    ['parts vs length', (b) => b.writeUInt32LE(0, 60), /does not match its parts/],
    ['flags', (b) => b.writeUInt32LE(1, 64), /unknown flags/],
    ['layout JSON', (b) => b.write('x', 72 + Buffer.byteLength(BASE.source), 'latin1'), /not valid JSON/],
    ['source UTF-8', (b) => (b[72] = 0xff), /not valid UTF-8/],
  ];
  for (const [name, corrupt, message] of cases) {
    const b = encodeHeader(BASE);
    corrupt(b);
    if (name !== 'magic' && name !== 'newer version' && name !== 'header length') reseal(b);
    assert.throws(() => decodeHeader(b, b.length), (e: Error) => e instanceof FormatError && message.test(e.message) && !e.message.includes('\n'), name);
  }
  const b = encodeHeader(BASE);
  b[20] = b[20]! ^ 1;
  assert.throws(() => decodeHeader(b, b.length), /CRC mismatch/);
  assert.throws(() => decodeHeader(b.subarray(0, 40), 40), /too short/);
  const short = encodeHeader(BASE);
  assert.throws(() => decodeHeader(short, short.length - 8), /truncated/);
});

test('records check every number: runs inside the range and maximal, counts that add up, known kinds and reasons', () => {
  const h = decodeHeader(encodeHeader({ ...BASE, rangeOffset: 0, rangeLength: 1000 }), 10_000);
  const state = Buffer.alloc(1000, 5);
  const good = encodeDelta(3, 100, 0, [0, 2, 10, 20, 999, 1000], state);
  const r = parseRecord(good, h);
  assert.ok(r.kind === 'delta' && r.runs === 3 && r.changedBytes === 13);
  const runs: number[] = [];
  if (r.kind === 'delta') forEachRun(r.body, (at, length) => runs.push(at, at + length));
  assert.deepEqual(runs, [0, 2, 10, 20, 999, 1000]);
  const reseal = (b: Buffer): Buffer => {
    b.writeUInt32LE(recordCrc(b), 4);
    return b;
  };
  const bad: [string, Buffer, RegExp][] = [
    ['touching runs', encodeDelta(3, 100, 0, [0, 2, 2, 4], state), /touches the previous one/],
    ['an empty run', encodeDelta(3, 100, 0, [0, 2, 5, 5], state), /is empty/],
    ['past the range', (() => {
      const b = encodeDelta(3, 100, 0, [998, 1000], state);
      b[40] = 0xe7; // gap 999
      return reseal(b);
    })(), /runs past the recorded range|runs past the record/],
    ['changed bytes', (() => {
      const b = Buffer.from(good);
      b.writeUInt32LE(14, 32);
      return reseal(b);
    })(), /claims 14 changed bytes/],
    ['kind', reseal(Object.assign(Buffer.from(good), { 8: 9 })), /unknown record kind 9/],
    ['reason', (() => {
      const b = encodeEnd(3, 100, 0, 'stopped', '');
      b[24] = 9;
      return reseal(b);
    })(), /unknown stop reason 9/],
    ['event', (() => {
      const b = encodeEvent(3, 100, { type: 'interrupt', vector: 1, count: 1 });
      b.writeUInt16LE(200, 28);
      return reseal(b);
    })(), /not valid/],
    ['crc', Object.assign(Buffer.from(good), { 45: 1 }), /CRC mismatch/],
    ['time', (() => {
      const b = Buffer.from(good);
      b.writeBigUInt64LE(2n ** 60n, 16);
      return reseal(b);
    })(), /out of range/],
  ];
  for (const [name, b, message] of bad) assert.throws(() => parseRecord(b, h), (e: Error) => e instanceof FormatError && message.test(e.message), name);
  // A long end message is cut to 4 KiB on a character boundary, and reads back.
  const end = parseRecord(encodeEnd(3, 100, 0, 'source-lost', 'ü'.repeat(3000)), h);
  assert.ok(end.kind === 'end' && end.reason === 'source-lost' && end.message.length === 2048);
});

test('the tiny recording is whole and valid: every kind of record and every rule between them', () => {
  const file = RecordingFile.fromBytes(tinyRecording());
  const s = file.summary();
  assert.equal(s.tail, undefined);
  assert.deepEqual(s.end, { reason: 'stopped', message: 'done — ok' });
  assert.equal(s.samples, 7);
  assert.equal(s.keyframes, 2);
  assert.equal(s.missedTicks, 3);
  assert.equal(s.changeSamples, 3);
  const tl = new Timeline(file);
  assert.deepEqual(tl.events().map((e) => e.event.type), ['peer-joined', 'interrupt', 'peer-left']);
  assert.deepEqual(tl.changes({ offset: 1100, length: 2 }).map((c) => c.timeMs), [1050]);
  assert.equal(file.stateAt(0, { offset: 1100, length: 1 }).bytes[0], 7);
  assert.equal(file.header.peerId, 3);
  // Corrupt keyframe pointers and times are refused by the scan, not trusted later.
  const whole = tinyRecording();
  const x = file.index;
  const second = x.keyframes[1]!;
  const moved = Buffer.from(whole);
  moved.writeBigUInt64LE(BigInt(x.offsets[second]! - 8), x.offsets[second]! + 32);
  moved.writeUInt32LE(recordCrc(moved.subarray(x.offsets[second]!, x.offsets[second]! + x.lengths[second]!)), x.offsets[second]! + 4);
  const scanned = RecordingFile.fromBytes(moved);
  assert.equal(scanned.index.keyframes.length, 1);
  assert.match(scanned.summary().tail!.reason, /points chunk 0 at .* where no record of that chunk is/);
  assert.throws(() => RecordingFile.fromBytes(Buffer.from('SHMREC\0\0')), (e: Error) => e instanceof InputError && /too short/.test(e.message));
});
