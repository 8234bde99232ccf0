import { crc32 } from '../builtins';
import { MAX_OFFSET } from '../numbers';
import { FormatError } from '../snapshot/format';
import { MAX_WATCHED_BYTES } from '../watch/range-watcher';

/**
 * The .shmrec file header, version 1 (docs/recording-format.md). All integers little-endian.
 *
 *   0  magic "SHMREC\0\0"       8
 *   8  format version (1)       u32
 *  12  header length            u32   72 + source + layout, padded to 8; the first record starts here
 *  16  segment size             u64
 *  24  recorded range offset    u64
 *  32  recorded range length    u32   1 .. 64 MiB
 *  36  sampling interval, ms    u32   1 .. 3,600,000
 *  40  start time, ms (UTC)     u64
 *  48  peer ID                  u32   0..65535, or 0xffffffff when unknown
 *  52  chunk size               u32   power of two, 4 KiB .. 16 MiB: the unit of keyframes
 *  56  source length            u32
 *  60  layout length            u32
 *  64  flags                    u32   0
 *  68  header CRC-32            u32   over the header with this field as 0
 *  72  source text (UTF-8), embedded layout (UTF-8 JSON), zero padding to 8
 */
export const MAGIC = Buffer.from('SHMREC\0\0', 'latin1');
export const FORMAT_VERSION = 1;
export const FIXED_HEADER = 72;
export const MAX_SOURCE_LENGTH = 4096;
export const MAX_LAYOUT_LENGTH = 1024 * 1024;
/** A recording keeps two copies of its range while it samples (RangeWatcher): the same bound as a watch. */
export const MAX_RANGE_LENGTH = MAX_WATCHED_BYTES;
export const MAX_INTERVAL_MS = 3_600_000;
export const NO_PEER = 0xffffffff;
export const MIN_CHUNK = 4096;
export const MAX_CHUNK = 16 * 1024 * 1024;
/** Year 10000: a larger start time is garbage (Date rejects it too). */
const MAX_START_MS = 253402300799999;

export interface RecordingHeader {
  version: number;
  headerLength: number;
  segmentSize: number;
  /** The recorded bytes: [rangeOffset, rangeOffset + rangeLength) of the segment. */
  rangeOffset: number;
  rangeLength: number;
  intervalMs: number;
  /** When the first sample was taken, ms since the epoch (UTC); record times count from here. */
  startTime: number;
  peerId: number | undefined;
  chunkSize: number;
  source: string;
  layout: string | undefined;
}

export function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

export function chunkCount(h: Pick<RecordingHeader, 'rangeLength' | 'chunkSize'>): number {
  return Math.ceil(h.rangeLength / h.chunkSize);
}

/** Serialises a header; headerLength is computed from its parts. */
export function encodeHeader(h: Omit<RecordingHeader, 'headerLength' | 'version'>): Buffer {
  const source = Buffer.from(h.source, 'utf8');
  const layout = Buffer.from(h.layout ?? '', 'utf8');
  const length = align8(FIXED_HEADER + source.length + layout.length);
  const buf = Buffer.alloc(length);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(FORMAT_VERSION, 8);
  buf.writeUInt32LE(length, 12);
  buf.writeBigUInt64LE(BigInt(h.segmentSize), 16);
  buf.writeBigUInt64LE(BigInt(h.rangeOffset), 24);
  buf.writeUInt32LE(h.rangeLength, 32);
  buf.writeUInt32LE(h.intervalMs, 36);
  buf.writeBigUInt64LE(BigInt(h.startTime), 40);
  buf.writeUInt32LE(h.peerId ?? NO_PEER, 48);
  buf.writeUInt32LE(h.chunkSize, 52);
  buf.writeUInt32LE(source.length, 56);
  buf.writeUInt32LE(layout.length, 60);
  source.copy(buf, FIXED_HEADER);
  layout.copy(buf, FIXED_HEADER + source.length);
  buf.writeUInt32LE(crc32(buf), 68);
  return buf;
}

/** Whether the first bytes are a recording's magic (to tell recordings from other files). */
export function hasRecordingMagic(first: Uint8Array): boolean {
  return first.length >= 8 && Buffer.from(first.buffer, first.byteOffset, 8).equals(MAGIC);
}

