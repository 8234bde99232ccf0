import { crc32 } from '../builtins';
import type { RecordingHeader } from './header';

/**
 * The records that follow a recording's header, each framed alike (docs/recording-format.md):
 *
 *   0  record length (all of it)  u32
 *   4  CRC-32                     u32   of bytes 8 to the end (a wrong length moves that end: a mismatch)
 *   8  kind                       u8    1 chunk, 2 keyframe, 3 delta, 4 event, 5 end
 *   9  reserved                   u8, u16  0
 *  12  sample number              u32   0 is the first state; +1 per tick
 *  16  time, µs since the start   u64
 *  24  payload
 *
 * A reader that meets a record it cannot trust (cut short, bad CRC, bad number) stops there: an
 * append-only file torn by a crash keeps everything before its last complete record.
 */
export const RECORD_HEADER = 24;
export const KIND = { chunk: 1, keyframe: 2, delta: 3, event: 4, end: 5 } as const;
export type RecordKind = (typeof KIND)[keyof typeof KIND];
export const MAX_MESSAGE_LENGTH = 4096;

export type RecordedEvent =
  | { type: 'peer-joined'; peer: number; vectors: number }
  | { type: 'peer-left'; peer: number }
  /** Interrupts received on one of our vectors since the previous event for it (an eventfd counts). */
  | { type: 'interrupt'; vector: number; count: number };

export type StopReason = 'stopped' | 'duration' | 'max-size' | 'source-lost' | 'detached';
export const REASONS: readonly StopReason[] = ['stopped', 'duration', 'max-size', 'source-lost', 'detached'];
const EVENTS = ['peer-joined', 'peer-left', 'interrupt'] as const;

export type ParsedRecord =
  | { kind: 'chunk'; sample: number; timeUs: number; index: number; data: Buffer }
  | { kind: 'keyframe'; sample: number; timeUs: number; offsets: number[] }
  /** `body` holds the runs, checked; walk them with forEachRun. */
  | { kind: 'delta'; sample: number; timeUs: number; missed: number; runs: number; changedBytes: number; body: Buffer }
  | { kind: 'event'; sample: number; timeUs: number; event: RecordedEvent }
  | { kind: 'end'; sample: number; timeUs: number; missed: number; reason: StopReason; message: string };

function frame(kind: RecordKind, sample: number, timeUs: number, payload: number): Buffer {
  const buf = Buffer.alloc(RECORD_HEADER + payload);
  buf.writeUInt32LE(buf.length, 0);
  buf[8] = kind;
  buf.writeUInt32LE(sample, 12);
  buf.writeBigUInt64LE(BigInt(timeUs), 16);
  return buf;
}

export function recordCrc(rec: Uint8Array): number {
  return crc32(rec.subarray(8));
}

function seal(buf: Buffer): Buffer {
  buf.writeUInt32LE(recordCrc(buf), 4);
  return buf;
}

/** Bytes of a chunk: chunkSize, or what is left for the last one. */
export function chunkBytes(h: Pick<RecordingHeader, 'rangeLength' | 'chunkSize'>, index: number): number {
  return Math.min(h.chunkSize, h.rangeLength - index * h.chunkSize);
}

export function encodeChunk(sample: number, timeUs: number, index: number, data: Uint8Array): Buffer {
  const buf = frame(KIND.chunk, sample, timeUs, 8 + data.length);
  buf.writeUInt32LE(index, 24);
  buf.set(data, 32);
  return seal(buf);
}

/** offsets[i]: file offset of the chunk record holding chunk i as of this keyframe; 0: all zeros. */
export function encodeKeyframe(sample: number, timeUs: number, offsets: ArrayLike<number>): Buffer {
  const buf = frame(KIND.keyframe, sample, timeUs, 8 + 8 * offsets.length);
  buf.writeUInt32LE(offsets.length, 24);
  for (let i = 0; i < offsets.length; i++) buf.writeBigUInt64LE(BigInt(offsets[i]!), 32 + 8 * i);
  return seal(buf);
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

/**
 * A delta: the changed runs of one sample, `runs` = [start, end, start, end, ...] relative to the
 * recorded range, ascending, each a maximal run of changed bytes; their new bytes come from `state`.
 */
export function encodeDelta(sample: number, timeUs: number, missed: number, runs: ArrayLike<number>, state: Uint8Array): Buffer {
  let size = 16;
  let changed = 0;
  let previousEnd = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]!;
    const end = runs[i + 1]!;
    size += varintLength(start - previousEnd) + varintLength(end - start) + (end - start);
    changed += end - start;
    previousEnd = end;
  }
  const buf = frame(KIND.delta, sample, timeUs, size);
  buf.writeUInt32LE(missed, 24);
  buf.writeUInt32LE(runs.length / 2, 28);
  buf.writeUInt32LE(changed, 32);
  let at = 40;
  previousEnd = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]!;
    const end = runs[i + 1]!;
    at = writeVarint(buf, at, start - previousEnd);
    at = writeVarint(buf, at, end - start);
    buf.set(state.subarray(start, end), at);
    at += end - start;
    previousEnd = end;
  }
  return seal(buf);
}

export function encodeEvent(sample: number, timeUs: number, e: RecordedEvent): Buffer {
  const buf = frame(KIND.event, sample, timeUs, 12);
  buf[24] = EVENTS.indexOf(e.type) + 1;
  if (e.type !== 'interrupt') buf.writeUInt16LE(e.peer, 26);
  if (e.type === 'peer-joined') buf.writeUInt16LE(e.vectors, 28);
  if (e.type === 'interrupt') buf.writeUInt16LE(e.vector, 28);
  buf.writeUInt32LE(e.type === 'interrupt' ? e.count : 1, 32);
  return seal(buf);
}

export function encodeEnd(sample: number, timeUs: number, missed: number, reason: StopReason, message: string): Buffer {
  const text = Buffer.from(message, 'utf8').subarray(0, MAX_MESSAGE_LENGTH);
  // A cut inside a UTF-8 sequence would make the record invalid: drop a partial last character.
  const clean = Buffer.from(new TextDecoder().decode(text).replace(/\uFFFD$/, ''), 'utf8');
  const buf = frame(KIND.end, sample, timeUs, 16 + clean.length);
  buf[24] = REASONS.indexOf(reason) + 1;
  buf.writeUInt32LE(missed, 28);
  buf.writeUInt32LE(clean.length, 32);
  clean.copy(buf, 40);
  return seal(buf);
}

