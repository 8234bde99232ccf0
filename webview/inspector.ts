/** The data inspector's values for the bytes at the cursor (pure, unit-tested in Node). */

export interface InspectorRow {
  type: string;
  little: string;
  big: string;
}

/** Values of every type that fits in `bytes` (up to 8 bytes read at the cursor). */
export function inspect(bytes: Uint8Array): InspectorRow[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: InspectorRow[] = [];
  const both = (type: string, size: number, get: (le: boolean) => string): void => {
    if (bytes.length >= size) rows.push({ type, little: get(true), big: size === 1 ? get(true) : get(false) });
  };
  both('u8', 1, () => String(view.getUint8(0)));
  both('i8', 1, () => String(view.getInt8(0)));
  both('u16', 2, (le) => String(view.getUint16(0, le)));
  both('i16', 2, (le) => String(view.getInt16(0, le)));
  both('u32', 4, (le) => String(view.getUint32(0, le)));
  both('i32', 4, (le) => String(view.getInt32(0, le)));
  both('u64', 8, (le) => view.getBigUint64(0, le).toString());
  both('i64', 8, (le) => view.getBigInt64(0, le).toString());
  both('f32', 4, (le) => formatFloat(view.getFloat32(0, le)));
  both('f64', 8, (le) => formatFloat(view.getFloat64(0, le)));
  if (bytes.length >= 1) {
    const b = bytes[0]!;
    const ascii = b >= 0x20 && b <= 0x7e ? `'${String.fromCharCode(b)}'` : b < 0x20 ? `control 0x${b.toString(16).padStart(2, '0')}` : 'not ASCII';
    rows.push({ type: 'ASCII', little: ascii, big: '' });
    rows.push({ type: 'UTF-8', little: utf8At(bytes), big: '' });
  }
  return rows;
}

function formatFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Infinity' : '-Infinity';
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(1) : String(v);
}

/** The UTF-8 character starting at the first byte, or why there is none. */
function utf8At(bytes: Uint8Array): string {
  const b = bytes[0]!;
  const length = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
  if (length === 0 || bytes.length < length) return 'not a UTF-8 start byte';
  try {
    const ch = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, length));
    const cp = ch.codePointAt(0)!;
    return `${cp >= 0x20 && cp !== 0x7f ? `'${ch}' ` : ''}U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  } catch {
    return 'invalid UTF-8';
  }
}
