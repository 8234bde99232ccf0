import { CancelledError } from '../errors';
import { yieldToEventLoop } from '../file-io';
import type { Source } from '../source';

/**
 * What happened to a byte between the disconnect (base) and the reconnect, on the guest's side
 * (local) and in the segment (remote):
 * - local: only the guest changed it;  - remote: only the segment changed;
 * - both: both changed it, to the same value;  - conflict: both changed it, differently.
 */
export type ChangeKind = 'local' | 'remote' | 'both' | 'conflict';

export interface ThreeWayRange {
  offset: number;
  length: number;
  kind: ChangeKind;
}

export interface ThreeWayResult {
  size: number;
  ranges: ThreeWayRange[];
  /** Bytes per kind. */
  bytes: Record<ChangeKind, number>;
  truncated: boolean;
}

const PAGE = 4096;
/** Cache-sized, as in diff.ts: the remote side's pread and the compares meet in L2. */
const CHUNK = 128 * 1024;

function kindOf(b: number, l: number, r: number): ChangeKind | undefined {
  if (l === b) return r === b ? undefined : 'remote';
  if (r === b) return 'local';
  return l === r ? 'both' : 'conflict';
}

/**
 * Classifies every byte of three same-sized sources into runs of one kind. Pages equal on all three
 * sides are skipped with native compares; memory stays at three chunks.
 */
export async function threeWay(base: Source, local: Source, remote: Source, options: { maxRanges?: number; isCancelled?: () => boolean; onProgress?: (done: number, total: number) => void } = {}): Promise<ThreeWayResult> {
  const size = base.info.size;
  if (local.info.size !== size || remote.info.size !== size) {
    throw new Error(`three-way needs equal sizes (base ${size}, local ${local.info.size}, remote ${remote.info.size})`);
  }
  const max = options.maxRanges ?? 100_000;
  const bytes: Record<ChangeKind, number> = { local: 0, remote: 0, both: 0, conflict: 0 };
  const ranges: ThreeWayRange[] = [];
  let truncated = false;
  let open: ThreeWayRange | undefined;
  const bufs = [Buffer.allocUnsafe(Math.min(CHUNK, size)), Buffer.allocUnsafe(Math.min(CHUNK, size)), Buffer.allocUnsafe(Math.min(CHUNK, size))] as const;
  const close = (): void => {
    if (!open) return;
    if (ranges.length < max) ranges.push(open);
    else truncated = true;
    open = undefined;
  };
  let lastYield = Date.now();
  for (let offset = 0; offset < size; offset += CHUNK) {
    const length = Math.min(CHUNK, size - offset);
    const [b, l, r] = [base, local, remote].map((s, i) => {
      const v = s.view(offset, length);
      if (v) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const buf = bufs[i]!.subarray(0, length);
      s.read(offset, buf);
      return buf;
    }) as [Buffer, Buffer, Buffer];
    for (let page = 0; page < length; page += PAGE) {
      const end = Math.min(length, page + PAGE);
      const bp = b.subarray(page, end);
      if (bp.equals(l.subarray(page, end)) && bp.equals(r.subarray(page, end))) {
        close();
        continue;
      }
      for (let i = page; i < end; i++) {
        const kind = kindOf(b[i]!, l[i]!, r[i]!);
        if (kind === undefined) {
          close();
          continue;
        }
        bytes[kind]++;
        if (open && open.kind === kind && open.offset + open.length === offset + i) open.length++;
        else {
          close();
          open = { offset: offset + i, length: 1, kind };
        }
      }
    }
    if (Date.now() - lastYield > 50) {
      options.onProgress?.(offset + length, size);
      await yieldToEventLoop();
      lastYield = Date.now();
      if (options.isCancelled?.()) throw new CancelledError('reconnect cancelled');
    }
  }
  close();
  return { size, ranges, bytes, truncated };
}
