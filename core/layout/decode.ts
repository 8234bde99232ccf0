import { PRIMITIVES, type Field } from './model';

/** The raw value of a primitive field: a number, a bigint (64-bit integers) or a boolean. */
export function readPrimitive(field: Field, bytes: Uint8Array): number | bigint | boolean {
  if (field.type.kind !== 'primitive') throw new Error('not a primitive field');
  const le = field.endian === 'little';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (field.type.name) {
    case 'u8':
      return v.getUint8(0);
    case 'i8':
      return v.getInt8(0);
    case 'bool':
      return v.getUint8(0) !== 0;
    case 'u16':
      return v.getUint16(0, le);
    case 'i16':
      return v.getInt16(0, le);
    case 'u32':
      return v.getUint32(0, le);
    case 'i32':
      return v.getInt32(0, le);
    case 'u64':
      return v.getBigUint64(0, le);
    case 'i64':
      return v.getBigInt64(0, le);
    case 'f32':
      return v.getFloat32(0, le);
    case 'f64':
      return v.getFloat64(0, le);
  }
}

function quote(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) {
    if (b === 0) break;
    if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${s}"`;
}

/**
 * One element of a leaf field (primitive, char[n] or bytes[n]) as text: numbers in decimal,
 * enums by name, flags as names, text up to its first NUL with escapes, bytes in hex.
 */
export function formatValue(field: Field, bytes: Uint8Array): string {
  switch (field.type.kind) {
    case 'char':
      return quote(bytes);
    case 'bytes':
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
    case 'struct':
      return '{…}';
    case 'primitive': {
      const raw = readPrimitive(field, bytes);
      if (typeof raw === 'boolean') return String(raw);
      if (PRIMITIVES[field.type.name].float) return String(raw);
      const int = BigInt(raw);
      if (field.enumNames) {
        const n = field.enumNames.get(int);
        return n === undefined ? `${int} (not in the enum)` : `${n} (${int})`;
      }
      if (field.flags) {
        const unsigned = int < 0n ? int + (1n << BigInt(field.type.size * 8)) : int;
        const set = field.flags.filter((f) => (unsigned & f.mask) === f.mask).map((f) => f.name);
        const known = field.flags.reduce((m, f) => m | f.mask, 0n);
        const rest = unsigned & ~known;
        if (rest !== 0n) set.push(`0x${rest.toString(16)}`);
        return `${set.length ? set.join('|') : 'none'} (0x${unsigned.toString(16)})`;
      }
      return int.toString();
    }
  }
}
