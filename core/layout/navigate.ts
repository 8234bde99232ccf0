import type { Field, Layout, Region, StructType } from './model';

/**
 * Walking a layout without expanding it: a ring of a million slots is a count and a stride, not a
 * million objects. Nodes are made on demand (the Regions view, dump) and any offset is named by
 * arithmetic (watch).
 */
export interface LayoutNode {
  /** "ring.slots[3].seq" */
  path: string;
  label: string;
  offset: number;
  size: number;
  kind: 'region' | 'array' | 'struct' | 'value';
  /** For value nodes (and arrays of values): the field whose type they hold. */
  field?: Field;
  region: Region;
}

/** The top-level nodes: one per region. */
export function regionNodes(layout: Layout): LayoutNode[] {
  return layout.regions.map((region) => regionNode(region));
}

function regionNode(region: Region): LayoutNode {
  if (region.plain && !region.isArray) {
    return { path: region.name, label: region.name, offset: region.offset, size: region.size, kind: 'value', field: region.struct.fields[0]!, region };
  }
  return { path: region.name, label: region.name, offset: region.offset, size: region.size, kind: region.isArray ? 'array' : 'struct', region };
}

function structChildren(struct: StructType, base: number, prefix: string, region: Region): LayoutNode[] {
  return struct.fields.map((f) => fieldNode(f, base + f.offset, `${prefix}.${f.name}`, f.name, region));
}

function fieldNode(f: Field, offset: number, path: string, label: string, region: Region): LayoutNode {
  const kind = f.isArray ? 'array' : f.type.kind === 'struct' ? 'struct' : 'value';
  return { path, label, offset, size: f.stride * f.count, kind, field: f, region };
}

/** Children of a node; for arrays, elements [from, from + max). */
export function children(node: LayoutNode, from = 0, max = 1000): LayoutNode[] {
  const { region } = node;
  if (node.kind === 'value') return [];
  if (!node.field) {
    // A region: its elements if repeated, else its struct's fields.
    if (node.kind === 'array') {
      const out: LayoutNode[] = [];
      for (let i = from; i < Math.min(region.count, from + max); i++) {
        const offset = region.offset + i * region.stride;
        if (region.plain) out.push({ path: `${region.name}[${i}]`, label: `[${i}]`, offset, size: region.struct.size, kind: 'value', field: region.struct.fields[0]!, region });
        else out.push({ path: `${region.name}[${i}]`, label: `[${i}]`, offset, size: region.struct.size, kind: 'struct', region });
      }
      return out;
    }
    return structChildren(region.struct, node.offset, node.path, region);
  }
  const f = node.field;
  if (node.kind === 'array') {
    const out: LayoutNode[] = [];
    for (let i = from; i < Math.min(f.count, from + max); i++) {
      const offset = node.offset + i * f.stride;
      const kind = f.type.kind === 'struct' ? 'struct' : 'value';
      out.push({ path: `${node.path}[${i}]`, label: `[${i}]`, offset, size: f.stride, kind, field: { ...f, count: 1, isArray: false }, region });
    }
    return out;
  }
  if (f.type.kind === 'struct') return structChildren(f.type, node.offset, node.path, region);
  return [];
}

/** Every value node under a node, depth first (for dump); arrays in full. */
export function* values(node: LayoutNode): Generator<LayoutNode> {
  if (node.kind === 'value') {
    yield node;
    return;
  }
  const count = node.kind === 'array' ? (node.field ? node.field.count : node.region.count) : 0;
  const step = 1000;
  if (node.kind === 'array') {
    for (let from = 0; from < count; from += step) for (const c of children(node, from, step)) yield* values(c);
  } else {
    for (const c of children(node)) yield* values(c);
  }
}

/** The value field covering offset, with its path and start, or undefined (a gap or no region). */
export function fieldAt(layout: Layout, offset: number): LayoutNode | undefined {
  const regions = layout.regions;
  let lo = 0;
  let hi = regions.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = regions[mid]!;
    if (offset < r.offset) hi = mid - 1;
    else if (offset >= r.offset + r.size) lo = mid + 1;
    else return inRegion(r, offset);
  }
  return undefined;
}

function inRegion(region: Region, offset: number): LayoutNode | undefined {
  let rel = offset - region.offset;
  let path = region.name;
  if (region.isArray) {
    const i = Math.floor(rel / region.stride);
    rel -= i * region.stride;
    path += `[${i}]`;
  }
  const base = region.offset + (offset - region.offset - rel);
  if (region.plain) {
    const f = region.struct.fields[0]!;
    return rel < f.type.size ? { path, label: path, offset: base, size: f.type.size, kind: 'value', field: f, region } : undefined;
  }
  return inStruct(region.struct, base, rel, path, region);
}

function inStruct(struct: StructType, base: number, rel: number, prefix: string, region: Region): LayoutNode | undefined {
  for (const f of struct.fields) {
    const end = f.offset + f.stride * f.count;
    if (rel < f.offset || rel >= end) continue;
    let elementRel = rel - f.offset;
    let path = `${prefix}.${f.name}`;
    let start = base + f.offset;
    if (f.isArray) {
      const i = Math.floor(elementRel / f.stride);
      elementRel -= i * f.stride;
      path += `[${i}]`;
      start += i * f.stride;
    }
    if (elementRel >= f.type.size) return undefined; // padding inside a stride
    if (f.type.kind === 'struct') return inStruct(f.type, start, elementRel, path, region);
    return { path, label: f.name, offset: start, size: f.type.size, kind: 'value', field: { ...f, count: 1, isArray: false }, region };
  }
  return undefined;
}

/** The node a path names ("header.head", "slots[3].seq", "ring"), or undefined. */
export function nodeByPath(layout: Layout, path: string): LayoutNode | undefined {
  const tokens = [...path.matchAll(/([^.[\]]+)|\[(\d+)\]|(\.)/g)];
  // The tokens must spell the whole path: nothing skipped, no empty names.
  if (tokens.map((t) => t[0]).join('') !== path) return undefined;
  let node: LayoutNode | undefined;
  let level = regionNodes(layout);
  let afterDot = true;
  for (const [, name, index, dot] of tokens) {
    if (dot !== undefined) {
      if (!node || node.kind !== 'struct' || afterDot) return undefined;
      afterDot = true;
      continue;
    }
    const wasDot = afterDot;
    afterDot = false;
    if (name !== undefined) {
      if (!wasDot) return undefined;
      node = level.find((n) => n.label === name);
    } else {
      const i = Number(index);
      if (wasDot || !node || node.kind !== 'array' || i >= (node.field ? node.field.count : node.region.count)) return undefined;
      node = children(node, i, 1)[0];
    }
    if (!node) return undefined;
    level = node.kind === 'struct' ? children(node) : [];
  }
  return afterDot ? undefined : node;
}
