import { formatValue } from '../layout/decode';
import type { Layout } from '../layout/model';
import { fieldAt, type LayoutNode } from '../layout/navigate';
import type { Source } from '../source';
import type { DiffRange } from './ranges';

export interface FieldChange {
  field: string;
  offset: number;
  length: number;
  old: string;
  new: string;
}

export interface RegionSummary {
  name: string;
  changedBytes: number;
  ranges: number;
}

/**
 * What the changed ranges mean under a layout: per region, how many bytes and ranges changed; per
 * field (the first `maxFields`), its value on each side. Bytes outside every region are counted
 * under "(outside regions)".
 */
export function summarize(layout: Layout, a: Source, b: Source, ranges: DiffRange[], maxFields = 1000): { regions: RegionSummary[]; fields: FieldChange[]; fieldsTruncated: boolean } {
  const perRegion = new Map<string, RegionSummary>();
  const fields: FieldChange[] = [];
  const seen = new Set<string>();
  let fieldsTruncated = false;
  const count = (name: string, bytes: number, newRange: boolean): void => {
    const r = perRegion.get(name) ?? { name, changedBytes: 0, ranges: 0 };
    r.changedBytes += bytes;
    if (newRange) r.ranges++;
    perRegion.set(name, r);
  };
  for (const range of ranges) {
    const end = range.offset + range.length;
    let lastRegion: string | undefined;
    for (let at = range.offset; at < end; ) {
      const node = fieldAt(layout, at);
      const region = node ? node.region.name : regionAt(layout, at) ?? '(outside regions)';
      const next = node ? Math.min(end, node.offset + node.size) : nextBoundary(layout, at, end);
      count(region, next - at, region !== lastRegion);
      lastRegion = region;
      if (node && !seen.has(node.path)) {
        seen.add(node.path);
        if (fields.length < maxFields) fields.push(fieldChange(node, a, b));
        else fieldsTruncated = true;
      }
      at = next;
    }
  }
  return { regions: [...perRegion.values()], fields, fieldsTruncated };
}

function fieldChange(node: LayoutNode, a: Source, b: Source): FieldChange {
  const x = new Uint8Array(node.size);
  const y = new Uint8Array(node.size);
  a.read(node.offset, x);
  b.read(node.offset, y);
  return { field: node.path, offset: node.offset, length: node.size, old: formatValue(node.field!, x), new: formatValue(node.field!, y) };
}

function regionAt(layout: Layout, offset: number): string | undefined {
  return layout.regions.find((r) => offset >= r.offset && offset < r.offset + r.size)?.name;
}

/**
 * Where to look next after a byte that has no field: outside every region, the next region's start;
 * inside one (padding), the next byte (padding is at most a struct's size).
 */
function nextBoundary(layout: Layout, at: number, end: number): number {
  if (regionAt(layout, at) !== undefined) return at + 1;
  const next = layout.regions.find((r) => r.offset > at);
  return Math.min(end, next ? next.offset : end);
}
