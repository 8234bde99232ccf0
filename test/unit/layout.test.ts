import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { checkAgainstSegment, compileLayout } from '../../core/layout/compile';
import { formatValue, readPrimitive } from '../../core/layout/decode';
import type { Layout } from '../../core/layout/model';
import { children, fieldAt, regionNodes, values } from '../../core/layout/navigate';
import { rng } from '../helpers/temp';

function compile(json: unknown): Layout {
  const r = compileLayout(JSON.stringify(json, null, 2));
  assert.deepEqual(r.problems, []);
  return r.layout!;
}

const WRITERS = {
  u8: (b: Buffer, v: number) => b.writeUInt8(v),
  i8: (b: Buffer, v: number) => b.writeInt8(v),
  u16: (b: Buffer, v: number, le: boolean) => (le ? b.writeUInt16LE(v) : b.writeUInt16BE(v)),
  i16: (b: Buffer, v: number, le: boolean) => (le ? b.writeInt16LE(v) : b.writeInt16BE(v)),
  u32: (b: Buffer, v: number, le: boolean) => (le ? b.writeUInt32LE(v) : b.writeUInt32BE(v)),
  i32: (b: Buffer, v: number, le: boolean) => (le ? b.writeInt32LE(v) : b.writeInt32BE(v)),
  f32: (b: Buffer, v: number, le: boolean) => (le ? b.writeFloatLE(v) : b.writeFloatBE(v)),
  f64: (b: Buffer, v: number, le: boolean) => (le ? b.writeDoubleLE(v) : b.writeDoubleBE(v)),
} as const;

test('every type round-trips at both endiannesses against values written with Buffer (seeded)', () => {
  const random = rng(11);
  for (const endian of ['little', 'big'] as const) {
    const le = endian === 'little';
    const layout = compile({
      endian,
      regions: [{ name: 'r', offset: 0, packed: true, fields: [
        { name: 'a', type: 'u8' }, { name: 'b', type: 'i8' }, { name: 'c', type: 'u16' }, { name: 'd', type: 'i16' },
        { name: 'e', type: 'u32' }, { name: 'f', type: 'i32' }, { name: 'g', type: 'u64' }, { name: 'h', type: 'i64' },
        { name: 'i', type: 'f32' }, { name: 'j', type: 'f64' }, { name: 'k', type: 'bool' },
      ] }],
    });
    const nodes = [...values(regionNodes(layout)[0]!)];
    assert.deepEqual(nodes.map((n) => n.offset), [0, 1, 2, 4, 6, 10, 14, 22, 30, 34, 42], 'packed offsets');
    for (let round = 0; round < 300; round++) {
      for (const node of nodes) {
        const f = node.field!;
        const b = Buffer.alloc(f.type.size);
        const name = f.type.kind === 'primitive' ? f.type.name : '';
        let expected: unknown;
        if (name === 'u64' || name === 'i64') {
          let v = 0n;
          for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(random(256));
          if (name === 'u64') {
            if (le) b.writeBigUInt64LE(v);
            else b.writeBigUInt64BE(v);
          } else {
            v = BigInt.asIntN(64, v);
            if (le) b.writeBigInt64LE(v);
            else b.writeBigInt64BE(v);
          }
          expected = v;
        } else if (name === 'bool') {
          b[0] = random(3);
          expected = b[0] !== 0;
        } else {
          const bits = f.type.size * 8;
          const raw = random(2 ** Math.min(bits, 31));
          const v = name === 'f32' ? Math.fround(raw / 7 - 1000) : name === 'f64' ? raw / 7 - 1e6 : name.startsWith('i') ? raw - 2 ** (Math.min(bits, 31) - 1) : raw;
          WRITERS[name as keyof typeof WRITERS](b, v, le);
          expected = v;
        }
        assert.equal(readPrimitive(f, b), expected, `${endian} ${name}`);
      }
    }
  }
});

test('C-like packing: offsets aligned to their type, struct size padded to its alignment', () => {
  const layout = compile({
    types: { inner: { fields: [{ name: 'x', type: 'u8' }, { name: 'y', type: 'u32' }] } },
    regions: [{ name: 'r', offset: 0, fields: [
      { name: 'a', type: 'u8' }, { name: 'b', type: 'u32' }, { name: 'c', type: 'u16' }, { name: 'd', type: 'u64' },
      { name: 'e', type: 'char[3]' }, { name: 'f', type: 'inner' }, { name: 'g', type: 'u16', count: 3 }, { name: 'h', type: 'u8', offset: 100 },
    ] }],
  });
  const r = layout.regions[0]!;
  assert.deepEqual(r.struct.fields.map((f) => f.offset), [0, 4, 8, 16, 24, 28, 36, 100]);
  assert.equal(r.struct.fields[5]!.type.size, 8, 'inner is u8 + 3 padding + u32');
  assert.equal(r.struct.size, 104, 'padded to the 8-byte alignment of d');
  assert.equal(r.size, 104);
});

