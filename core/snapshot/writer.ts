import * as fs from 'node:fs';
import { checkTarget, createTemp, discardTempFile, publishTemp } from '../atomic-file';
import { CancelledError, InputError, SourceLostError, describeSystemError } from '../errors';
import { pwriteFully, yieldToEventLoop } from '../file-io';
import type { Source } from '../source';
import { FORMAT_VERSION, PAGE, blockCount, chooseBlockSize, encodeHeader, headerLength, type TornRange } from './format';
import type { Progress } from './reader';
import { SumsPipeline } from './sums-pipeline';
import { nativeAvailable } from '../sys/libc';
import { punchHole as punch } from '../sys/copy';

export interface SnapshotOptions extends Progress {
  target: string;
  /** Replace an existing file at target. */
  force: boolean;
  /**
   * Where to write before the rename, where the file system cannot make an unnamed file (see
   * createTemp); chosen by the caller so that it can clean up after a crash.
   */
  tempPath?: string;
  peerId?: number;
  layout?: string;
  /**
   * Check the copy: every chunk is read twice, and pages that differ are read again until two reads
   * agree (at most MAX_TRIES); pages still changing are recorded as torn in the header.
   */
  consistent?: boolean;
}

export interface SnapshotResult {
  path: string;
  size: number;
  /** Bytes actually written: pages of zeros are left as holes. */
  bytesWritten: number;
  zeroBlocks: number;
  blocks: number;
  time: number;
  /** Whether the copy was checked for pages that changed while it was made. */
  checked: boolean;
  /** Checked copies: pages that differed between the first two reads and were read again. */
  reread: number;
  torn: TornRange[];
}

/** What a checked copy found, in words: the CLI and the extension say it the same way. */
export function consistencyText(r: Pick<SnapshotResult, 'reread' | 'torn'>): string {
  const reread = r.reread === 0 ? 'no page changed while it was copied' : `${r.reread} page(s) changed while they were copied and were read again`;
  if (r.torn.length === 0) return r.reread === 0 ? reread : `${reread} until two reads agreed`;
  const bytes = r.torn.reduce((s, t) => s + t.length, 0);
  const list = r.torn.slice(0, 5).map((t) => `0x${t.offset.toString(16)}+${t.length}`).join(', ');
  return `${reread}; ${bytes} byte(s) in ${r.torn.length} range(s) kept changing (torn): ${list}${r.torn.length > 5 ? ', ...' : ''}`;
}

const MAX_TRIES = 5;
/** Room reserved in a checked snapshot's header; more torn ranges are merged to fit. */
const TORN_CAPACITY = 4096;

/**
 * Bytes read and written at once where the kernel cannot copy (and in a checked copy): small, so
 * that read, zero check and write meet in cache (1 GiB: 1.0-1.2 s of system time in 128 KiB
 * chunks, 1.6-2.6 s in 8 MiB ones, measured here).
 */
const CHUNK = 128 * 1024;
/** Bytes copied by the kernel per call: progress and cancellation are looked at in between. */
const KERNEL_CHUNK = 8 * 1024 * 1024;

/**
 * Captures a whole source into a .shmsnap file, atomically. How (measured on 1 GiB of /dev/shm,
 * `npm run bench`): only the source's data extents are copied (its holes stay holes, never read);
 * the kernel copies them (copy_file_range, as cp does: 0.82 s of CPU against 0.87-0.90 for pread and
 * pwrite); and the checksums are computed from the written file on a worker thread right behind the
 * copy (sums-pipeline.ts), so that they describe the bytes written and cost the copy no time when a
 * core is free. Pages of zeros that were copied as data are given back as holes before the file is
 * published.
 */
