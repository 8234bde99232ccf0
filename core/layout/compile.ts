import { parseTree, getNodeValue, findNodeAtLocation, printParseErrorCode, type ParseError, type Node } from 'jsonc-parser';
import { MAX_OFFSET } from '../numbers';
import { PRIMITIVES, alignUp, type Endian, type Field, type FieldType, type Layout, type PrimitiveName, type Region, type StructType } from './model';

/** One problem in a layout file, with where it is: a JSON path and, when known, line and column. */
export interface LayoutProblem {
  message: string;
  path: (string | number)[];
  /** Character offset and length in the text, for editor diagnostics. */
  offset: number;
  length: number;
  line: number;
  column: number;
}

export const MAX_COUNT = 2 ** 32;
const MAX_DEPTH = 16;
/**
 * How deep the JSON text may nest, checked before the parser recurses: jsonc-parser (and the
 * compiler after it) recurse once per level, and a few thousand levels overflowed the stack
 * ("Maximum call stack size exceeded", a crash instead of a message). A valid layout needs about
 * 2 levels per struct level (MAX_DEPTH) plus a few for the root, regions and enums.
 */
export const MAX_JSON_DEPTH = 64;
const MAX_FIELDS = 4096;
const MAX_REGIONS = 4096;

type Path = (string | number)[];
type Json = unknown;
type Obj = Record<string, Json>;

class Problem extends Error {
  constructor(
    message: string,
    readonly path: Path,
  ) {
    super(message);
  }
}

function isObj(v: Json): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A non-negative integer, given as a number or a "0x..." / decimal string. */
function integer(v: Json, path: Path, what: string, max: number): number {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) n = Number(v);
  if (n === undefined || !Number.isSafeInteger(n)) throw new Problem(`${what} must be a whole number (or a "0x..." string), got ${JSON.stringify(v)}`, path);
  if (n < 0) throw new Problem(`${what} must not be negative, got ${n}`, path);
  if (n > max) throw new Problem(`${what} ${n} is too large (at most ${max})`, path);
  return n;
}

function checkKeys(o: Obj, allowed: string[], path: Path, what: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new Problem(`unknown property "${key}" in ${what} (allowed: ${allowed.join(', ')})`, [...path, key]);
  }
}

