import * as fs from 'node:fs';
import mmap from '@riaskov/mmap-io';
import { InputError, SourceLostError, describeSystemError } from '../errors';
import { preadFully, pwriteFully } from '../file-io';
import { formatBytes, MAX_OFFSET } from '../numbers';
import { SourceBase, type SourceInfo } from '../source';
import { fileSystemOf } from './file-system';

/**
 * How bytes move (each measured or seen on this kind of machine):
 * - Reads use pread on the descriptor. Linux serves it from the same page-cache pages the guest
 *   and every other mapping see. Reading through a mapping instead would fault in every page it
 *   touches, and on tmpfs a read fault on a hole allocates the page: a snapshot of a 1 GiB sparse
 *   /dev/shm segment through the mapping grew the segment's memory use by 1 GiB. pread returns
 *   zeros for a hole without allocating, and a short count (not SIGBUS) past a truncation.
 * - Writes go through a MAP_SHARED mapping, in place, like a peer's stores; hugetlbfs has no
 *   write(), so it needs the mapping anyway. mmap-io passes size and offset to mmap() through a C
 *   `int`: a window must end below 2^31 (an offset of 2^32 + x would silently become x). So the
 *   first 2 GiB are mapped in two 1 GiB windows (a multiple of every huge page size), on first
 *   use; past that, writes use pwrite.
 * - A descriptor that cannot be read with pread (some device files) is read through the mapping.
 */
export const MAPPABLE_LIMIT = 2 ** 31;
const WINDOW = 2 ** 30;

export interface BackingFileOptions {
  writable?: boolean;
  /**
   * Fault injection for tests: never look for truncation, deletion or replacement, so that a read
   * after a truncation really goes through the mapping and raises SIGBUS.
   */
  skipChecks?: boolean;
}

/** A regular file, a file under /dev/shm or a hugetlbfs file, shared-mapped. */
export class BackingFileSource extends SourceBase {
  readonly info: SourceInfo;
  private readonly windows: (Buffer | undefined)[] = [];
  private readThroughMapping = false;
  private readonly ino: number;
  private readonly dev: number;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
    st: fs.Stats,
    writable: boolean,
    fileSystem: string,
    private readonly skipChecks: boolean,
  ) {
    super();
    this.ino = st.ino;
    this.dev = st.dev;
    this.info = { kind: 'file', description: path, size: st.size, writable, fileSystem };
  }

  /** Opens and checks a backing file; every problem a user can cause becomes an InputError. */
  static open(path: string, options: BackingFileOptions = {}): BackingFileSource {
    const writable = options.writable ?? false;
    let fd: number;
    try {
      // O_NOFOLLOW is not used: /dev/shm names are often symlinks set up by users on purpose.
      fd = fs.openSync(path, writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY);
    } catch (err) {
      throw new InputError(`cannot open ${path}: ${describeSystemError(err)}`);
    }
    try {
      const st = fs.fstatSync(fd);
      if (st.isDirectory()) throw new InputError(`${path} is a directory, not a backing file`);
      if (!st.isFile()) throw new InputError(`${path} is not a regular file (a backing file is a file under /dev/shm, hugetlbfs or a disk)`);
      if (st.size === 0) throw new InputError(`${path} is empty: there is nothing to map`);
      if (st.size > MAX_OFFSET) throw new InputError(`${path} is ${formatBytes(st.size)}, larger than the 256 TiB this tool handles`);
      const fileSystem = fileSystemOf(path);
      return new BackingFileSource(path, fd, st, writable, fileSystem.name, options.skipChecks ?? false);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  read(offset: number, target: Uint8Array): void {
    this.ensurePresent();
    if (!this.readThroughMapping) {
      let n: number;
      try {
        n = preadFully(this.fd, target, offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EINVAL' && code !== 'ENODEV' && code !== 'ENXIO') throw err;
        this.readThroughMapping = true;
        return this.read(offset, target);
      }
      if (n < target.length) throw new SourceLostError(this.check() ?? `the backing file ended early at ${offset + n}`);
      return;
    }
    if (offset + target.length > MAPPABLE_LIMIT) throw new InputError(`${this.path} can only be read through its mapping, and only its first 2 GiB can be mapped`);
    this.throughMapping(offset, target, false);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.info.writable) throw new InputError(`${this.path} is attached read-only`);
    this.ensurePresent();
    const mapped = Math.max(0, Math.min(data.length, MAPPABLE_LIMIT - offset));
    if (mapped > 0) this.throughMapping(offset, data.subarray(0, mapped), true);
    if (mapped < data.length) {
      try {
        pwriteFully(this.fd, data.subarray(mapped), offset + mapped);
      } catch (err) {
        throw new InputError(`cannot write ${this.path} past 2 GiB: ${describeSystemError(err)}`);
      }
    }
  }

  /** Copies between the mapping windows and buf; [offset, offset+buf.length) lies below MAPPABLE_LIMIT. */
  private throughMapping(offset: number, buf: Uint8Array, toSegment: boolean): void {
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const index = Math.floor(pos / WINDOW);
      const win = this.window(index);
      const at = pos - index * WINDOW;
      const n = Math.min(buf.length - done, win.length - at);
      if (toSegment) win.set(buf.subarray(done, done + n), at);
      else buf.set(win.subarray(at, at + n), done);
      done += n;
    }
  }

  private window(index: number): Buffer {
    let win = this.windows[index];
    if (!win) {
      const base = index * WINDOW;
      const length = Math.min(WINDOW, this.info.size - base);
      const prot = this.info.writable ? mmap.PROT_READ | mmap.PROT_WRITE : mmap.PROT_READ;
      try {
        win = mmap.map(length, prot as 1 | 3, mmap.MAP_SHARED, this.fd, base);
      } catch (err) {
        throw new InputError(`cannot map ${this.path} at ${base}+${length}: ${String((err as Error).message)}`);
      }
      this.windows[index] = win;
    }
    return win;
  }

  /**
   * Looks for the three ways a backing file goes away: truncated below the attached size (a read
   * through the mapping would raise SIGBUS), deleted, or replaced by another file under the path.
   */
  protected probe(): string | undefined {
    if (this.skipChecks) return undefined;
    let size: number;
    try {
      size = fs.fstatSync(this.fd).size;
    } catch (err) {
      return `the backing file can no longer be examined: ${describeSystemError(err)}`;
    }
    if (size < this.info.size) {
      return `the backing file was truncated from ${this.info.size} to ${size} bytes`;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? `the backing file ${this.path} was deleted` : `${this.path} can no longer be examined: ${describeSystemError(err)}`;
    }
    if (st.ino !== this.ino || st.dev !== this.dev) {
      return `${this.path} was replaced by another file (inode ${this.ino} became ${st.ino})`;
    }
    return undefined;
  }

  protected release(): void {
    // mmap-io unmaps when a window's Buffer is collected; dropping the references is all we can do.
    this.windows.length = 0;
    fs.closeSync(this.fd);
  }
}
