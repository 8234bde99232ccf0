import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { checkTarget, discardTemp, openTemp, publish, tempPathFor } from '../atomic-file';
import { CancelledError, InputError, SourceLostError, describeSystemError } from '../errors';
import { pwriteFully, yieldToEventLoop } from '../file-io';
import type { Source } from '../source';
import { FORMAT_VERSION, PAGE, blockCount, chooseBlockSize, encodeHeader, headerLength } from './format';
import type { Progress } from './reader';

export interface SnapshotOptions extends Progress {
  target: string;
  /** Replace an existing file at target. */
  force: boolean;
  /** Where to write before the rename; chosen by the caller so that it can clean up after a crash. */
  tempPath?: string;
  peerId?: number;
  layout?: string;
}

export interface SnapshotResult {
  path: string;
  size: number;
  /** Bytes actually written: pages of zeros are left as holes. */
  bytesWritten: number;
  zeroBlocks: number;
  blocks: number;
  time: number;
}

const CHUNK = 8 * 1024 * 1024;

/** Captures a whole source into a .shmsnap file, atomically. */
export async function writeSnapshot(source: Source, options: SnapshotOptions): Promise<SnapshotResult> {
  const { target, force } = options;
  checkTarget(target, force);
  const size = source.info.size;
  const description = source.info.description.slice(0, 1024);
  const blockSize = chooseBlockSize(size);
  const blocks = blockCount(size, blockSize);
  const headerLen = headerLength(Buffer.byteLength(description), Buffer.byteLength(options.layout ?? ''), 0, blocks);
  const tempPath = options.tempPath ?? tempPathFor(target);
  const fd = openTemp(tempPath);
  let closed = false;
  try {
    const time = Date.now();
    // Sized up front: every block we never write stays a hole, which reads back as zeros.
    fs.ftruncateSync(fd, headerLen + size);
    const checksums = new Uint32Array(blocks);
    const chunk = Math.max(CHUNK, blockSize);
    const buf = Buffer.allocUnsafe(chunk);
    const zero = Buffer.alloc(blockSize);
    const zeroPage = zero.subarray(0, PAGE);
    const zeroCrc = crc32(zero);
    let bytesWritten = 0;
    let zeroBlocks = 0;
    let lastYield = Date.now();
    for (let offset = 0; offset < size; offset += chunk) {
      const length = Math.min(chunk, size - offset);
      const data = buf.subarray(0, length);
      // A private copy first: the segment may change under us, and the checksum must describe
      // exactly the bytes written.
      source.read(offset, data);
      // Checksums per block; holes per page, so that a segment of scattered pages stays sparse.
      for (let from = 0; from < length; from += blockSize) {
        const block = data.subarray(from, Math.min(length, from + blockSize));
        const allZero = block.length === blockSize && block.equals(zero);
        checksums[(offset + from) / blockSize] = allZero ? zeroCrc : crc32(block);
        if (allZero) zeroBlocks++;
      }
      bytesWritten += writeNonZeroPages(fd, data, headerLen + offset, zeroPage);
      if (Date.now() - lastYield > 50) {
        options.onProgress?.(offset + length, size);
        await yieldToEventLoop();
        lastYield = Date.now();
        if (options.isCancelled?.()) throw new CancelledError('snapshot cancelled; no file was written');
      }
    }
    const header = encodeHeader({
      version: FORMAT_VERSION,
      headerLength: headerLen,
      size,
      time,
      blockSize,
      peerId: options.peerId ?? source.info.peerId,
      checked: false,
      source: description,
      layout: options.layout,
      torn: [],
      blockChecksums: checksums,
    });
    pwriteFully(fd, header, 0);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    closed = true;
    publish(tempPath, target, force);
    options.onProgress?.(size, size);
    return { path: target, size, bytesWritten, zeroBlocks, blocks, time };
  } catch (err) {
    if (!closed) fs.closeSync(fd);
    discardTemp(tempPath);
    if (err instanceof InputError || err instanceof SourceLostError || err instanceof CancelledError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw new InputError(`cannot write ${target}: ${describeSystemError(err)}`);
    throw err;
  }
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
