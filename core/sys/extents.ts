/**
 * Where a file has data and where it has holes, from lseek(SEEK_DATA / SEEK_HOLE): tmpfs, ext4,
 * xfs and btrfs answer from their block maps without reading a byte, so a sparse segment or
 * snapshot can be walked by its data alone. File systems without the calls report the whole file
 * as data (the kernel's generic answer), which is still correct, just not sparse.
 */
import { native } from './libc';
import { systemError } from './errno';

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;

export interface Extent {
  offset: number;
  length: number;
}

let lseek: ((fd: number, offset: number, whence: number) => number) | undefined;

function seek(fd: number, offset: number, whence: number): number {
  lseek ??= native().libc.func('int64_t lseek(int fd, int64_t offset, int whence)') as typeof lseek & object;
  return lseek(fd, offset, whence);
}

/**
 * The data extents of fd within [start, end), in order, clipped to the range; the rest of the range
 * is holes (reads as zeros). Past the end of the file there is no data. With `max`, at most that
 * many extents: the last one then runs to the end of the range. Moves the fd's file offset
 * (pread/pwrite ignore it). Throws NativeUnavailableError without the native library, and a
 * Node-style system error when lseek fails for another reason than "no more data".
 */
export function dataExtents(fd: number, start: number, end: number, max = Infinity): Extent[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad range ${start}..${end}`);
  }
  const extents: Extent[] = [];
  for (let pos = start; pos < end; ) {
    if (extents.length >= max - 1) {
      // Enough: the rest counts as data.
      extents.push({ offset: pos, length: end - pos });
      break;
    }
    const data = seek(fd, pos, SEEK_DATA);
    if (data < 0) {
      const errno = native().koffi.errno();
      if (errno === ENXIO) break; // no data at or after pos
      throw systemError('lseek(SEEK_DATA)', errno);
    }
    if (data >= end) break;
    const hole = seek(fd, data, SEEK_HOLE);
    if (hole < 0) {
      const errno = native().koffi.errno();
      if (errno === ENXIO) break; // the file shrank below `data` between the two calls
      throw systemError('lseek(SEEK_HOLE)', errno);
    }
    const stop = Math.min(hole, end);
    extents.push({ offset: data, length: stop - data });
    pos = stop;
  }
  return extents;
}

/**
 * A file's data extents over a range, found once and then looked up by window. lseek(SEEK_HOLE)
 * walks the file's pages from where it is asked to the next hole, so asking per window of a dense
 * file walks the rest of the file each time (seen: 9.7 s of system time to snapshot 1 GiB in 1 MiB
 * windows); one walk of the whole range costs what the file's size does, once. Past `max` extents
 * (a pathologically fragmented file) the rest of the range counts as data: still correct, less sparse.
 */
export class ExtentMap {
  readonly extents: Extent[];

  constructor(fd: number, start: number, end: number, max = 1 << 20) {
    this.extents = dataExtents(fd, start, end, max);
  }

  /** The extents within [offset, offset + length), clipped to it, relative to offset. */
  within(offset: number, length: number): Extent[] {
    return clip(this.extents, offset, length);
  }
}

/** Extents (sorted, disjoint) within [offset, offset + length), clipped, relative to offset. */
export function clip(extents: readonly Extent[], offset: number, length: number): Extent[] {
  const end = offset + length;
  // The first extent that ends after offset.
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid]!;
    if (e.offset + e.length <= offset) lo = mid + 1;
    else hi = mid;
  }
  const out: Extent[] = [];
  for (let i = lo; i < extents.length && extents[i]!.offset < end; i++) {
    const e = extents[i]!;
    const from = Math.max(e.offset, offset);
    out.push({ offset: from - offset, length: Math.min(e.offset + e.length, end) - from });
  }
  return out;
}