function name(o: Obj, path: Path, what: string): string {
  const n = o.name;
  if (typeof n !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Problem(`${what} needs a "name" made of letters, digits and _ (not starting with a digit)`, [...path, 'name']);
  return n;
}

const CHAR_OR_BYTES = /^(char|bytes)\[(\d+)\]$/;

class Compiler {
  private readonly structs = new Map<string, StructType>();
  private readonly resolving = new Set<string>();

  constructor(
    private readonly types: Obj,
    private readonly defaultEndian: Endian,
  ) {}

  namedStruct(typeName: string, path: Path, depth: number): StructType {
    const known = this.structs.get(typeName);
    if (known) return known;
    if (this.resolving.has(typeName)) throw new Problem(`type "${typeName}" contains itself`, path);
    const def = Object.hasOwn(this.types, typeName) ? this.types[typeName] : undefined;
    if (!isObj(def)) throw new Problem(`unknown type "${typeName}" (not a primitive, char[n], bytes[n], or a name in "types")`, path);
    this.resolving.add(typeName);
    const struct = this.struct(def, ['types', typeName], depth + 1, typeName, this.defaultEndian);
    this.resolving.delete(typeName);
    this.structs.set(typeName, struct);
    return struct;
  }

  /** A struct from { fields: [...], packed? }: C-like sequential packing unless offsets are given. */
  struct(def: Obj, path: Path, depth: number, typeName: string | undefined, endian: Endian): StructType {
    if (depth > MAX_DEPTH) throw new Problem(`structs nest deeper than ${MAX_DEPTH} levels`, path);
    const list = def.fields;
    if (!Array.isArray(list) || list.length === 0) throw new Problem('"fields" must be a non-empty list', [...path, 'fields']);
    if (list.length > MAX_FIELDS) throw new Problem(`more than ${MAX_FIELDS} fields`, [...path, 'fields']);
    const packed = def.packed === true;
    const fields: Field[] = [];
    const names = new Set<string>();
    let cursor = 0;
    let align = 1;
    list.forEach((raw, i) => {
      const fpath = [...path, 'fields', i];
      if (!isObj(raw)) throw new Problem('a field must be an object', fpath);
      const field = this.field(raw, fpath, depth, endian, packed, cursor);
      if (names.has(field.name)) throw new Problem(`two fields are named "${field.name}"`, [...fpath, 'name']);
      names.add(field.name);
      fields.push(field);
      cursor = Math.max(cursor, field.offset + field.stride * field.count);
      if (!packed) align = Math.max(align, field.type.align);
      if (cursor > MAX_OFFSET) throw new Problem('the struct is larger than 256 TiB', fpath);
    });
    const size = packed ? cursor : alignUp(cursor, align);
    return { kind: 'struct', name: typeName, fields, size, align: packed ? 1 : align };
  }

  field(o: Obj, path: Path, depth: number, parentEndian: Endian, packed: boolean, cursor: number): Field {
    checkKeys(o, ['name', 'type', 'offset', 'count', 'endian', 'enum', 'flags', 'description', 'fields', 'packed'], path, 'a field');
    const fieldName = name(o, path, 'a field');
    const endian = o.endian === undefined ? parentEndian : endianOf(o.endian, [...path, 'endian']);
    const type = this.type(o, path, depth, endian);
    const count = o.count === undefined ? 1 : integer(o.count, [...path, 'count'], '"count"', MAX_COUNT);
    if (o.count !== undefined && count === 0) throw new Problem('"count" must be at least 1', [...path, 'count']);
    const offset = o.offset === undefined ? (packed ? cursor : alignUp(cursor, type.align)) : integer(o.offset, [...path, 'offset'], '"offset"', MAX_OFFSET);
    if (type.size * count > MAX_OFFSET) throw new Problem(`${count} elements of ${type.size} bytes is larger than 256 TiB`, [...path, 'count']);
    const field: Field = { name: fieldName, offset, type, count, isArray: o.count !== undefined, stride: type.size, endian };
    if (typeof o.description === 'string') field.description = o.description;
    if (o.enum !== undefined || o.flags !== undefined) {
      if (type.kind !== 'primitive' || PRIMITIVES[type.name].float || type.name === 'bool') {
        throw new Problem('"enum" and "flags" need an integer type (u8..u64, i8..i64)', [...path, o.enum !== undefined ? 'enum' : 'flags']);
      }
      if (o.enum !== undefined) field.enumNames = namedValues(o.enum, [...path, 'enum'], 'enum');
      if (o.flags !== undefined) field.flags = [...namedValues(o.flags, [...path, 'flags'], 'flags')].map(([mask, n]) => ({ name: n, mask }));
    }
    return field;
  }

  type(o: Obj, path: Path, depth: number, endian: Endian): FieldType {
    if (o.fields !== undefined) {
      if (o.type !== undefined && o.type !== 'struct') throw new Problem('a field with "fields" is a struct: leave "type" out or make it "struct"', [...path, 'type']);
      return this.struct(o, path, depth + 1, undefined, endian);
    }
    const t = o.type;
    if (typeof t !== 'string') throw new Problem('a field needs a "type": u8..u64, i8..i64, f32, f64, bool, char[n], bytes[n], or a name from "types"', [...path, 'type']);
    // Own keys only: `in` would also accept "toString" or "__proto__" (inherited from Object).
    if (Object.hasOwn(PRIMITIVES, t)) {
      const size = PRIMITIVES[t as PrimitiveName].size;
      return { kind: 'primitive', name: t as PrimitiveName, size, align: size };
    }
    const m = CHAR_OR_BYTES.exec(t);
    if (m) {
      const n = Number(m[2]);
      if (n < 1 || n > 1 << 20) throw new Problem(`${m[1]}[n] needs 1 <= n <= 1048576, got ${m[2]}`, [...path, 'type']);
      return { kind: m[1] === 'char' ? 'char' : 'bytes', size: n, align: 1 };
    }
    return this.namedStruct(t, [...path, 'type'], depth);
  }
}

function endianOf(v: Json, path: Path): Endian {
  if (v === 'little' || v === 'big') return v;
  throw new Problem(`"endian" must be "little" or "big", got ${JSON.stringify(v)}`, path);
}

function namedValues(v: Json, path: Path, what: string): Map<bigint, string> {
  if (!isObj(v) || Object.keys(v).length === 0) throw new Problem(`"${what}" must map names to numbers, e.g. { "IDLE": 0, "BUSY": 1 }`, path);
  const out = new Map<bigint, string>();
  for (const [n, raw] of Object.entries(v)) {
    let value: bigint;
    if (typeof raw === 'number' && Number.isSafeInteger(raw)) value = BigInt(raw);
    else if (typeof raw === 'string' && /^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(raw)) value = raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw);
    else throw new Problem(`${what} value of "${n}" must be an integer, got ${JSON.stringify(raw)}`, [...path, n]);
    if (what === 'flags' && value <= 0n) throw new Problem(`flag "${n}" must be a positive bit mask`, [...path, n]);
    out.set(value, n);
  }
  return out;
}