/** The header's length, from its fixed part; checks magic and version first. */
export function declaredHeaderLength(fixed: Buffer, fileSize: number): number {
  if (fixed.length < FIXED_HEADER || fileSize < FIXED_HEADER) throw new FormatError(`too short to be a recording (${fileSize} bytes; its header alone is at least ${FIXED_HEADER})`);
  if (!hasRecordingMagic(fixed)) throw new FormatError('not a Shared Memory Inspector recording (bad magic)');
  const version = fixed.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    throw new FormatError(version > FORMAT_VERSION ? `written by a newer version of the format (${version}); this tool reads version ${FORMAT_VERSION}` : `unknown format version ${version}`);
  }
  const length = fixed.readUInt32LE(12);
  const largest = align8(FIXED_HEADER + MAX_SOURCE_LENGTH + MAX_LAYOUT_LENGTH);
  if (length < FIXED_HEADER || length % 8 !== 0 || length > largest) throw new FormatError(`header length ${length} is not a multiple of 8 between ${FIXED_HEADER} and ${largest}`);
  if (length > fileSize) throw new FormatError(`truncated: the header claims ${length} bytes, the file has ${fileSize}`);
  return length;
}

/** Checks every number of a header before anything trusts it; throws FormatError with one line. */
export function decodeHeader(buf: Buffer, fileSize: number): RecordingHeader {
  const headerLength = declaredHeaderLength(buf, fileSize);
  if (buf.length < headerLength) throw new FormatError(`truncated header: ${buf.length} of ${headerLength} bytes`);
  const h = buf.subarray(0, headerLength);
  const size64 = h.readBigUInt64LE(16);
  if (size64 === 0n || size64 > BigInt(MAX_OFFSET)) throw new FormatError(`segment size ${size64} is out of range (1 byte to 256 TiB)`);
  const segmentSize = Number(size64);
  const offset64 = h.readBigUInt64LE(24);
  const rangeLength = h.readUInt32LE(32);
  if (rangeLength === 0 || rangeLength > MAX_RANGE_LENGTH) throw new FormatError(`recorded length ${rangeLength} is out of range (1 byte to ${MAX_RANGE_LENGTH})`);
  if (offset64 > size64 - BigInt(rangeLength)) throw new FormatError(`the recorded range ${offset64}+${rangeLength} runs past the segment (${segmentSize} bytes)`);
  const intervalMs = h.readUInt32LE(36);
  if (intervalMs === 0 || intervalMs > MAX_INTERVAL_MS) throw new FormatError(`sampling interval ${intervalMs} ms is out of range (1 to ${MAX_INTERVAL_MS})`);
  const start64 = h.readBigUInt64LE(40);
  if (start64 > BigInt(MAX_START_MS)) throw new FormatError(`start time ${start64} is not a valid date`);
  const peerRaw = h.readUInt32LE(48);
  if (peerRaw !== NO_PEER && peerRaw > 0xffff) throw new FormatError(`peer ID ${peerRaw} is out of range (0..65535)`);
  const chunkSize = h.readUInt32LE(52);
  if (chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK || (chunkSize & (chunkSize - 1)) !== 0) throw new FormatError(`chunk size ${chunkSize} is not a power of two between 4 KiB and 16 MiB`);
  const sourceLength = h.readUInt32LE(56);
  if (sourceLength > MAX_SOURCE_LENGTH) throw new FormatError(`source description of ${sourceLength} bytes is longer than ${MAX_SOURCE_LENGTH}`);
  const layoutLength = h.readUInt32LE(60);
  if (layoutLength > MAX_LAYOUT_LENGTH) throw new FormatError(`embedded layout of ${layoutLength} bytes is larger than ${MAX_LAYOUT_LENGTH}`);
  const flags = h.readUInt32LE(64);
  if (flags !== 0) throw new FormatError(`unknown flags 0x${flags.toString(16)}`);
  const used = FIXED_HEADER + sourceLength + layoutLength;
  if (align8(used) !== headerLength) throw new FormatError(`header length ${headerLength} does not match its parts (${align8(used)})`);
  const copy = Buffer.from(h);
  copy.writeUInt32LE(0, 68);
  if (crc32(copy) !== h.readUInt32LE(68)) throw new FormatError('the header is corrupted (CRC mismatch)');
  if (h.subarray(used).some((b) => b !== 0)) throw new FormatError('the header padding is not zero');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let source: string;
  let layout: string | undefined;
  try {
    source = decoder.decode(h.subarray(FIXED_HEADER, FIXED_HEADER + sourceLength));
    layout = layoutLength > 0 ? decoder.decode(h.subarray(FIXED_HEADER + sourceLength, used)) : undefined;
  } catch {
    throw new FormatError('the source description or embedded layout is not valid UTF-8');
  }
  if (layout !== undefined) {
    try {
      JSON.parse(layout);
    } catch {
      throw new FormatError('the embedded layout is not valid JSON');
    }
  }
  return {
    version: FORMAT_VERSION,
    headerLength,
    segmentSize,
    rangeOffset: Number(offset64),
    rangeLength,
    intervalMs,
    startTime: Number(start64),
    peerId: peerRaw === NO_PEER ? undefined : peerRaw,
    chunkSize,
    source,
    layout,
  };
}