export async function writeSnapshot(source: Source, options: SnapshotOptions): Promise<SnapshotResult> {
  const { target, force } = options;
  checkTarget(target, force, source.info.identity);
  const size = source.info.size;
  const description = source.info.description.slice(0, 1024);
  const blockSize = chooseBlockSize(size);
  const blocks = blockCount(size, blockSize);
  const consistent = options.consistent ?? false;
  const headerLen = headerLength(Buffer.byteLength(description), Buffer.byteLength(options.layout ?? ''), consistent ? TORN_CAPACITY : 0, blocks);
  const temp = createTemp(target, options.tempPath);
  const fd = temp.fd;
  let closed = false;
  let sums: SumsPipeline | undefined;
  try {
    const time = Date.now();
    // Sized up front: every page we never write stays a hole, which reads back as zeros.
    fs.ftruncateSync(fd, headerLen + size);
    const extents = source.dataExtents?.(0, size) ?? [{ offset: 0, length: size }];
    sums = new SumsPipeline({ fd, dataOffset: headerLen, size, blockSize, extents }, blocks);
    const torn: TornRange[] = [];
    let reread = 0;
    // A checked copy compares two reads of every page: it reads, so it cannot let the kernel copy.
    let kernelCopies = !consistent && source.copyTo !== undefined;
    const buf = Buffer.allocUnsafe(CHUNK);
    const check = consistent ? Buffer.allocUnsafe(CHUNK) : undefined;
    const zeroPage = Buffer.alloc(PAGE);
    let lastYield = Date.now();
    for (const extent of extents) {
      const end = extent.offset + extent.length;
      for (let offset = extent.offset; offset < end; ) {
        if (kernelCopies) {
          const length = Math.min(KERNEL_CHUNK, end - offset);
          if (source.copyTo!(offset, length, fd, headerLen + offset)) offset += length;
          else kernelCopies = false; // not between these files: read and write from here on
        } else {
          const length = Math.min(CHUNK, end - offset);
          const data = buf.subarray(0, length);
          // A private copy first: the segment may change under us.
          source.read(offset, data);
          if (check) reread += stabilise(source, offset, data, check.subarray(0, length), torn);
          writeNonZeroPages(fd, data, headerLen + offset, zeroPage);
          offset += length;
        }
        sums.copiedUpTo(offset);
        if (Date.now() - lastYield > 50) {
          options.onProgress?.(offset, size);
          await yieldToEventLoop();
          lastYield = Date.now();
          if (options.isCancelled?.()) throw new CancelledError('snapshot cancelled; no file was written');
        }
      }
    }
    const result = await sums.finish();
    // Pages of zeros copied as data (a dense segment's untouched pages) become holes.
    let dataBytes = result.dataBytes;
    for (const [offset, length] of result.zeroRuns) if (!punchHole(fd, headerLen + offset, length)) dataBytes += length;
    const header = encodeHeader({
      version: FORMAT_VERSION,
      headerLength: headerLen,
      size,
      time,
      blockSize,
      peerId: options.peerId ?? source.info.peerId,
      checked: consistent,
      source: description,
      layout: options.layout,
      torn: fitTorn(torn, TORN_CAPACITY),
      blockChecksums: sums.checksums,
    });
    pwriteFully(fd, header, 0);
    fs.fsyncSync(fd);
    // Published while open: an unnamed file is named through its descriptor.
    try {
      publishTemp(temp, target, force, source.info.identity);
    } finally {
      fs.closeSync(fd);
      closed = true;
    }
    options.onProgress?.(size, size);
    return { path: target, size, bytesWritten: dataBytes, zeroBlocks: result.zeroBlocks, blocks, time, checked: consistent, reread, torn: fitTorn(torn, TORN_CAPACITY) };
  } catch (err) {
    sums?.dispose();
    if (!closed) fs.closeSync(fd);
    discardTempFile(temp);
    if (err instanceof InputError || err instanceof SourceLostError || err instanceof CancelledError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new InputError(`cannot write ${target}: ${describeSystemError(err)}`);
    throw err;
  }
}

/** Gives back zero pages as holes where the native library and the file system can; false otherwise. */
function punchHole(fd: number, offset: number, length: number): boolean {
  return nativeAvailable() && punch(fd, offset, length);
}

/** Writes the runs of non-zero pages of data at position; zero pages stay holes. Returns bytes written. */
function writeNonZeroPages(fd: number, data: Buffer, position: number, zeroPage: Buffer): number {
  let written = 0;
  let runStart = -1;
  const flush = (end: number): void => {
    pwriteFully(fd, data.subarray(runStart, end), position + runStart);
    written += end - runStart;
    runStart = -1;
  };
  for (let from = 0; from < data.length; from += PAGE) {
    const page = data.subarray(from, Math.min(data.length, from + PAGE));
    const isZero = page.equals(zeroPage.subarray(0, page.length));
    if (!isZero && runStart < 0) runStart = from;
    else if (isZero && runStart >= 0) flush(from);
  }
  if (runStart >= 0) flush(data.length);
  return written;
}

/**
 * Reads the chunk again; pages that changed meanwhile are re-read until two reads agree. `data`
 * ends up with the last read of each page; pages that never settled are appended to `torn`.
 * Returns how many pages needed reading again.
 */
function stabilise(source: Source, offset: number, data: Buffer, check: Buffer, torn: TornRange[]): number {
  source.read(offset, check);
  let unsettled: number[] = [];
  for (let p = 0; p < data.length; p += PAGE) {
    const end = Math.min(data.length, p + PAGE);
    if (!data.subarray(p, end).equals(check.subarray(p, end))) unsettled.push(p);
  }
  const changed = unsettled.length;
  for (let attempt = 1; attempt < MAX_TRIES && unsettled.length > 0; attempt++) {
    const still: number[] = [];
    for (const p of unsettled) {
      const end = Math.min(data.length, p + PAGE);
      // The latest read becomes the copy; a fresh read checks it.
      check.copy(data, p, p, end);
      source.read(offset + p, check.subarray(p, end));
      if (!data.subarray(p, end).equals(check.subarray(p, end))) still.push(p);
    }
    unsettled = still;
  }
  for (const p of unsettled) {
    const end = Math.min(data.length, p + PAGE);
    check.copy(data, p, p, end);
    const last = torn[torn.length - 1];
    if (last && last.offset + last.length === offset + p) last.length += end - p;
    else torn.push({ offset: offset + p, length: end - p });
  }
  return changed;
}

/** Joins neighbours closer than a growing gap until at most `capacity` ranges remain (still covering all). */
function fitTorn(torn: TornRange[], capacity: number): TornRange[] {
  let out = torn.map((t) => ({ ...t }));
  for (let gap = PAGE; out.length > capacity; gap *= 2) {
    const merged: TornRange[] = [];
    for (const t of out) {
      const last = merged[merged.length - 1];
      if (last && t.offset - (last.offset + last.length) <= gap) last.length = t.offset + t.length - last.offset;
      else merged.push(t);
    }
    out = merged;
  }
  return out;
}