function region(o: Obj, path: Path, compiler: Compiler, endian: Endian, previousEnd: number): Region {
  checkKeys(o, ['name', 'offset', 'size', 'color', 'description', 'fields', 'type', 'count', 'stride', 'packed', 'endian'], path, 'a region');
  const regionName = name(o, path, 'a region');
  const regionEndian = o.endian === undefined ? endian : endianOf(o.endian, [...path, 'endian']);
  let struct: StructType;
  let plain = false;
  if (o.fields !== undefined) struct = compiler.struct(o, path, 1, undefined, regionEndian);
  else if (typeof o.type === 'string') {
    const t = compiler.type({ type: o.type }, path, 1, regionEndian);
    // A region of a plain type is a struct of one field named after the region.
    plain = t.kind !== 'struct';
    struct = t.kind === 'struct' ? t : { kind: 'struct', name: undefined, fields: [{ name: regionName, offset: 0, type: t, count: 1, isArray: false, stride: t.size, endian: regionEndian }], size: t.size, align: t.align };
  } else throw new Problem('a region needs "fields" or a "type"', path);
  const count = o.count === undefined ? 1 : integer(o.count, [...path, 'count'], '"count"', MAX_COUNT);
  if (count === 0) throw new Problem('"count" must be at least 1', [...path, 'count']);
  const stride = o.stride === undefined ? struct.size : integer(o.stride, [...path, 'stride'], '"stride"', MAX_OFFSET);
  if (stride < struct.size) throw new Problem(`"stride" ${stride} is smaller than one element (${struct.size} bytes)`, [...path, 'stride']);
  const offset = o.offset === undefined ? previousEnd : integer(o.offset, [...path, 'offset'], '"offset"', MAX_OFFSET);
  const needed = stride * (count - 1) + struct.size;
  const size = o.size === undefined ? stride * count : integer(o.size, [...path, 'size'], '"size"', MAX_OFFSET);
  if (size < needed) throw new Problem(`the fields need ${needed} bytes but the region's "size" is ${size}: a field runs past the region`, [...path, 'size']);
  if (offset + size > MAX_OFFSET) throw new Problem('the region ends past 256 TiB', path);
  let color: string | undefined;
  if (o.color !== undefined) {
    if (typeof o.color !== 'string' || !/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(o.color)) throw new Problem('"color" must be "#rgb", "#rrggbb" or "#rrggbbaa"', [...path, 'color']);
    color = o.color;
  }
  const r: Region = { name: regionName, offset, size, struct, count, isArray: o.count !== undefined, stride, color, plain };
  if (typeof o.description === 'string') r.description = o.description;
  return r;
}

