import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { CancelledError, InputError } from '../errors';
import { preadFully, yieldToEventLoop } from '../file-io';
import { hex, type Range } from '../numbers';
import type { Source } from '../source';

/**
 * How a snapshot's data is checked against its header, in one place: the checksum (CRC-32 per
 * block in format version 1; a faster one can replace it here with a new format version), the
 * check of a few blocks before they are used, and the check of a whole file, on a worker thread
 * when it runs beside a bulk pass (diff, reconnect) so that it costs the pass little wall time.
 *
 * The rule this serves: no byte of a snapshot is used before its block was checked, or, in a bulk
 * pass, before the pass's result is released (withChecks waits for the check and reports the
 * blocks that failed).
 */

/** The checksum of one block, as the header stores it. */
export function blockChecksum(block: Uint8Array): number {
  return crc32(block);
}

/** What the header says about the data: enough to check any block. */
export interface ChecksummedData {
  size: number;
  blockSize: number;
  blockChecksums: Uint32Array;
}

/** Whether `bytes` (all of block `index`) match their checksum. Zero blocks (holes) cost a compare. */
export class BlockChecker {
  private readonly zero: Buffer;
  private readonly zeroSum: number;

  constructor(private readonly data: ChecksummedData) {
    this.zero = Buffer.alloc(data.blockSize);
    this.zeroSum = blockChecksum(this.zero);
  }

  /** Bytes of block `index`: blockSize, or less for the last block. */
  lengthOf(index: number): number {
    return Math.min(this.data.blockSize, this.data.size - index * this.data.blockSize);
  }

  matches(index: number, bytes: Uint8Array): boolean {
    const expected = this.data.blockChecksums[index];
    if (bytes.length !== this.lengthOf(index)) return false;
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (b.length === this.zero.length && b.equals(this.zero)) return this.zeroSum === expected;
    return blockChecksum(b) === expected;
  }

  /**
   * Checks blocks [first, end) of the data read from `fd` at `dataOffset`, into `buf` (a multiple of
   * the block size); returns the indexes that fail. A short file fails the blocks it cannot fill.
   */
  scan(fd: number, dataOffset: number, first: number, end: number, buf: Buffer): number[] {
    const bad: number[] = [];
    const { blockSize, size } = this.data;
    const perRead = Math.max(1, Math.floor(buf.length / blockSize));
    for (let at = first; at < end; at += perRead) {
      const offset = at * blockSize;
      const length = Math.min(perRead * blockSize, size - offset, (end - at) * blockSize);
      const got = preadFully(fd, buf.subarray(0, length), dataOffset + offset);
      for (let from = 0; from < length; from += blockSize) {
        const index = at + from / blockSize;
        const to = Math.min(length, from + blockSize);
        if (to > got || !this.matches(index, buf.subarray(from, to))) bad.push(index);
      }
    }
    return bad;
  }
}

/** Adjacent bad blocks as byte ranges of the segment. */
export function damagedRanges(badBlocks: readonly number[], data: ChecksummedData): Range[] {
  const out: Range[] = [];
  for (const index of badBlocks) {
    const offset = index * data.blockSize;
    const length = Math.min(data.blockSize, data.size - offset);
    const last = out[out.length - 1];
    if (last && last.offset + last.length === offset) last.length += length;
    else out.push({ offset, length });
  }
  return out;
}

/** "0x30000..0x40000, 0x90000..0xa0000" (at most `max` listed). */
export function describeRanges(ranges: readonly Range[], max = 5): string {
  const listed = ranges.slice(0, max).map((r) => `${hex(r.offset)}..${hex(r.offset + r.length)}`);
  return `${listed.join(', ')}${ranges.length > max ? `, and ${ranges.length - max} more` : ''}`;
}

/** A snapshot whose blocks fail their checksum was about to be used: exit 2, naming the ranges. */
export class DamagedError extends InputError {}

export function damagedMessage(file: string, ranges: readonly Range[]): string {
  return `${file} is damaged: the data at ${describeRanges(ranges)} does not match its checksum`;
}

const BLOCK_UNKNOWN = 0;
const BLOCK_GOOD = 1;
const BLOCK_BAD = 2;

/**
 * What is known about each block of one open snapshot: not checked yet, good or bad. Reads check
 * the blocks they touch first (once each); a whole-file check fills in every block.
 */
export class BlockTrust {
  private readonly state: Uint8Array;
  private readonly checker: BlockChecker;
  private scratch: Buffer | undefined;

  constructor(
    private readonly data: ChecksummedData,
    private readonly fd: number,
    private readonly dataOffset: number,
  ) {
    this.state = new Uint8Array(data.blockChecksums.length);
    this.checker = new BlockChecker(data);
  }

