/**
 * Node built-ins that only some commands need, loaded on first use: a 256-byte `dump` of a file
 * needs none of them, and loading zlib, crypto, child_process and worker_threads at start-up cost
 * it about 10 ms of its 160 (measured with --cpu-prof and 21 timed runs; `node -e 0` is 120 ms).
 */
import { createRequire } from 'node:module';

function lazy<T>(name: string): () => T {
  let loaded: T | undefined;
  // createRequire: a plain require() of a built-in would be hoisted to the bundle's start.
  return () => (loaded ??= createRequire(__filename)(name) as T);
}

const zlib = lazy<typeof import('node:zlib')>('node:zlib');
export const childProcess = lazy<typeof import('node:child_process')>('node:child_process');
export const workerThreads = lazy<typeof import('node:worker_threads')>('node:worker_threads');
const crypto = lazy<typeof import('node:crypto')>('node:crypto');

/** zlib's CRC-32 (of snapshot headers, version 1 blocks and recording records). */
export function crc32(data: Uint8Array, value?: number): number {
  return zlib().crc32(data, value);
}

export function randomBytes(size: number): Buffer {
  return crypto().randomBytes(size);
}
