/**
 * Hex dump in exactly the format of `xxd` (plain mode, 16 bytes per line, groups of 2 bytes),
 * so that users can diff our output against xxd's for the same bytes and offsets:
 *
 *   00000010: 7e7f 2061 6263                           ~. abc
 *
 * Lines start at the dump's first offset and advance by 16, as with `xxd -s`. The offset has at
 * least 8 hex digits and grows past 2^32 (xxd prints "%08lx"). Built into one Buffer with lookup
 * tables: this runs on every byte a user dumps.
 */

const HEX_DIGITS = '0123456789abcdef';
/** Two ASCII hex digits for each byte value, as a 16-bit pair (first digit in the low byte). */
const PAIRS = new Uint16Array(256);
/** The ASCII column: printable 0x20..0x7e as itself, everything else as '.'. */
const PRINTABLE = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  PAIRS[b] = HEX_DIGITS.charCodeAt(b >> 4) | (HEX_DIGITS.charCodeAt(b & 15) << 8);
  PRINTABLE[b] = b >= 0x20 && b <= 0x7e ? b : 0x2e;
}

export const BYTES_PER_LINE = 16;
/** Columns between ": " and the ASCII column: 8 groups of 4 digits, 7 spaces between, 2 after. */
const HEX_AREA = 41;
const SPACE = 0x20;

/** Number of hex digits xxd prints for an offset. */
function offsetDigits(offset: number): number {
  return Math.max(8, offset.toString(16).length);
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
  let p = 0;
  for (let line = 0; line < lines; line++) {
    const from = line * BYTES_PER_LINE;
    const count = Math.min(BYTES_PER_LINE, bytes.length - from);
    p = writeOffset(out, p, startOffset + from);
    out[p++] = 0x3a; // ':'
    out[p++] = SPACE;
    const hexStart = p;
    for (let i = 0; i < count; i++) {
      const pair = PAIRS[bytes[from + i]!]!;
      out[p++] = pair & 0xff;
      out[p++] = pair >> 8;
      if (i & 1 && i !== BYTES_PER_LINE - 1) out[p++] = SPACE;
    }
    const asciiStart = hexStart + HEX_AREA;
    out.fill(SPACE, p, asciiStart);
    p = asciiStart;
    for (let i = 0; i < count; i++) out[p++] = PRINTABLE[bytes[from + i]!]!;
    out[p++] = 0x0a;
  }
  return out.subarray(0, p);
}

function writeOffset(out: Buffer, p: number, offset: number): number {
  // Offsets pass 2^32, so no bitwise arithmetic on the whole number.
  const digits = offsetDigits(offset);
  let rest = offset;
  for (let i = digits - 1; i >= 0; i--) {
    out[p + i] = HEX_DIGITS.charCodeAt(rest % 16);
    rest = Math.floor(rest / 16);
  }
  return p + digits;
}
