/**
 * Copies between files inside the kernel (copy_file_range, as GNU cp does), and gives pages of a
 * file back (fallocate PUNCH_HOLE), for snapshots: the bytes of a segment never pass through this
 * process when the kernel can copy them itself.
 */
import { native } from './libc';
import { systemError } from './errno';

/** errnos that mean "the kernel cannot copy between these two files": fall back to read and write. */
const CANNOT_COPY = new Set([18 /* EXDEV */, 22 /* EINVAL */, 38 /* ENOSYS */, 95 /* EOPNOTSUPP */, 1 /* EPERM: some FUSE */]);
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

interface Calls {
  copy_file_range(fdIn: number, offIn: [number], fdOut: number, offOut: [number], len: number, flags: number): number;
  fallocate(fd: number, mode: number, offset: number, len: number): number;
}

let calls: Calls | undefined;

function sys(): Calls {
  if (calls) return calls;
  const { libc } = native();
  calls = {
    // The offsets are passed by pointer so that the files' own offsets are never used or moved.
    copy_file_range: libc.func('int64_t copy_file_range(int fd_in, _Inout_ int64_t *off_in, int fd_out, _Inout_ int64_t *off_out, size_t len, unsigned int flags)'),
    fallocate: libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)'),
  } as Calls;
  return calls;
}

/**
 * Copies up to `length` bytes from fdIn at `from` to fdOut at `to`, in the kernel. Returns the bytes
 * copied (fewer only where fdIn ends), or undefined when the kernel cannot copy between these files
 * (another file system, no support): the caller reads and writes instead. Throws NativeUnavailableError
 * without the native library, and a Node-style system error for other failures.
 */
export function copyFileRange(fdIn: number, from: number, fdOut: number, to: number, length: number): number | undefined {
  const { copy_file_range } = sys();
  let done = 0;
  while (done < length) {
    const n = copy_file_range(fdIn, [from + done], fdOut, [to + done], length - done, 0);
    if (n < 0) {
      const errno = native().koffi.errno();
      if (done === 0 && CANNOT_COPY.has(errno)) return undefined;
      throw systemError('copy_file_range', errno);
    }
    if (n === 0) break; // the end of fdIn
    done += n;
  }
  return done;
}

/**
 * Gives back the storage of [offset, offset + length) of fd: it reads as zeros and takes no space
 * (the size is kept). Returns false where the file system cannot (the bytes stay, zeros all the same).
 */
export function punchHole(fd: number, offset: number, length: number): boolean {
  if (sys().fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) === 0) return true;
  const errno = native().koffi.errno();
  if (errno === 95 /* EOPNOTSUPP */ || errno === 38 /* ENOSYS */) return false;
  throw systemError('fallocate', errno);
}
