/** Parsing what a user types in the hex view (pure, so unit tests run it in Node). */

const DECIMAL = /^[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;

/** An offset typed in "Go to": decimal or 0x-hex. Returns an error message instead of throwing. */
export function parseOffsetInput(text: string, size: number): { offset: number } | { error: string } {
  const t = text.trim();
  let value: number;
  if (DECIMAL.test(t)) value = Number(t);
  else if (HEX.test(t)) value = parseInt(t.slice(2), 16);
  else return { error: 'type a decimal or 0x-hex offset' };
  if (!Number.isSafeInteger(value)) return { error: 'that offset is too large' };
  if (value >= size) return { error: `past the end of the segment (size 0x${size.toString(16)})` };
  return { offset: value };
}

/** A search pattern: hex bytes ("de ad be ef", "deadbeef", "0xde 0xad") or text (UTF-8). */
export function parsePattern(text: string, mode: 'hex' | 'text'): { bytes: Uint8Array } | { error: string } {
  if (text.length === 0) return { error: 'type something to search for' };
  if (mode === 'text') {
    const bytes = new TextEncoder().encode(text);
    return bytes.length > 4096 ? { error: 'at most 4096 bytes' } : { bytes };
  }
  const digits = text.replace(/0x/gi, '').replace(/[\s,]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) return { error: 'hex search takes only hex digits (and spaces)' };
  if (digits.length === 0) return { error: 'type some hex bytes' };
  if (digits.length % 2 !== 0) return { error: 'an odd number of hex digits: each byte takes two' };
  if (digits.length / 2 > 4096) return { error: 'at most 4096 bytes' };
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return { bytes };
}
