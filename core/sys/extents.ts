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
 * is holes (reads as zeros). Past the end of the file there is no data. Moves the fd's file offset
 * (pread/pwrite ignore it). Throws NativeUnavailableError without the native library, and a
 * Node-style system error when lseek fails for another reason than "no more data".
 */
export function dataExtents(fd: number, start: number, end: number): Extent[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`bad range ${start}..${end}`);
  }
  const extents: Extent[] = [];
  for (let pos = start; pos < end; ) {
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
