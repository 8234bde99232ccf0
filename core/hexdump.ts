/**
 * Hex dump in exactly the format of `xxd` (plain mode, 16 bytes per line, groups of 2 bytes),
 * so that users can diff our output against xxd's for the same bytes and offsets:
 *
 *   00000010: 7e7f 2061 6263                           ~. abc
 *
 * Lines start at the dump's first offset and advance by 16, as with `xxd -s`. The offset has at
 * least 8 hex digits and grows past 2^32 (xxd prints "%08lx").
 *
 * Speed matters (a dump is megabytes): whole lines with 8-digit offsets (all of a segment's first
 * 4 GiB) are written four characters at a time, from a table of the four hex digits of every
 * 16-bit value (one group of xxd's output), with the characters between them stored directly, by
 * WebAssembly (core/wasm/hexdump.wat) for large pieces: 64 MiB formatted in 0.37-0.44 s, against
 * 0.88-1.1 s for the same stores in JavaScript through a DataView and 1.37-1.69 s for a digit at a
 * time (measured here, on a loaded machine). Other lines (the last, partial one; offsets past 4 GiB)
 * are filled with spaces and then their digits and characters written at fixed positions.
 */

import { hexdumpWasm } from './wasm/hexdump-wasm';

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

/** The four hex digits of each 16-bit value, as a little-endian u32 of their ASCII codes. */
const HEX4 = new Uint32Array(65536);
for (let v = 0; v < 65536; v++) HEX4[v] = HIGH[v >> 8]! | (LOW[v >> 8]! << 8) | (HIGH[v & 255]! << 16) | (LOW[v & 255]! << 24);
/** A whole line with an 8-digit offset: "oooooooo: " + 8 groups + 2 spaces + 16 characters + newline. */
const LINE = 8 + 2 + HEX_AREA + BYTES_PER_LINE + 1;

/** Number of hex digits xxd prints for an offset. */
function offsetDigits(offset: number): number {
  return offset < 0x100000000 ? 8 : offset.toString(16).length;
}

/** The most bytes hexdump() writes for `length` bytes (offsets of up to 12 digits). */
export function hexdumpSize(length: number): number {
  return Math.ceil(length / BYTES_PER_LINE) * (12 + 2 + HEX_AREA + BYTES_PER_LINE + 1);
}

/**
 * Formats `bytes`, whose first byte lives at `startOffset`, as xxd lines. When a long dump is cut
 * into pieces, cut at multiples of 16 bytes so that lines fall where xxd puts them.
 */
export function hexdump(bytes: Uint8Array, startOffset: number, reuse?: Buffer): Buffer {
  const lines = Math.ceil(bytes.length / BYTES_PER_LINE);
  if (lines === 0) return Buffer.alloc(0);
  const widest = offsetDigits(startOffset + (lines - 1) * BYTES_PER_LINE);
  const size = lines * (widest + 2 + HEX_AREA + BYTES_PER_LINE + 1);
  // `reuse`: a buffer of the caller's to write into when it is large enough (a long dump writes
  // every piece into the same one instead of leaving megabytes of garbage per piece).
  const out = reuse && reuse.length >= size ? reuse.subarray(0, size) : Buffer.allocUnsafe(size);
  const whole = widest === 8 ? Math.floor(bytes.length / BYTES_PER_LINE) : 0;
  let p = wholeLines(bytes, startOffset, whole, out);
  out.fill(SPACE, p);
  for (let line = whole; line < lines; line++) {
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

/** Writes the first `count` lines (whole, offsets below 2^32) into out; returns where they end. */
function wholeLines(bytes: Uint8Array, startOffset: number, count: number, out: Buffer): number {
  // Small dumps (a start-up's) do not wait for the module.
  if (count >= WASM_FROM_LINES) {
    const kernel = (wasmLines ??= new WasmLines());
    for (let line = 0; line < count; line += WasmLines.LINES) {
      const n = Math.min(WasmLines.LINES, count - line);
      kernel.format(bytes.subarray(line * BYTES_PER_LINE, (line + n) * BYTES_PER_LINE), startOffset + line * BYTES_PER_LINE).copy(out, line * LINE);
    }
    return count * LINE;
  }
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let p = 0;
  for (let line = 0, i = 0; line < count; line++, i += BYTES_PER_LINE, p += LINE) {
    const offset = startOffset + i;
    dv.setUint32(p, HEX4[offset >>> 16]!, true);
    dv.setUint32(p + 4, HEX4[offset & 0xffff]!, true);
    dv.setUint16(p + 8, 0x203a, true); // ": "
    for (let g = 0, at = p + 10; g < 8; g++, at += 5) {
      dv.setUint32(at, HEX4[(bytes[i + 2 * g]! << 8) | bytes[i + 2 * g + 1]!]!, true);
      out[at + 4] = SPACE;
    }
    out[p + 50] = SPACE; // the second of the two spaces before the characters
    for (let k = 0, at = p + 51; k < BYTES_PER_LINE; k++) out[at + k] = PRINTABLE[bytes[i + k]!]!;
    out[p + LINE - 1] = 0x0a;
  }
  return p;
}

/** Lines from which a piece is formatted by the WebAssembly kernel. */
const WASM_FROM_LINES = 4096;

/** The WebAssembly kernel (core/wasm/hexdump.wat), with its tables in its memory. */
class WasmLines {
  /** Lines formatted per call: 1 MiB of input. */
  static readonly LINES = 65536;
  private static readonly TABLES = 65536 * 4 + 256;
  private readonly exports: { memory: { buffer: ArrayBuffer; grow(pages: number): number }; lines(src: number, count: number, offset: number, dst: number): void };
  private readonly memory: Buffer;
  private readonly dst: number;

  constructor() {
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;
    this.exports = new wasm.Instance(new wasm.Module(Buffer.from(hexdumpWasm, 'base64'))).exports as WasmLines['exports'];
    this.dst = WasmLines.TABLES + WasmLines.LINES * BYTES_PER_LINE;
    const bytes = this.dst + WasmLines.LINES * LINE;
    this.exports.memory.grow(Math.ceil((bytes - this.exports.memory.buffer.byteLength) / 65536));
    this.memory = Buffer.from(this.exports.memory.buffer);
    new Uint32Array(this.exports.memory.buffer, 0, 65536).set(HEX4);
    this.memory.set(PRINTABLE, 65536 * 4);
  }

  /** The lines of `bytes` (at most LINES whole lines), in the module's memory until the next call. */
  format(bytes: Uint8Array, offset: number): Buffer {
    this.memory.set(bytes, WasmLines.TABLES);
    const count = bytes.length / BYTES_PER_LINE;
    this.exports.lines(WasmLines.TABLES, count, offset, this.dst);
    return this.memory.subarray(this.dst, this.dst + count * LINE);
  }
}

let wasmLines: WasmLines | undefined;

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
