import * as fs from 'node:fs';
import mmap from '@riaskov/mmap-io';
import { InputError, SourceLostError, describeSystemError } from '../errors';
import { formatBytes, MAX_OFFSET } from '../numbers';
import { SourceBase, type SourceInfo } from '../source';
import { fileSystemOf } from './file-system';

/**
 * mmap-io passes size and offset to mmap() through a C `int`: a window must end below 2^31, and an
 * offset past 2^31 would silently wrap to a low one. So the first 2 GiB are mapped, in two windows
 * of 1 GiB (a multiple of every huge page size), and bytes past that are reached with pread/pwrite
 * on the same descriptor, which on Linux go through the same page-cache pages as the mapping.
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
    this.transfer(offset, target, false);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.info.writable) throw new InputError(`${this.path} is attached read-only`);
    this.ensurePresent();
    this.transfer(offset, data, true);
  }

  view(offset: number, length: number): Uint8Array | undefined {
    const index = Math.floor(offset / WINDOW);
    if (offset + length > MAPPABLE_LIMIT || Math.floor((offset + length - 1) / WINDOW) !== index) return undefined;
    this.ensurePresent();
    const base = index * WINDOW;
    return this.window(index).subarray(offset - base, offset - base + length);
  }

  /** Copies between the segment and `buf`, window by window, then past the mappable limit by pread/pwrite. */
  private transfer(offset: number, buf: Uint8Array, toSegment: boolean): void {
    let done = 0;
    while (done < buf.length) {
      const pos = offset + done;
      const part = buf.subarray(done);
      if (pos < MAPPABLE_LIMIT) {
        const index = Math.floor(pos / WINDOW);
        const win = this.window(index);
        const at = pos - index * WINDOW;
        const n = Math.min(part.length, win.length - at);
        if (toSegment) win.set(part.subarray(0, n), at);
        else part.set(win.subarray(at, at + n));
        done += n;
      } else {
        const n = toSegment ? fs.writeSync(this.fd, part, 0, part.length, pos) : fs.readSync(this.fd, part, 0, part.length, pos);
        if (n === 0) {
          const reason = this.check() ?? `the backing file ended early at ${pos}`;
          throw new SourceLostError(reason);
        }
        done += n;
      }
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
