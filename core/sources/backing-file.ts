import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { InputError, describeSystemError } from '../errors';
import { formatBytes, MAX_OFFSET } from '../numbers';
import type { SourceInfo } from '../source';
import { SegmentSource } from './segment-source';
import { fileSystemOf } from './file-system';
import { SegmentIO } from './segment-io';

export interface BackingFileOptions {
  writable?: boolean;
  /**
   * Fault injection for tests: never look for truncation, deletion or replacement, so that an access
   * after a truncation really happens (a short pread; on hugetlbfs, a store and SIGBUS).
   */
  skipChecks?: boolean;
}

/** A regular file, a file under /dev/shm or a hugetlbfs file (see SegmentIO for how bytes move). */
export class BackingFileSource extends SegmentSource {
  readonly info: SourceInfo;
  protected readonly io: SegmentIO;
  private readonly ino: number;
  private readonly dev: number;
  /** The path goes through a symbolic link, which can be pointed elsewhere: look it up each time. */
  private readonly viaLink: boolean;
  /** The inode's ctime when the path was last seen to lead to it (a link or unlink changes ctime). */
  private linkedAt: number;

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
    this.viaLink = realPathOf(path) !== nodePath.resolve(path);
    this.linkedAt = st.ctimeMs;
    this.dev = st.dev;
    this.info = { kind: 'file', description: path, size: st.size, writable, fileSystem, identity: { dev: st.dev, ino: st.ino } };
    this.io = new SegmentIO(fd, st.size, writable, path, () => this.check());
  }

  /** Opens and checks a backing file; every problem a user can cause becomes an InputError. */
  static open(path: string, options: BackingFileOptions = {}): BackingFileSource {
    const writable = options.writable ?? false;
    let fd: number;
    try {
      // O_NOFOLLOW is not used: /dev/shm names are often symlinks set up by users on purpose.
      // O_NONBLOCK: a FIFO would block open(2) until a writer came (the agent stuck for good); with
      // it the open returns and the fstat below refuses the FIFO. Regular files ignore the flag.
      fd = fs.openSync(path, (writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY) | fs.constants.O_NONBLOCK);
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
      // A writable file that refuses pwrite (hugetlbfs) is mapped by the constructor: refused here if it cannot be.
      return new BackingFileSource(path, fd, st, writable, fileSystem.name, options.skipChecks ?? false);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.info.writable) throw new InputError(`${this.path} is attached read-only`);
    this.ensurePresent();
    this.io.write(offset, data);
  }

  /**
   * Looks for the three ways a backing file goes away: truncated below the attached size (a read
   * would come up short; a store into a hugetlbfs mapping would raise SIGBUS), deleted, or replaced
   * by another file under the path.
   */
  protected probe(): string | undefined {
    if (this.skipChecks) return undefined;
    let size: number;
    let nlink: number;
    let ctimeMs: number;
    try {
      ({ size, nlink, ctimeMs } = fs.fstatSync(this.fd));
    } catch (err) {
      return `the backing file can no longer be examined: ${describeSystemError(err)}`;
    }
    if (size < this.info.size) {
      return `the backing file was truncated from ${this.info.size} to ${size} bytes`;
    }
    // Deleted, or replaced (renamed over, or unlinked and made again): our inode loses a link, which
    // changes its ctime. So while it has one link, reached by a path without symbolic links, and
    // its ctime is the one seen when the path last led to it, the path is still ours without a
    // lookup (a stat of the path per read cost as much as the fstat: 16k of each in a 1 GiB diff).
    if (nlink === 1 && !this.viaLink && ctimeMs === this.linkedAt) return undefined;
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
    this.linkedAt = ctimeMs;
    return undefined;
  }

  protected release(): void {
    this.io.release();
    fs.closeSync(this.fd);
  }
}

function realPathOf(path: string): string | undefined {
  try {
    return fs.realpathSync(path);
  } catch {
    return undefined;
  }
}
