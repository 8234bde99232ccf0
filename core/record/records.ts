import { crc32 } from 'node:zlib';
import { MAX_VECTORS } from '../ivshmem/messages';
import { FormatError } from '../snapshot/format';
import { chunkCount, type RecordingHeader } from './header';

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
const REASONS: readonly StopReason[] = ['stopped', 'duration', 'max-size', 'source-lost', 'detached'];
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

/** The largest record a recording with this header can hold (a delta where every other byte changed). */
export function maxRecordLength(h: Pick<RecordingHeader, 'rangeLength' | 'chunkSize'>): number {
  const delta = RECORD_HEADER + 16 + h.rangeLength + 8 * Math.ceil(h.rangeLength / 2);
  return Math.max(delta, RECORD_HEADER + 8 + h.chunkSize, RECORD_HEADER + 8 + 8 * chunkCount(h), RECORD_HEADER + 16 + MAX_MESSAGE_LENGTH);
}

/**
 * Walks a checked delta body: visit(start relative to the range, length, where its new bytes start
 * in body). No allocation per run: a seek walks thousands of them.
 */
export function forEachRun(body: Buffer, visit: (start: number, length: number, dataAt: number) => void): void {
  let at = 0;
  let pos = 0;
  while (at < body.length) {
    let gap = 0;
    let len = 0;
    let scale = 1;
    let b: number;
    do {
      b = body[at++]!;
      gap += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    scale = 1;
    do {
      b = body[at++]!;
      len += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    pos += gap;
    visit(pos, len, at);
    at += len;
    pos += len;
  }
}

/** Checks the runs of a delta against the range; returns the changed byte count. Allocates nothing. */
function checkRuns(body: Buffer, runs: number, rangeLength: number): number {
  let at = 0;
  let pos = 0;
  let changed = 0;
  for (let i = 0; i < runs; i++) {
    let gap = 0;
    let len = 0;
    for (let field = 0; field < 2; field++) {
      // A LEB128 number of at most 5 bytes, without a redundant last byte.
      let value = 0;
      let scale = 1;
      for (let n = 0; ; n++) {
        if (n === 5) throw new FormatError('a delta holds a number longer than 5 bytes');
        if (at >= body.length) throw new FormatError('a delta ends inside a number');
        const b = body[at++]!;
        value += (b & 0x7f) * scale;
        if ((b & 0x80) === 0) {
          if (n > 0 && b === 0) throw new FormatError('a delta holds a number with a redundant byte');
          break;
        }
        scale *= 128;
      }
      if (field === 0) gap = value;
      else len = value;
    }
    // Runs are maximal: two runs have at least one unchanged byte between them.
    if (i > 0 && gap === 0) throw new FormatError(`run ${i} of a delta touches the previous one`);
    if (len === 0) throw new FormatError(`run ${i} of a delta is empty`);
    pos += gap;
    if (pos + len > rangeLength) throw new FormatError(`run ${i} of a delta (${pos}+${len}) runs past the recorded range (${rangeLength} bytes)`);
    if (at + len > body.length) throw new FormatError(`run ${i} of a delta runs past the record`);
    at += len;
    pos += len;
    changed += len;
  }
  if (at !== body.length) throw new FormatError(`a delta has ${body.length - at} bytes after its ${runs} runs`);
  return changed;
}

/** Copies body[from, from + length) to target[at...]: a loop for the short runs most deltas hold (a native copy costs more to call). */
export function copyRun(body: Buffer, from: number, length: number, target: Uint8Array, at: number): void {
  if (length > 32) body.copy(target, at, from, from + length);
  else for (let i = 0; i < length; i++) target[at + i] = body[from + i]!;
}

/** A u64 that must fit a JavaScript number exactly (read as two u32: BigInt costs more per record). */
function readSafeU64(buf: Buffer, at: number): number | undefined {
  const high = buf.readUInt32LE(at + 4);
  return high > 0x1fffff ? undefined : high * 2 ** 32 + buf.readUInt32LE(at);
}

/** The fixed part of a record, checked: length still to be checked against the file by the caller. */
export function readFrame(buf: Buffer, at: number): { length: number; kind: RecordKind; sample: number; timeUs: number } {
  const length = buf.readUInt32LE(at);
  const kind = buf[at + 8]!;
  if (kind < KIND.chunk || kind > KIND.end) throw new FormatError(`unknown record kind ${kind}`);
  if (buf[at + 9] !== 0 || buf.readUInt16LE(at + 10) !== 0) throw new FormatError('reserved bytes of a record are not zero');
  const timeUs = readSafeU64(buf, at + 16);
  if (timeUs === undefined) throw new FormatError(`record time ${buf.readBigUInt64LE(at + 16)} µs is out of range`);
  return { length, kind: kind as RecordKind, sample: buf.readUInt32LE(at + 12), timeUs };
}

function need(p: Buffer, n: number, what: string): void {
  if (p.length !== n) throw new FormatError(`${what} record of ${RECORD_HEADER + p.length} bytes (expected ${RECORD_HEADER + n})`);
}

function zero(p: Buffer, at: number): void {
  if (p.readUInt32LE(at) !== 0) throw new FormatError('reserved bytes of a record are not zero');
}

/** Checks one whole record (CRC and every number in it) against the header. Throws FormatError. */
export function parseRecord(rec: Buffer, h: RecordingHeader): ParsedRecord {
  return parseRecordAt(rec, 0, rec.length, h);
}

/** parseRecord for the record at buf[at, at + length), without copying it out (a seek parses thousands). */
export function parseRecordAt(buf: Buffer, at: number, length: number, h: RecordingHeader): ParsedRecord {
  if (length < RECORD_HEADER || at + length > buf.length) throw new FormatError(`a record of ${length} bytes is shorter than its frame`);
  const frame = readFrame(buf, at);
  const { kind, sample, timeUs } = frame;
  if (frame.length !== length) throw new FormatError(`record length ${frame.length} does not match ${length}`);
  if (crc32(buf.subarray(at + 8, at + length)) !== buf.readUInt32LE(at + 4)) throw new FormatError('a record is corrupted (CRC mismatch)');
  const p = buf.subarray(at + RECORD_HEADER, at + length);
  switch (kind) {
    case KIND.chunk: {
      if (p.length < 8) throw new FormatError('a chunk record is too short');
      const index = p.readUInt32LE(0);
      if (index >= chunkCount(h)) throw new FormatError(`chunk ${index} is past the recorded range (${chunkCount(h)} chunks)`);
      need(p, 8 + chunkBytes(h, index), `a chunk ${index}`);
      zero(p, 4);
      return { kind: 'chunk', sample, timeUs, index, data: p.subarray(8) };
    }
    case KIND.keyframe: {
      const count = p.length >= 8 ? p.readUInt32LE(0) : -1;
      if (count !== chunkCount(h)) throw new FormatError(`a keyframe lists ${count} chunks, the range has ${chunkCount(h)}`);
      need(p, 8 + 8 * count, 'a keyframe');
      zero(p, 4);
      const offsets: number[] = [];
      for (let i = 0; i < count; i++) {
        const o = readSafeU64(p, 8 + 8 * i);
        if (o === undefined) throw new FormatError(`a keyframe points chunk ${i} at ${p.readBigUInt64LE(8 + 8 * i)}, past any file`);
        offsets.push(o);
      }
      return { kind: 'keyframe', sample, timeUs, offsets };
    }
    case KIND.delta: {
      if (p.length < 16) throw new FormatError('a delta record is too short');
      zero(p, 12);
      const runs = p.readUInt32LE(4);
      const changedBytes = p.readUInt32LE(8);
      const body = p.subarray(16);
      if (checkRuns(body, runs, h.rangeLength) !== changedBytes) throw new FormatError(`a delta claims ${changedBytes} changed bytes, its runs hold another count`);
      return { kind: 'delta', sample, timeUs, missed: p.readUInt32LE(0), runs, changedBytes, body };
    }
    case KIND.event: {
      need(p, 12, 'an event');
      const type = p[0]!;
      const peer = p.readUInt16LE(2);
      const vector = p.readUInt16LE(4);
      const count = p.readUInt32LE(8);
      if (p[1] !== 0 || p.readUInt16LE(6) !== 0) throw new FormatError('reserved bytes of an event are not zero');
      if (type === 1 && vector <= MAX_VECTORS && count === 1) return { kind: 'event', sample, timeUs, event: { type: 'peer-joined', peer, vectors: vector } };
      if (type === 2 && vector === 0 && count === 1) return { kind: 'event', sample, timeUs, event: { type: 'peer-left', peer } };
      if (type === 3 && peer === 0 && vector < MAX_VECTORS && count >= 1) return { kind: 'event', sample, timeUs, event: { type: 'interrupt', vector, count } };
      throw new FormatError(`an event of type ${type} with peer ${peer}, vector ${vector}, count ${count} is not valid`);
    }
    default: {
      if (p.length < 16) throw new FormatError('an end record is too short');
      const reason = REASONS[p[0]! - 1];
      if (!reason) throw new FormatError(`unknown stop reason ${p[0]}`);
      if (p[1] !== 0 || p.readUInt16LE(2) !== 0) throw new FormatError('reserved bytes of an end record are not zero');
      zero(p, 12);
      const textLength = p.readUInt32LE(8);
      if (textLength > MAX_MESSAGE_LENGTH) throw new FormatError(`an end message of ${textLength} bytes is longer than ${MAX_MESSAGE_LENGTH}`);
      need(p, 16 + textLength, 'an end');
      let message: string;
      try {
        message = new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(16));
      } catch {
        throw new FormatError('the end message is not valid UTF-8');
      }
      return { kind: 'end', sample, timeUs, missed: p.readUInt32LE(4), reason, message };
    }
  }
}