test('enums, flags, text and bytes are shown by meaning', () => {
  const layout = compile({
    regions: [{ name: 'r', offset: 0, packed: true, fields: [
      { name: 'state', type: 'u8', enum: { IDLE: 0, BUSY: 1 } },
      { name: 'bits', type: 'u16', flags: { READY: 1, ERROR: '0x4' } },
      { name: 'text', type: 'char[8]' },
      { name: 'raw', type: 'bytes[3]' },
    ] }],
  });
  const [state, bits, text, raw] = [...values(regionNodes(layout)[0]!)].map((n) => n.field!);
  assert.equal(formatValue(state!, Buffer.from([1])), 'BUSY (1)');
  assert.equal(formatValue(state!, Buffer.from([7])), '7 (not in the enum)');
  assert.equal(formatValue(bits!, Buffer.from([0x05, 0x00])), 'READY|ERROR (0x5)');
  assert.equal(formatValue(bits!, Buffer.from([0x09, 0x01])), 'READY|0x108 (0x109)');
  assert.equal(formatValue(bits!, Buffer.from([0, 0])), 'none (0x0)');
  assert.equal(formatValue(text!, Buffer.from('hi"\x01\0junk')), '"hi\\"\\x01"');
  assert.equal(formatValue(raw!, Buffer.from([0xde, 0xad, 0x01])), 'dead01');
});

test('repeated regions and arrays: navigation by node and by offset, without expanding', () => {
  const layout = compile({
    types: { slot: { fields: [{ name: 'seq', type: 'u64' }, { name: 'text', type: 'char[8]' }] } },
    regions: [
      { name: 'header', offset: 0, fields: [{ name: 'head', type: 'u32' }, { name: 'tail', type: 'u32' }, { name: 'lanes', type: 'u16', count: 4 }] },
      { name: 'slots', offset: '0x100', type: 'slot', count: 1000000, stride: 32 },
    ],
  });
  const [header, slots] = regionNodes(layout);
  assert.deepEqual(children(header!).map((n) => [n.path, n.offset, n.kind]), [['header.head', 0, 'value'], ['header.tail', 4, 'value'], ['header.lanes', 8, 'array']]);
  const lanes = children(children(header!)[2]!);
  assert.deepEqual(lanes.map((n) => [n.path, n.offset]), [['header.lanes[0]', 8], ['header.lanes[1]', 10], ['header.lanes[2]', 12], ['header.lanes[3]', 14]]);
  assert.equal(slots!.size, 32_000_000);
  const some = children(slots!, 999_998, 10);
  assert.deepEqual(some.map((n) => n.path), ['slots[999998]', 'slots[999999]']);
  assert.deepEqual(children(some[1]!).map((n) => [n.path, n.offset]), [['slots[999999].seq', 0x100 + 999_999 * 32], ['slots[999999].text', 0x100 + 999_999 * 32 + 8]]);
  assert.equal(fieldAt(layout, 5)?.path, 'header.tail');
  assert.equal(fieldAt(layout, 13)?.path, 'header.lanes[2]');
  assert.equal(fieldAt(layout, 13)?.offset, 12);
  assert.equal(fieldAt(layout, 0x100 + 7 * 32 + 9)?.path, 'slots[7].text');
  assert.equal(fieldAt(layout, 0x100 + 7 * 32 + 20), undefined, 'padding inside a stride has no field');
  assert.equal(fieldAt(layout, 0x80), undefined, 'a gap between regions has no field');
  assert.deepEqual(checkAgainstSegment(layout, 1 << 20), ['region "slots" (0x100..0x1e84900) runs past the end of the segment (size 0x100000)']);
  assert.deepEqual(checkAgainstSegment(layout, 32_000_256), []);
});

