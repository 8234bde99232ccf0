/** A compiled layout: what *.shmlayout.json files describe, checked and with every offset known. */

export type Endian = 'little' | 'big';

export const PRIMITIVES = {
  u8: { size: 1, signed: false, float: false },
  u16: { size: 2, signed: false, float: false },
  u32: { size: 4, signed: false, float: false },
  u64: { size: 8, signed: false, float: false },
  i8: { size: 1, signed: true, float: false },
  i16: { size: 2, signed: true, float: false },
  i32: { size: 4, signed: true, float: false },
  i64: { size: 8, signed: true, float: false },
  f32: { size: 4, signed: true, float: true },
  f64: { size: 8, signed: true, float: true },
  bool: { size: 1, signed: false, float: false },
} as const;

export type PrimitiveName = keyof typeof PRIMITIVES;

export type FieldType =
  | { kind: 'primitive'; name: PrimitiveName; size: number; align: number }
  | { kind: 'char'; size: number; align: 1 }
  | { kind: 'bytes'; size: number; align: 1 }
  | StructType;

export interface StructType {
  kind: 'struct';
  /** The name in "types", or undefined for an inline struct. */
  name: string | undefined;
  fields: Field[];
  size: number;
  align: number;
}

export interface Field {
  name: string;
  /** Offset of the first element within the enclosing struct. */
  offset: number;
  type: FieldType;
  /** Number of elements; 1 for a plain field. */
  count: number;
  /** True when the layout said "count" (an array of one is still an array). */
  isArray: boolean;
  /** Bytes from one element to the next (the element size). */
  stride: number;
  endian: Endian;
  /** Integer value → name. */
  enumNames?: Map<bigint, string>;
  /** Name → bit mask. */
  flags?: { name: string; mask: bigint }[];
  description?: string;
}

export interface Region {
  name: string;
  offset: number;
  /** Total size: stride * count. */
  size: number;
  struct: StructType;
  count: number;
  isArray: boolean;
  stride: number;
  color: string | undefined;
  description?: string;
  /** A region of a plain type ("type": "u64"): its one field is the region itself. */
  plain: boolean;
}

export interface Layout {
  name: string | undefined;
  endian: Endian;
  /** Sorted by offset; never overlapping. */
  regions: Region[];
  /** The text it was compiled from (embedded into snapshots as is). */
  text: string;
}

/** C-like alignment: offsets rounded up to a multiple of the type's alignment. */
export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
