import { crc32 } from '../builtins';
import { MAX_OFFSET } from '../numbers';

/**
 * The .shmsnap format, version 2 (see docs/snapshot-format.md). All integers little-endian.
 * Version 1 has the same layout; only its block checksums differ (CRC-32 of the block's bytes;
 * version 2: page-hash.ts). Writers write version 2; readers read both.
 *
 *   0  magic "SHMSNAP\0"        8
 *   8  format version (1, 2)    u32
 *  12  header length            u32   multiple of 4096; the raw bytes start here
 *  16  segment size             u64
 *  24  capture time, ms (UTC)   u64
 *  32  block size               u32   power of two, 4 KiB..16 MiB; unit of the block checksums
 *  36  peer ID                  u32   0..65535, or 0xffffffff when unknown
 *  40  flags                    u32   bit 0: the capture was checked for torn pages
 *  44  source length            u32   bytes of UTF-8 that follow the fixed part
 *  48  layout length            u32   bytes of UTF-8 JSON (an embedded layout), 0 if none
 *  52  torn range count         u32
 *  56  block count              u32   = ceil(segment size / block size)
 *  60  header CRC-32            u32   over the used header bytes with this field as 0
 *  64  source text, layout text, zero padding to 8, torn ranges (u64 offset, u64 length each),
 *      block checksums (u32 each), zero padding to the header length
 *
 * The raw bytes follow, page-aligned, so `dd bs=4096 skip=<header length / 4096>` cuts them out
 * and they can be mapped directly; blocks of zeros are left as holes.
 */

export const MAGIC = Buffer.from('SHMSNAP\0', 'latin1');
/** The version writers write. */
export const FORMAT_VERSION = 2;
/** The oldest version readers read. */
export const OLDEST_VERSION = 1;
export const FIXED_HEADER = 64;
export const PAGE = 4096;
export const DEFAULT_BLOCK_SIZE = 64 * 1024;
export const MAX_SOURCE_LENGTH = 4096;
export const MAX_LAYOUT_LENGTH = 1024 * 1024;
export const MAX_TORN_RANGES = 65536;
export const NO_PEER = 0xffffffff;
export const FLAG_CHECKED = 1;
/** A writer picks the block size so that there are at most this many blocks. */
export const MAX_BLOCKS = 2 ** 24;
/** The largest header the parts above can add up to; a reader refuses to allocate more. */
export const MAX_HEADER_LENGTH = headerLength(MAX_SOURCE_LENGTH, MAX_LAYOUT_LENGTH, MAX_TORN_RANGES, MAX_BLOCKS);

export interface TornRange {
  offset: number;
  length: number;
}

export interface SnapshotHeader {
  version: number;
  headerLength: number;
  size: number;
  /** Milliseconds since the epoch, UTC. */
  time: number;
  blockSize: number;
  peerId: number | undefined;
  /** True when the capture re-read changing pages and recorded the ones still torn. */
  checked: boolean;
  source: string;
  layout: string | undefined;
  torn: TornRange[];
  blockChecksums: Uint32Array;
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

/** The smallest power-of-two block size from 64 KiB up that keeps the block count in bounds. */
export function chooseBlockSize(size: number): number {
  let blockSize = DEFAULT_BLOCK_SIZE;
  while (blockCount(size, blockSize) > MAX_BLOCKS) blockSize *= 2;
  return blockSize;
}

/** Bytes the header takes for these variable parts, padded to a page. */
export function headerLength(sourceBytes: number, layoutBytes: number, tornCount: number, blocks: number): number {
  const used = align(FIXED_HEADER + sourceBytes + layoutBytes, 8) + tornCount * 16 + blocks * 4;
  return align(used, PAGE);
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Serialises a header into exactly header.headerLength bytes, with its CRC filled in. */
export function encodeHeader(h: SnapshotHeader): Buffer {
  const source = Buffer.from(h.source, 'utf8');
  const layout = Buffer.from(h.layout ?? '', 'utf8');
  const needed = headerLength(source.length, layout.length, h.torn.length, h.blockChecksums.length);
  if (needed > h.headerLength || h.headerLength % PAGE !== 0) throw new Error(`header length ${h.headerLength} cannot hold its parts (${needed})`);
  const length = h.headerLength;
  const buf = Buffer.alloc(length);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(h.version, 8);
  buf.writeUInt32LE(length, 12);
  buf.writeBigUInt64LE(BigInt(h.size), 16);
  buf.writeBigUInt64LE(BigInt(h.time), 24);
  buf.writeUInt32LE(h.blockSize, 32);
  buf.writeUInt32LE(h.peerId ?? NO_PEER, 36);
  buf.writeUInt32LE(h.checked ? FLAG_CHECKED : 0, 40);
  buf.writeUInt32LE(source.length, 44);
  buf.writeUInt32LE(layout.length, 48);
  buf.writeUInt32LE(h.torn.length, 52);
  buf.writeUInt32LE(h.blockChecksums.length, 56);
  let p = FIXED_HEADER;
  p += source.copy(buf, p);
  p += layout.copy(buf, p);
  p = align(p, 8);
  for (const t of h.torn) {
    buf.writeBigUInt64LE(BigInt(t.offset), p);
    buf.writeBigUInt64LE(BigInt(t.length), p + 8);
    p += 16;
  }
  for (const c of h.blockChecksums) {
    buf.writeUInt32LE(c, p);
    p += 4;
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, p)), 60);
  return buf;
}

