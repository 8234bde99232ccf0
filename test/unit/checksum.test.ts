import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PageHasher, PAGE, ZERO_READ } from '../../core/snapshot/page-hash';
import { checksumWasm } from '../../core/wasm/checksum-wasm';
import { hexdumpWasm } from '../../core/wasm/hexdump-wasm';
import { ROOT } from '../helpers/temp';

interface Xxh {
  memory: { buffer: ArrayBuffer };
  xxh64(ptr: number, len: number, seed: bigint): bigint;
}

const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: object) => { exports: unknown }; Module: new (b: Uint8Array) => object } }).WebAssembly;

function module(): Xxh {
  return new wasm.Instance(new wasm.Module(Buffer.from(checksumWasm, 'base64'))).exports as Xxh;
}

/** (i * 31 + 7) & 255: the same bytes the reference values below were computed from. */
function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
}

// XXH64 of pattern(n), seed 0 and seed 0x9E3779B97F4A7C15, as computed by an independent
// implementation (the xxhash-wasm package, which follows the reference C code); "" and "abc" are
// the values published with the reference (ef46db3751d8e999, 44bc2cf5ad770999).
const REFERENCE: [number, string, string][] = [
  [0, 'ef46db3751d8e999', 'c4349fc93c010000'],
  [1, 'a96c7f0ce858bbb7', '585882422a6165e7'],
  [3, '56e6957632a487f9', '5acb303e78133c22'],
  [4, 'c60d15b1e3ff8f04', '7d51d5e2461732b3'],
  [7, 'afbefc3d6c6f9a8e', '2ce9adec2b2c8104'],
  [8, '3da5c7aa269683e0', '758848f033fa76a2'],
  [31, '4a74f3a1a39ad4a1', '8137041f5af88413'],
  [32, '8d57d6a4671cc43d', '184ebcf3745cd46c'],
  [33, '62c9fd21ed857664', '52fac3c981f3cc2e'],
  [100, 'efa0ad2d3e70c151', 'bc7ab33be7528c18'],
  [4096, 'e21174be82dc78d9', 'e4d8ced124df0294'],
];

test('the WebAssembly XXH64 gives the reference results, at every alignment', () => {
  const m = module();
  const mem = new Uint8Array(m.memory.buffer);
  for (const [n, seed0, seedPhi] of REFERENCE) {
    for (const at of [0, 1, 3, 8]) {
      mem.set(pattern(n), 64 + at);
      assert.equal(BigInt.asUintN(64, m.xxh64(64 + at, n, 0n)).toString(16).padStart(16, '0'), seed0, `length ${n} at +${at}`);
      assert.equal(BigInt.asUintN(64, m.xxh64(64 + at, n, BigInt.asIntN(64, 0x9e3779b97f4a7c15n))).toString(16).padStart(16, '0'), seedPhi, `length ${n} seeded`);
    }
  }
  mem.set(Buffer.from('abc'), 64);
  assert.equal(BigInt.asUintN(64, m.xxh64(64, 3, 0n)).toString(16), '44bc2cf5ad770999');
});

test('the committed modules are what core/wasm/*.wat assemble to (node scripts/wasm.mjs)', async () => {
  const { assemble, generated } = (await import(path.join(ROOT, 'scripts', 'wasm.mjs'))) as { assemble(p: string): Promise<Buffer>; generated(name: string, bytes: Buffer): string };
  for (const [name, committed] of [['checksum', checksumWasm], ['hexdump', hexdumpWasm]] as const) {
    const bytes = await assemble(path.join(ROOT, 'core', 'wasm', `${name}.wat`));
    assert.equal(committed, bytes.toString('base64'), `core/wasm/${name}-wasm.ts is stale: run node scripts/wasm.mjs`);
    assert.equal(fs.readFileSync(path.join(ROOT, 'core', 'wasm', `${name}-wasm.ts`), 'utf8'), generated(name, bytes));
  }
});

/** Version 2's checksum of a block, from its definition: XXH64 of each page, then of the digests. */
function definition(block: Uint8Array): number {
  const m = module();
  const mem = new Uint8Array(m.memory.buffer);
  const digests = Buffer.alloc(Math.ceil(block.length / PAGE) * 8);
  for (let p = 0; p * PAGE < block.length; p++) {
    const page = block.subarray(p * PAGE, Math.min(block.length, (p + 1) * PAGE));
    mem.set(page, 0);
    digests.writeBigUInt64LE(BigInt.asUintN(64, m.xxh64(0, page.length, 0n)), p * 8);
  }
  mem.set(digests, 0);
  return Number(BigInt.asUintN(32, m.xxh64(0, digests.length, 0n)));
}

test('a block checksum is the XXH64 of its page digests; zero pages and holes give the same result', () => {
  const blockSize = 65536;
  const hasher = new PageHasher(4 * blockSize, blockSize);
  const block = Buffer.from(pattern(blockSize));
  block.fill(0, 8192, 3 * 4096); // pages 2 of zeros
  assert.equal(hasher.checksumOf(block), definition(block));
  assert.equal(hasher.zeros[2], ZERO_READ);
  assert.equal(hasher.zeros[1], 0);
  // A short last block, ending in a short page.
  const short = block.subarray(0, 3 * 4096 + 100);
  assert.equal(hasher.checksumOf(short), definition(short));
  // The same block with page 2 marked as a hole instead of read: the same checksum.
  hasher.area.set(block, 0);
  hasher.hashPages(0, 2 * PAGE);
  hasher.holePages(2, 1);
  hasher.hashPages(3 * PAGE, blockSize - 3 * PAGE);
  assert.equal(hasher.blockSums(16)[0], definition(block));
  // One changed byte anywhere changes it.
  const changed = Buffer.from(block);
  changed[40_000] = changed[40_000]! ^ 1;
  assert.notEqual(hasher.checksumOf(changed), hasher.checksumOf(block));
});