function compileValue(root: Json, text: string): Layout {
  if (!isObj(root)) throw new Problem('a layout is a JSON object with "regions"', []);
  checkKeys(root, ['$schema', 'name', 'description', 'endian', 'types', 'regions'], [], 'the layout');
  const endian = root.endian === undefined ? 'little' : endianOf(root.endian, ['endian']);
  if (root.types !== undefined && !isObj(root.types)) throw new Problem('"types" must map names to structs', ['types']);
  const types = (root.types ?? {}) as Obj;
  for (const t of Object.keys(types)) {
    if (Object.hasOwn(PRIMITIVES, t) || CHAR_OR_BYTES.test(t) || t === 'struct' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) throw new Problem(`"${t}" cannot be a type name`, ['types', t]);
  }
  const compiler = new Compiler(types, endian);
  // Every named type is checked, used or not.
  for (const t of Object.keys(types)) compiler.namedStruct(t, ['types', t], 0);
  const list = root.regions;
  if (!Array.isArray(list) || list.length === 0) throw new Problem('"regions" must be a non-empty list', ['regions']);
  if (list.length > MAX_REGIONS) throw new Problem(`more than ${MAX_REGIONS} regions`, ['regions']);
  const regions: Region[] = [];
  const names = new Set<string>();
  let end = 0;
  list.forEach((raw, i) => {
    if (!isObj(raw)) throw new Problem('a region must be an object', ['regions', i]);
    const r = region(raw, ['regions', i], compiler, endian, end);
    if (names.has(r.name)) throw new Problem(`two regions are named "${r.name}"`, ['regions', i, 'name']);
    names.add(r.name);
    regions.push(r);
    end = r.offset + r.size;
  });
  // Overlaps, reported on the later region in the file.
  const byOffset = regions.map((r, i) => ({ r, i })).sort((a, b) => a.r.offset - b.r.offset);
  for (let k = 1; k < byOffset.length; k++) {
    const a = byOffset[k - 1]!;
    const b = byOffset[k]!;
    if (b.r.offset < a.r.offset + a.r.size) {
      const later = a.i > b.i ? a : b;
      const other = later === a ? b : a;
      throw new Problem(`region "${later.r.name}" (0x${later.r.offset.toString(16)}..0x${(later.r.offset + later.r.size).toString(16)}) overlaps region "${other.r.name}" (0x${other.r.offset.toString(16)}..0x${(other.r.offset + other.r.size).toString(16)})`, ['regions', later.i]);
    }
  }
  return { name: typeof root.name === 'string' ? root.name : undefined, endian, regions: byOffset.map((x) => x.r), text };
}

function locate(text: string, tree: Node | undefined, path: Path, message: string): LayoutProblem {
  let node = tree ? findNodeAtLocation(tree, path) : undefined;
  // A missing property is reported where its object is.
  for (let cut = path.length; !node && tree && cut > 0; cut--) node = findNodeAtLocation(tree, path.slice(0, cut - 1));
  // Point at the whole property (its key first) when the node is a property's value.
  const target = node?.parent?.type === 'property' ? node.parent : node;
  const offset = target?.offset ?? 0;
  const length = target ? Math.min(target.length, 200) : 1;
  return { message, path, offset, length, ...lineColumn(text, offset) };
}

export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

/**
 * Parses and compiles a layout. Problems come back as values with their place in the text (the
 * first problem found; a layout with one is not used). Never throws for bad input.
 */
export function compileLayout(text: string): { layout?: Layout; problems: LayoutProblem[] } {
  if (text.length > 1024 * 1024) return { problems: [{ message: 'the layout is larger than 1 MiB', path: [], offset: 0, length: 1, line: 1, column: 1 }] };
  const tooDeep = nestingPastLimit(text, MAX_JSON_DEPTH);
  if (tooDeep !== undefined) {
    return { problems: [{ message: `the JSON nests deeper than ${MAX_JSON_DEPTH} levels (a layout needs far fewer)`, path: [], offset: tooDeep, length: 1, ...lineColumn(text, tooDeep) }] };
  }
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  if (errors.length > 0 || !tree) {
    const e = errors[0];
    const offset = e?.offset ?? 0;
    return { problems: [{ message: `not valid JSON: ${e ? printParseErrorCode(e.error) : 'empty'}`, path: [], offset, length: e?.length ?? 1, ...lineColumn(text, offset) }] };
  }
  try {
    return { layout: compileValue(getNodeValue(tree), text), problems: [] };
  } catch (err) {
    if (err instanceof Problem) return { problems: [locate(text, tree, err.path, err.message)] };
    throw err;
  }
}

/**
 * The offset of the first `[` or `{` that opens level max + 1, or undefined. One pass without
 * recursion; strings and comments are skipped (the parser allows comments).
 */
export function nestingPastLimit(text: string, max: number): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
    } else if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2f) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}

/** Problems of a (valid) layout against a segment of `size` bytes: nothing may lie past its end. */
export function checkAgainstSegment(layout: Layout, size: number): string[] {
  return layout.regions.filter((r) => r.offset + r.size > size).map((r) => `region "${r.name}" (0x${r.offset.toString(16)}..0x${(r.offset + r.size).toString(16)}) runs past the end of the segment (size 0x${size.toString(16)})`);
}
