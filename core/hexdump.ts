/**
 * Hex dump in exactly the format of `xxd` (plain mode, 16 bytes per line, groups of 2 bytes),
 * so that users can diff our output against xxd's for the same bytes and offsets:
 *
 *   00000010: 7e7f 2061 6263                           ~. abc
 *
 * Lines start at the dump's first offset and advance by 16, as with `xxd -s`. The offset has at
 * least 8 hex digits and grows past 2^32 (xxd prints "%08lx").
 *
 * Speed matters (a dump is megabytes): the output is filled with spaces in one native call, and
 * each line then writes only its digits and characters at fixed positions, from byte-indexed
 * tables (typed arrays: a string's charCodeAt in the inner loop was three times slower).
 */

const HEX_DIGITS = new Uint8Array(16);
/** High and low hex digit of each byte value, and its ASCII column character. */
const HIGH = new Uint8Array(256);
const LOW = new Uint8Array(256);
const PRINTABLE = new Uint8Array(256);
for (let i = 0; i < 16; i++) HEX_DIGITS[i] = '0123456789abcdef'.charCodeAt(i);
for (let b = 0; b < 256; b++) {
  HIGH[b] = HEX_DIGITS[b >> 4]!;
  LOW[b] = HEX_DIGITS[b & 15]!;
  PRINTABLE[b] = b >= 0x20 && b <= 0x7e ? b : 0x2e;
}

export const BYTES_PER_LINE = 16;
/** Columns between ": " and the ASCII column: 8 groups of 4 digits, 7 spaces between, 2 after. */
const HEX_AREA = 41;
const SPACE = 0x20;
/** Where each byte's two digits go, from the start of the hex area. */
const HEX_POS = new Uint8Array(BYTES_PER_LINE);
for (let i = 0; i < BYTES_PER_LINE; i++) HEX_POS[i] = i * 2 + (i >> 1);

/** Number of hex digits xxd prints for an offset. */
function offsetDigits(offset: number): number {
  return offset < 0x100000000 ? 8 : offset.toString(16).length;
}

/**
 * Formats `bytes`, whose first byte lives at `startOffset`, as xxd lines. When a long dump is cut
 * into pieces, cut at multiples of 16 bytes so that lines fall where xxd puts them.
 */
export function hexdump(bytes: Uint8Array, startOffset: number): Buffer {
  const lines = Math.ceil(bytes.length / BYTES_PER_LINE);
  if (lines === 0) return Buffer.alloc(0);
  const widest = offsetDigits(startOffset + (lines - 1) * BYTES_PER_LINE);
  const out = Buffer.allocUnsafe(lines * (widest + 2 + HEX_AREA + BYTES_PER_LINE + 1));
  out.fill(SPACE);
  let p = 0;
  for (let line = 0; line < lines; line++) {
    const from = line * BYTES_PER_LINE;
    const count = Math.min(BYTES_PER_LINE, bytes.length - from);
    p = writeOffset(out, p, startOffset + from);
    out[p] = 0x3a; // ':' (the space after it is already there)
    const hexStart = p + 2;
    const asciiStart = hexStart + HEX_AREA;
    for (let i = 0; i < count; i++) {
      const b = bytes[from + i]!;
      const at = hexStart + HEX_POS[i]!;
      out[at] = HIGH[b]!;
      out[at + 1] = LOW[b]!;
      out[asciiStart + i] = PRINTABLE[b]!;
    }
    p = asciiStart + count;
    out[p++] = 0x0a;
  }
  return out.subarray(0, p);
}

function writeOffset(out: Buffer, p: number, offset: number): number {
  // The low 32 bits by shifts (fast); past 2^32, the rest by division (rare). No `|` or `>>` on
  // the whole offset: it would wrap at 2^32.
  const digits = offsetDigits(offset);
  const low = offset % 0x100000000;
  let i = digits - 1;
  for (let k = 0; k < 8; k++, i--) out[p + i] = HEX_DIGITS[(low >>> (k * 4)) & 15]!;
  for (let high = Math.floor(offset / 0x100000000); i >= 0; i--, high = Math.floor(high / 16)) out[p + i] = HEX_DIGITS[high % 16]!;
  return p + digits;
}
