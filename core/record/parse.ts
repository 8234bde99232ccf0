import { crc32 } from '../builtins';
import { MAX_VECTORS } from '../ivshmem/messages';
import { FormatError } from '../snapshot/format';
import { chunkCount, type RecordingHeader } from './header';
import { KIND, MAX_MESSAGE_LENGTH, RECORD_HEADER, REASONS, chunkBytes, type ParsedRecord, type RecordKind } from './records';

/**
 * Reading records back: every number checked before it is trusted (docs/recording-format.md), and
 * the walk over a delta's runs that a seek does thousands of times, without allocating.
 */

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

/** Checks the fixed part of the record at buf[at] (kind, reserved bytes, time); returns its kind. */
function checkFrame(buf: Buffer, at: number): RecordKind {
  const kind = buf[at + 8]!;
  if (kind < KIND.chunk || kind > KIND.end) throw new FormatError(`unknown record kind ${kind}`);
  if (buf[at + 9] !== 0 || buf.readUInt16LE(at + 10) !== 0) throw new FormatError('reserved bytes of a record are not zero');
  if (readSafeU64(buf, at + 16) === undefined) throw new FormatError(`record time ${buf.readBigUInt64LE(at + 16)} µs is out of range`);
  return kind as RecordKind;
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
  const kind = checkFrame(buf, at);
  if (buf.readUInt32LE(at) !== length) throw new FormatError(`record length ${buf.readUInt32LE(at)} does not match ${length}`);
  const sample = buf.readUInt32LE(at + 12);
  const timeUs = readSafeU64(buf, at + 16)!;
  if (crc32(buf.subarray(at + 8, at + length)) !== buf.readUInt32LE(at + 4)) throw new FormatError('a record is corrupted (CRC mismatch)');
  if (kind === KIND.delta) {
    // The common record, read in place (a scan or a seek parses hundreds of thousands).
    const q = at + RECORD_HEADER;
    if (length < RECORD_HEADER + 16) throw new FormatError('a delta record is too short');
    if (buf.readUInt32LE(q + 12) !== 0) throw new FormatError('reserved bytes of a record are not zero');
    const runs = buf.readUInt32LE(q + 4);
    const changedBytes = buf.readUInt32LE(q + 8);
    const body = buf.subarray(q + 16, at + length);
    if (checkRuns(body, runs, h.rangeLength) !== changedBytes) throw new FormatError(`a delta claims ${changedBytes} changed bytes, its runs hold another count`);
    return { kind: 'delta', sample, timeUs, missed: buf.readUInt32LE(q), runs, changedBytes, body };
  }
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