/** Where a header went wrong; the reader turns it into "<file>: <message>". */
export class FormatError extends Error {}

/** The fixed part tells how long the whole header is; read FIXED_HEADER bytes, then this many. */
export function declaredHeaderLength(fixed: Uint8Array, fileSize: number): number {
  if (fileSize < FIXED_HEADER || fixed.length < FIXED_HEADER) {
    throw new FormatError(`too short to be a snapshot (${fileSize} bytes; a header alone is ${PAGE})`);
  }
  const buf = Buffer.from(fixed.buffer, fixed.byteOffset, fixed.byteLength);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new FormatError('not a Shared Memory Inspector snapshot (bad magic)');
  const version = buf.readUInt32LE(8);
  if (version < OLDEST_VERSION || version > FORMAT_VERSION) {
    throw new FormatError(
      version > FORMAT_VERSION ? `written by a newer version of the format (${version}); this tool reads versions ${OLDEST_VERSION} to ${FORMAT_VERSION}` : `unknown format version ${version}`,
    );
  }
  const length = buf.readUInt32LE(12);
  if (length < PAGE || length % PAGE !== 0) throw new FormatError(`header length ${length} is not a positive multiple of ${PAGE}`);
  if (length > MAX_HEADER_LENGTH) throw new FormatError(`header length ${length} is larger than any valid header (${MAX_HEADER_LENGTH})`);
  if (length > fileSize) throw new FormatError(`truncated: the header claims ${length} bytes, the file has ${fileSize}`);
  return length;
}

/**
 * Checks every number of a header before anything trusts it. `buf` holds the whole header
 * (declaredHeaderLength bytes, or more). Throws FormatError with a one-line reason.
 */