test('the checker names each problem and where it is (line and column)', () => {
  // [text, message, the text the problem must point at, first or last occurrence]
  const cases: [string, RegExp, string, 'first' | 'last'][] = [
    ['{ "regions": [ { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "u128" } ] } ] }', /unknown type "u128"/, '"type": "u128"', 'first'],
    ['{\n  "regions": [\n    { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "u8", "count": -3 } ] }\n  ]\n}', /"count" must not be negative, got -3/, '"count"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "u8", "count": 99999999999 } ] } ] }', /"count" 99999999999 is too large/, '"count"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "size": 2, "fields": [ { "name": "x", "type": "u32" } ] } ] }', /need 4 bytes but the region's "size" is 2: a field runs past the region/, '"size"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "size": 16, "type": "u64" },\n  { "name": "b", "offset": 8, "type": "u32" } ] }', /region "b" \(0x8..0xc\) overlaps region "a" \(0x0..0x10\)/, '{ "name": "b"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "type": "node" } ], "types": { "node": { "fields": [ { "name": "next", "type": "node" } ] } } }', /type "node" contains itself/, '"type": "node"', 'last'],
    ['{ "regions": [ { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "f32", "enum": { "A": 1 } } ] } ] }', /"enum" and "flags" need an integer type/, '"enum"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "u8" }, { "name": "x", "type": "u8" } ] } ] }', /two fields are named "x"/, '"name": "x"', 'last'],
    ['{ "regions": [ { "name": "a", "ofset": 0, "type": "u8" } ] }', /unknown property "ofset" in a region/, '"ofset"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "type": "u8", "color": "red" } ] }', /"color" must be/, '"color"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "type": "char[0]" } ] }', /char\[n\] needs 1 <= n/, '"type"', 'first'],
    ['{ "regions": [ ] }', /"regions" must be a non-empty list/, '"regions"', 'first'],
    ['{ "regions": [ { "name": "a" "offset": 0 } ] }', /not valid JSON: CommaExpected/, '"offset"', 'first'],
    ['[1, 2]', /a layout is a JSON object/, '[', 'first'],
    // Names that an object inherits are not types (they once compiled to NaN offsets).
    ['{ "regions": [ { "name": "a", "offset": 16, "type": "toString" } ] }', /unknown type "toString"/, '"type"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 16, "type": "constructor" } ] }', /unknown type "constructor"/, '"type"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 16, "type": "__proto__" } ] }', /unknown type "__proto__"/, '"type"', 'first'],
    ['{ "regions": [ { "name": "a", "offset": 0, "fields": [ { "name": "x", "type": "valueOf" } ] } ] }', /unknown type "valueOf"/, '"type": "valueOf"', 'first'],
  ];
  for (const [text, message, needle, which] of cases) {
    const r = compileLayout(text);
    assert.equal(r.layout, undefined, text);
    const p = r.problems[0]!;
    assert.match(p.message, message, text);
    const at = which === 'first' ? text.indexOf(needle) : text.lastIndexOf(needle);
    const before = text.slice(0, at).split('\n');
    const expected = [before.length, before.at(-1)!.length + 1];
    assert.deepEqual([p.line, p.column], expected, `${p.message} at ${p.line}:${p.column}, expected at ${needle} in ${text}`);
    assert.equal(p.offset, at);
  }
});

test('a region of a plain type is its own field, alone or repeated', () => {
  const layout = compile({ regions: [{ name: 'counter', offset: 0, type: 'u64' }, { name: 'lanes', offset: 8, type: 'u16', count: 3 }] });
  const [counter, lanes] = regionNodes(layout);
  assert.deepEqual([counter!.path, counter!.kind], ['counter', 'value']);
  assert.deepEqual(children(lanes!).map((n) => [n.path, n.offset, n.kind]), [['lanes[0]', 8, 'value'], ['lanes[1]', 10, 'value'], ['lanes[2]', 12, 'value']]);
  assert.equal(fieldAt(layout, 3)?.path, 'counter');
  assert.equal(fieldAt(layout, 11)?.path, 'lanes[1]');
  assert.deepEqual([...values(counter!)].map((n) => n.path), ['counter']);
});

test('a layout nested thousands of levels deep is refused before the parser recurses, with its line and column', () => {
  const arrays = `{ "regions":\n  ${'['.repeat(5000)}${']'.repeat(5000)} }`;
  let fields = '{ "name": "leaf", "type": "u8" }';
  for (let i = 0; i < 3000; i++) fields = `{ "name": "f${i}", "fields": [ ${fields} ] }`;
  const inline = `{ "regions": [ { "name": "r", "offset": 0, "fields": [ ${fields} ] } ] }`;
  for (const text of [arrays, inline]) {
    const r = compileLayout(text);
    assert.equal(r.layout, undefined);
    const p = r.problems[0]!;
    assert.match(p.message, /the JSON nests deeper than 64 levels/);
    // The bracket that opens level 65: find it by counting.
    let depth = 0;
    let at = -1;
    for (let i = 0; i < text.length && at < 0; i++) if ((text[i] === '[' || text[i] === '{') && ++depth > 64) at = i;
    else if (text[i] === ']' || text[i] === '}') depth--;
    assert.equal(p.offset, at);
    const before = text.slice(0, at).split('\n');
    assert.deepEqual([p.line, p.column], [before.length, before.at(-1)!.length + 1]);
  }
  // Brackets inside strings and comments do not count; nesting within the limit still compiles.
  const quoted = `// ${'['.repeat(100)}\n{ "name": "${'{'.repeat(100)}\\"[", /* ${'{'.repeat(100)} */ "regions": [ { "name": "a", "offset": 0, "type": "u8" } ] }`;
  assert.deepEqual(compileLayout(quoted).problems, []);
  let ok = '{ "name": "leaf", "type": "u8" }';
  for (let i = 0; i < 15; i++) ok = `{ "name": "f${i}", "fields": [ ${ok} ] }`;
  assert.deepEqual(compileLayout(`{ "regions": [ { "name": "r", "offset": 0, "fields": [ ${ok} ] } ] }`).problems, []);
});
