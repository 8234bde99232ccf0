/**
 * The recording bench's writer: another process that changes `count` scattered bytes of a segment
 * every `interval` ms through a shared mapping, as a guest or a peer would (a store into the
 * mapping: no write() the kernel could tell us about), for `seconds`; prints how many ticks it made
 * as JSON. The mapping is core/sys/mmap.ts's (koffi): each store is a one-byte copy into it. Each tick's deadline is absolute, so the
 * pace does not drift. Usage: node writer.js FILE COUNT INTERVAL_MS SECONDS
 */
import * as fs from 'node:fs';
import { SharedMapping } from '../../core/sys/mmap';

const [file, countText, intervalText, secondsText] = process.argv.slice(2);
const count = Number(countText);
const interval = Number(intervalText);
const size = fs.statSync(file!).size;
const fd = fs.openSync(file!, 'r+');
const seg = SharedMapping.map(fd, 0, size, true);
const one = Buffer.alloc(1);
let x = 2463534242;
const random = (): number => {
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  return x;
};
const start = performance.now();
const end = start + Number(secondsText) * 1000;
let ticks = 0;
let late = 0;
const tick = (): void => {
  for (let i = 0; i < count; i++) {
    const at = random() % size;
    seg.copyOut(at, one);
    one[0] = (one[0]! + 1 + (random() % 255)) & 0xff; // always a different value
    seg.copyIn(at, one);
  }
  ticks++;
  const next = start + (ticks + 1) * interval;
  const now = performance.now();
  if (now > next) late++;
  if (now >= end) {
    process.stdout.write(`${JSON.stringify({ ticks, late, changedPerTick: count })}\n`);
    return;
  }
  setTimeout(tick, Math.max(0, next - now));
};
setTimeout(tick, interval);