  /**
   * Checks the blocks under [offset, offset + length) not checked yet; `bytes`, the data just read
   * at offset, spares a second read of the blocks it holds whole. Returns the bad ranges there.
   */
  check(offset: number, length: number, bytes?: Uint8Array): Range[] {
    const { blockSize } = this.data;
    const first = Math.floor(offset / blockSize);
    const end = length === 0 ? first : Math.ceil((offset + length) / blockSize);
    const bad: number[] = [];
    for (let index = first; index < end; index++) {
      if (this.state[index] === BLOCK_UNKNOWN) {
        const start = index * blockSize;
        const blockLength = this.checker.lengthOf(index);
        let good: boolean;
        if (bytes && start >= offset && start + blockLength <= offset + bytes.length) {
          good = this.checker.matches(index, bytes.subarray(start - offset, start - offset + blockLength));
        } else {
          this.scratch ??= Buffer.allocUnsafe(blockSize);
          good = this.checker.scan(this.fd, this.dataOffset, index, index + 1, this.scratch).length === 0;
        }
        this.state[index] = good ? BLOCK_GOOD : BLOCK_BAD;
      }
      if (this.state[index] === BLOCK_BAD) bad.push(index);
    }
    return damagedRanges(bad, this.data);
  }

  /** Records a whole-file check: the listed blocks are bad, all others good. */
  recordAll(badBlocks: readonly number[]): void {
    this.state.fill(BLOCK_GOOD);
    for (const index of badBlocks) this.state[index] = BLOCK_BAD;
  }
}

export interface CheckProgress {
  onProgress?: (done: number, total: number) => void;
  isCancelled?: () => boolean;
}

/** Where the worker's bundle is: next to this module (out/core/snapshot, or dist/agent). */
const WORKER_FILE = path.join(__dirname, 'verify-worker.js');
/** Bytes per pread while checking a whole file. */
const SCAN_BUFFER = 4 * 1024 * 1024;

/** The job a verify worker is given (verify-worker.ts). */
export interface VerifyJob {
  fd: number;
  dataOffset: number;
  data: ChecksummedData;
}

export type VerifyMessage = { type: 'progress'; done: number } | { type: 'done'; badBlocks: number[] };

/**
 * Checks every block of a snapshot and returns the indexes that fail. On a worker thread (the file
 * descriptor is the process's, so the worker reads it directly), so that the thread that asked
 * goes on with its own work; on this thread, in slices that let cancellation through, if no worker
 * can be started.
 */
export async function checkAllBlocks(job: VerifyJob, progress: CheckProgress = {}): Promise<number[]> {
  const total = job.data.size;
  if (fs.existsSync(WORKER_FILE)) {
    try {
      return await inWorker(job, progress);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      // A worker that cannot start (or died): check here instead.
    }
  }
  const checker = new BlockChecker(job.data);
  const buf = Buffer.allocUnsafe(Math.max(SCAN_BUFFER, job.data.blockSize));
  const perSlice = Math.max(1, Math.floor(buf.length / job.data.blockSize));
  const blocks = job.data.blockChecksums.length;
  const bad: number[] = [];
  for (let first = 0; first < blocks; first += perSlice) {
    bad.push(...checker.scan(job.fd, job.dataOffset, first, Math.min(blocks, first + perSlice), buf));
    progress.onProgress?.(Math.min(total, (first + perSlice) * job.data.blockSize), total);
    await yieldToEventLoop();
    if (progress.isCancelled?.()) throw new CancelledError('verification cancelled');
  }
  return bad;
}

function inWorker(job: VerifyJob, progress: CheckProgress): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_FILE, { workerData: job });
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
      if (m.type === 'progress') progress.onProgress?.(m.done, job.data.size);
      else finish(() => resolve(m.badBlocks));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the verify worker exited with code ${code}`))));
  });
}

/** A source whose bytes carry checksums (a snapshot): a bulk pass over it is checked beside it. */
export interface CheckedPass {
  /** The same bytes, without the per-read check: only for the pass that `done()` will vouch for. */
  readonly unchecked: Source;
  /** Waits for the whole-file check; the ranges that failed (empty: all good). */
  done(): Promise<Range[]>;
  /** Stops the check (the pass failed or was cancelled). */
  cancel(): void;
}

export interface Damage {
  /** Index of the source in the list given to withChecks. */
  index: number;
  description: string;
  ranges: Range[];
}

/**
 * Runs a bulk pass (diff, three-way) over sources, some of them snapshots: their checks run beside
 * the pass, and the result comes back only once they are done, with the ranges that failed. The
 * pass sees each snapshot through `unchecked` (fast views into its data); nothing it computed is
 * released before the checks finished.
 */
export async function withChecks<T>(sources: readonly Source[], pass: (sources: Source[]) => Promise<T>): Promise<{ result: T; damage: Damage[] }> {
  const checks = sources.map((s) => s.checkedPass?.());
  try {
    const result = await pass(sources.map((s, i) => checks[i]?.unchecked ?? s));
    const damage: Damage[] = [];
    for (const [index, check] of checks.entries()) {
      const ranges = check ? await check.done() : [];
      if (ranges.length > 0) damage.push({ index, description: sources[index]!.info.description, ranges });
    }
    return { result, damage };
  } finally {
    for (const check of checks) check?.cancel();
  }
}
