// A small shared-memory protocol to look at: a ring buffer of messages in a segment, written with
// pwrite (the same page cache a guest's stores land in; no native module). Used by `npm start`.
//
// Layout (little-endian):
//   0x00 magic "RING"   0x04 version u32   0x08 head u32   0x0c tail u32
//   0x10 sequence u64   0x18 slot size u32 0x1c slot count u32
//   0x100 + i*64: slot i = sequence u64, time ms u64, text char[48]
import { constants, openSync, ftruncateSync, fstatSync, readSync, writeSync } from 'node:fs';

const file = process.argv[2];
const size = Number(process.argv[3] ?? 1 << 20);
if (!file) {
  console.error('usage: demo-writer.mjs FILE [SIZE]');
  process.exit(1);
}
// Read-write, created if missing; not 'a+': with O_APPEND, Linux puts every pwrite at the end.
const fd = openSync(file, constants.O_RDWR | constants.O_CREAT);
if (fstatSync(fd).size < size) ftruncateSync(fd, size);
const SLOTS = 64;
const SLOT = 64;
const BASE = 0x100;
// The ring's part of the segment, kept here and written back after each message.
const seg = Buffer.alloc(BASE + SLOTS * SLOT);
readSync(fd, seg, 0, seg.length, 0);
const flush = (from, to) => writeSync(fd, seg, from, to - from, from);
seg.write('RING', 0, 'latin1');
seg.writeUInt32LE(1, 4);
seg.writeUInt32LE(SLOT, 0x18);
seg.writeUInt32LE(SLOTS, 0x1c);
flush(0, 0x20);

const words = ['ping', 'pong', 'doorbell', 'vector 0', 'vector 1', 'migrate', 'savevm', 'loadvm', 'reconnect', 'role=peer', 'role=master'];
let seq = Number(seg.readBigUInt64LE(0x10));
let head = seg.readUInt32LE(8) % SLOTS;
let tail = seg.readUInt32LE(12) % SLOTS;

function produce() {
  seq++;
  const at = BASE + head * SLOT;
  seg.writeBigUInt64LE(BigInt(seq), at);
  seg.writeBigUInt64LE(BigInt(Date.now()), at + 8);
  seg.fill(0, at + 16, at + SLOT);
  seg.write(`msg ${seq}: ${words[seq % words.length]}`.slice(0, 48), at + 16, 'latin1');
  flush(at, at + SLOT);
  head = (head + 1) % SLOTS;
  seg.writeBigUInt64LE(BigInt(seq), 0x10);
  seg.writeUInt32LE(head, 8);
  // The consumer lags behind and catches up in bursts, so head and tail both move.
  if (seq % 3 === 0) {
    tail = (tail + 2) % SLOTS;
    if ((head - tail + SLOTS) % SLOTS > SLOTS - 2) tail = (head + 1) % SLOTS;
    seg.writeUInt32LE(tail, 12);
  }
  flush(0, 0x20);
}

const timer = setInterval(produce, 250);
const stop = () => {
  clearInterval(timer);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('disconnect', stop);
