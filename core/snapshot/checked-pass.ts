import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { workerThreads } from '../builtins';
import { CancelledError } from '../errors';
import { yieldToEventLoop } from '../file-io';
import type { Range } from '../numbers';
import type { Source } from '../source';
import { CLAIMED, UNKNOWN, type BlockTrust } from './block-trust';
import { damagedRanges, type ChecksummedData } from './integrity';

/**
 * Whole-file checks of snapshots, split between two threads so that they cost a bulk pass little
 * wall time. A verify worker (verify-worker.ts) checks blocks from the end of each file backwards;
 * the pass itself checks, from memory it already has, the blocks it is handed going forwards
 * (BlockTrust.checkInline): a block is claimed atomically before it is checked, so each is checked
 * once, and the two meet where their speeds put them. Measured in `npm run bench` ("diff,
 * identical snapshots").
 */

/** Where the worker's bundle is: next to this module (out/core/snapshot, or dist/agent). */
const WORKER_FILE = path.join(__dirname, 'verify-worker.js');

/** One snapshot for a verify worker: its descriptor is the process's, so the worker reads it directly. */
export interface VerifyTarget {
  fd: number;
  dataOffset: number;
  data: ChecksummedData;
  /** The BlockTrust states (a SharedArrayBuffer): the worker claims and marks blocks in them. */
  state: Uint8Array;
}

export type VerifyMessage = { type: 'progress'; done: number } | { type: 'done' };

export interface CheckProgress {
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

function targetOf(trust: BlockTrust): VerifyTarget {
  // Only what the checks need: a header's layout text and torn list stay here.
  const { version, size, blockSize, blockChecksums } = trust.data;
  return { fd: trust.fd, dataOffset: trust.dataOffset, data: { version, size, blockSize, blockChecksums }, state: trust.state };
}

/**
 * Whether a second thread can help: only with a core to spare. The worker reads what it checks
 * with pread (a copy), which costs more than checking bytes a pass already has in memory; on a
 * busy machine it only competes with the pass (measured, load 7 on 2 cores: a 1 GiB diff of two
 * snapshots took 2.9 s with it, 1.8 s without).
 */
function coreToSpare(): boolean {
  return os.availableParallelism() - (os.loadavg()[0] ?? 0) >= 1;
}

/**
 * Runs a verify worker over the snapshots until every block is known; resolves when it finished.
 * Without a worker (none built next to this module, it could not start, no core to spare in a
 * pass), the blocks left are checked on this thread, in slices that let other work through: a
 * pass checks what it is handed as it goes (BlockTrust.checkInline), so little is left.
 */
export async function checkAll(trusts: readonly BlockTrust[], progress: CheckProgress = {}, worker = true): Promise<void> {
  if (worker && fs.existsSync(WORKER_FILE)) {
    try {
      await inWorker(trusts, progress);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      // A worker that cannot start or died: what it left is checked below.
    }
  }
  const total = trusts.reduce((s, t) => s + t.data.size, 0);
  let done = 0;
  for (const trust of trusts) {
    const slice = Math.max(1, Math.floor((4 << 20) / trust.data.blockSize));
    for (let first = 0; first < trust.state.length; first += slice) {
      trust.checkRemaining(first, Math.min(trust.state.length, first + slice));
      done += Math.min(slice * trust.data.blockSize, trust.data.size - first * trust.data.blockSize);
      progress.onProgress?.(done, total);
      await yieldToEventLoop();
      if (progress.isCancelled?.()) throw new CancelledError('verification cancelled');
    }
  }
}

function inWorker(trusts: readonly BlockTrust[], progress: CheckProgress): Promise<void> {
  const total = trusts.reduce((s, t) => s + t.data.size, 0);
  return new Promise((resolve, reject) => {
    const worker = new (workerThreads().Worker)(WORKER_FILE, { workerData: trusts.map(targetOf) });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      fn();
      void worker.terminate();
    };
    // Cancellation is asked for by polling, as in every long job here.
    const poll = setInterval(() => {
      if (progress.isCancelled?.()) finish(() => reject(new CancelledError('verification cancelled')));
    }, 50);
    worker.on('message', (m: VerifyMessage) => {
      if (m.type === 'progress') progress.onProgress?.(m.done, total);
      else finish(resolve);
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the verify worker exited with code ${code}`))));
  });
}

/** A snapshot's side of a bulk pass: see Source.checkedPass and withChecks. */
export interface CheckedPass {
  /** The same bytes for the pass: handed out without waiting for the check, checked beside it. */
  readonly unchecked: Source;
  readonly trust: BlockTrust;
}

export interface Damage {
  /** Index of the source in the list given to withChecks. */
  index: number;
  description: string;
  ranges: Range[];
}

/**
 * Runs a bulk pass (diff, three-way) over sources, some of them snapshots. Each snapshot is checked
 * whole while the pass runs, and the pass's result comes back only once every block is known, with
 * the ranges that failed. The pass sees each snapshot through `unchecked`.
 */
export async function withChecks<T>(sources: readonly Source[], pass: (sources: Source[]) => Promise<T>, isCancelled?: () => boolean): Promise<{ result: T; damage: Damage[] }> {
  let previous: CheckedPass | undefined;
  // Each snapshot is paired with the one before it: equal blocks with equal checksums are checked once.
  const checks = sources.map((s) => {
    const check = s.checkedPass?.(previous);
    if (check) previous = check;
    return check;
  });
  const trusts = checks.flatMap((c) => (c ? [c.trust] : []));
  let cancelled = false;
  const progress = { isCancelled: () => cancelled || (isCancelled?.() ?? false) };
  // With a core to spare, a worker checks from the end while the pass runs; without, what the
  // pass did not check as it went is checked here after it.
  const beside = coreToSpare() ? checkAll(trusts, progress) : undefined;
  beside?.catch(() => undefined);
  try {
    const result = await pass(sources.map((s, i) => checks[i]?.unchecked ?? s));
    await (beside ?? checkAll(trusts, progress, false));
    const damage: Damage[] = [];
    for (const [index, check] of checks.entries()) {
      const ranges = check ? damagedRanges(check.trust.badBlocks(), check.trust.data) : [];
      if (ranges.length > 0) damage.push({ index, description: sources[index]!.info.description, ranges });
    }
    return { result, damage };
  } finally {
    cancelled = true;
  }
}

/** Every block claimed by nobody yet, as the worker sees it: used by verify-worker.ts. */
export function claimRun(state: Uint8Array, last: number, max: number): number {
  if (Atomics.compareExchange(state, last, UNKNOWN, CLAIMED) !== UNKNOWN) return last + 1;
  let first = last;
  while (first > 0 && last - first + 1 < max && Atomics.compareExchange(state, first - 1, UNKNOWN, CLAIMED) === UNKNOWN) first--;
  return first;
}
