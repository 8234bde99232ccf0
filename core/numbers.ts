import { MAX_OFFSET } from '../shared/checks';
import { InputError } from './errors';

/** Largest segment or offset we accept: 2^48 bytes (256 TiB), far below 2^53 so that sums of two
 * offsets stay exact in a JavaScript number. (Defined with the message checks, which bound it too.) */
export { MAX_OFFSET } from '../shared/checks';

const DECIMAL = /^[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const SIZE = /^([0-9]+)(K|M|G|T|KiB|MiB|GiB|TiB)$/;
const UNITS: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Parses an offset or length given by a user: decimal ("4096") or hex ("0x1000").
 * Unlike xxd, a leading 0 does not mean octal: "010" is ten.
 */
export function parseOffset(text: string, what: string): number {
  let value: number;
  if (DECIMAL.test(text)) value = Number(text);
  else if (HEX.test(text)) value = parseInt(text.slice(2), 16);
  else throw new InputError(`${what} must be a decimal or 0x-hex number, got "${text}"`);
  if (!Number.isSafeInteger(value) || value > MAX_OFFSET) {
    throw new InputError(`${what} ${text} is too large (at most ${MAX_OFFSET} = 256 TiB)`);
  }
  return value;
}

/** Like parseOffset, and also accepts binary units: "64K", "16M", "1G", "2GiB". */
export function parseSize(text: string, what: string): number {
  const m = SIZE.exec(text);
  if (!m) return parseOffset(text, what);
  const unit = UNITS[m[2]!.charAt(0)]!;
  const value = Number(m[1]) * unit;
  if (!Number.isSafeInteger(value) || value > MAX_OFFSET) {
    throw new InputError(`${what} ${text} is too large (at most 256 TiB)`);
  }
  return value;
}

/** Parses a small positive integer such as an interval in milliseconds. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!DECIMAL.test(text)) throw new InputError(`${what} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new InputError(`${what} must be between ${min} and ${max}, got ${text}`);
  return value;
}

/** Parses a number that may have a fraction, such as a time in ms ("1234.5") or seconds ("0.5"). */
export function parseDecimal(text: string, what: string, min: number, max: number): number {
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text)) throw new InputError(`${what} must be a number such as 12 or 12.5, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new InputError(`${what} must be between ${min} and ${max}, got ${text}`);
  return value;
}

/** Hex with a 0x prefix; exact for every offset up to 2^53. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** "1.5 GiB", "512 bytes": sizes for people. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

export interface Range {
  offset: number;
  length: number;
}

/**
 * Resolves an optional user range against a segment of `size` bytes and checks it once, here,
 * where it enters. Returns a range that lies entirely inside the segment.
 */
export function resolveRange(size: number, offset: number | undefined, length: number | undefined): Range {
  const start = offset ?? 0;
  if (start > size) {
    throw new InputError(`offset ${hex(start)} is past the end of the segment (size ${hex(size)} = ${formatBytes(size)})`);
  }
  const len = length ?? size - start;
  if (len > size - start) {
    throw new InputError(
      `length ${len} at offset ${hex(start)} runs past the end of the segment (size ${hex(size)} = ${formatBytes(size)})`,
    );
  }
  return { offset: start, length: len };
}

/** Splits [offset, offset+length) into pieces of at most `chunk` bytes, aligned to `chunk`. */
export function* chunks(range: Range, chunk: number): Generator<Range> {
  const end = range.offset + range.length;
  let pos = range.offset;
  while (pos < end) {
    const next = Math.min(end, (Math.floor(pos / chunk) + 1) * chunk);
    yield { offset: pos, length: next - pos };
    pos = next;
  }
}