export function decodeHeader(whole: Buffer, fileSize: number): SnapshotHeader {
  const headerLen = declaredHeaderLength(whole, fileSize);
  if (whole.length < headerLen) throw new FormatError(`truncated header: ${whole.length} of ${headerLen} bytes`);
  const buf = whole.subarray(0, headerLen);
  const size64 = buf.readBigUInt64LE(16);
  if (size64 === 0n || size64 > BigInt(MAX_OFFSET)) throw new FormatError(`segment size ${size64} is out of range (1 byte to 256 TiB)`);
  const size = Number(size64);
  const time64 = buf.readBigUInt64LE(24);
  // Year 10000 is far enough; a larger number is garbage, and Date would reject it anyway.
  if (time64 > 253402300799999n) throw new FormatError(`capture time ${time64} is not a valid date`);
  const blockSize = buf.readUInt32LE(32);
  if (blockSize < PAGE || blockSize > 16 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw new FormatError(`block size ${blockSize} is not a power of two between 4 KiB and 16 MiB`);
  }
  const peerRaw = buf.readUInt32LE(36);
  if (peerRaw !== NO_PEER && peerRaw > 0xffff) throw new FormatError(`peer ID ${peerRaw} is out of range (0..65535)`);
  const flags = buf.readUInt32LE(40);
  if ((flags & ~FLAG_CHECKED) !== 0) throw new FormatError(`unknown flags 0x${flags.toString(16)}`);
  const sourceLen = buf.readUInt32LE(44);
  if (sourceLen > MAX_SOURCE_LENGTH) throw new FormatError(`source description of ${sourceLen} bytes is longer than ${MAX_SOURCE_LENGTH}`);
  const layoutLen = buf.readUInt32LE(48);
  if (layoutLen > MAX_LAYOUT_LENGTH) throw new FormatError(`embedded layout of ${layoutLen} bytes is larger than ${MAX_LAYOUT_LENGTH}`);
  const tornCount = buf.readUInt32LE(52);
  if (tornCount > MAX_TORN_RANGES) throw new FormatError(`${tornCount} torn ranges is more than ${MAX_TORN_RANGES}`);
  const blocks = buf.readUInt32LE(56);
  if (blocks > MAX_BLOCKS) throw new FormatError(`${blocks} blocks is more than ${MAX_BLOCKS}`);
  const expectedBlocks = blockCount(size, blockSize);
  if (blocks !== expectedBlocks) throw new FormatError(`${blocks} block checksums for a ${size}-byte segment (expected ${expectedBlocks})`);
  const expectedLen = headerLength(sourceLen, layoutLen, tornCount, blocks);
  // A writer may reserve room (for torn ranges) that it does not use: the rest must be zero.
  if (expectedLen > headerLen) throw new FormatError(`header length ${headerLen} is smaller than its contents (${expectedLen})`);
  const expectedFile = headerLen + size;
  if (fileSize < expectedFile) throw new FormatError(`truncated: ${fileSize} bytes, expected ${expectedFile} (header ${headerLen} + data ${size})`);
  if (fileSize > expectedFile) throw new FormatError(`${fileSize - expectedFile} unexpected bytes after the data (expected ${expectedFile} bytes)`);

  const used = align(FIXED_HEADER + sourceLen + layoutLen, 8) + tornCount * 16 + blocks * 4;
  const stored = buf.readUInt32LE(60);
  const copy = Buffer.from(buf.subarray(0, used));
  copy.writeUInt32LE(0, 60);
  if (crc32(copy) !== stored) throw new FormatError('the header is corrupted (CRC mismatch)');
  if (buf.subarray(used).some((b) => b !== 0)) throw new FormatError('the header padding is not zero');

  const decoder = new TextDecoder('utf-8', { fatal: true });
  let p = FIXED_HEADER;
  let source: string;
  let layout: string | undefined;
  try {
    source = decoder.decode(buf.subarray(p, p + sourceLen));
    p += sourceLen;
    layout = layoutLen > 0 ? decoder.decode(buf.subarray(p, p + layoutLen)) : undefined;
    p += layoutLen;
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
  p = align(p, 8);
  const torn: TornRange[] = [];
  let previousEnd = 0;
  for (let i = 0; i < tornCount; i++, p += 16) {
    const offset = buf.readBigUInt64LE(p);
    const length = buf.readBigUInt64LE(p + 8);
    if (length === 0n || offset < BigInt(previousEnd) || offset + length > size64) {
      throw new FormatError(`torn range ${i} (${offset}+${length}) is empty, out of order or outside the segment`);
    }
    torn.push({ offset: Number(offset), length: Number(length) });
    previousEnd = Number(offset + length);
  }
  const blockChecksums = new Uint32Array(blocks);
  for (let i = 0; i < blocks; i++, p += 4) blockChecksums[i] = buf.readUInt32LE(p);

  return {
    version: buf.readUInt32LE(8),
    headerLength: headerLen,
    size,
    time: Number(time64),
    blockSize,
    peerId: peerRaw === NO_PEER ? undefined : peerRaw,
    checked: (flags & FLAG_CHECKED) !== 0,
    source,
    layout,
    torn,
    blockChecksums,
  };
}
