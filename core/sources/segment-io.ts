import * as fs from 'node:fs';
import { mmap } from '../native';
import { InputError, SourceLostError, describeSystemError } from '../errors';
import { preadFully, pwriteFully } from '../file-io';

/**
 * Moves bytes in and out of a shared-memory descriptor (a backing file, or the memory fd an
 * ivshmem server hands out). How, and why (each measured or seen on this kind of machine):
 * - Reads go through the mapping when the file has no holes (every block allocated: fstat's
 *   blocks cover its size), and by pread when it has. Measured on 1 GiB tmpfs files: comparing two
 *   mappings took 0.17-0.39 s, pread into buffers and comparing 1.9 s. But on tmpfs a read fault on
 *   a hole allocates the page: a snapshot of a 1 GiB sparse /dev/shm segment through the mapping
 *   grew the segment's memory use by 1 GiB. pread returns zeros for a hole without allocating (and
 *   a short count, not SIGBUS, past a truncation). Snapshot files (disk) map holes to the zero page.
 * - Writes go through a MAP_SHARED mapping, in place, like a peer's stores; hugetlbfs has no
 *   write(), so it needs the mapping anyway.
 * - The first window is mapped when the segment is opened: that proves the descriptor can be
 *   mapped, and costs nothing until a page is touched.
 * - mmap-io passes size and offset to mmap() through a C `int`: a window must end below 2^31 (an
 *   offset of 2^32 + x would silently become x). So the first 2 GiB are mapped in two 1 GiB
 *   windows (a multiple of every huge page size); past that, writes use pwrite.
 * - A descriptor that refuses pread (some device files) is read through the mapping.
 */
export const MAPPABLE_LIMIT = 2 ** 31;
const WINDOW = 2 ** 30;

export class SegmentIO {
  private readonly windows: (Buffer | undefined)[] = [];
  private readThroughMapping = false;

  /**
   * @param label names the segment in messages ("/dev/shm/x", "the server's shared memory")
   * @param whyGone asked when a read comes up short: the reason the segment went away, if known
   */
  constructor(
    readonly fd: number,
    readonly size: number,
    readonly writable: boolean,
    private readonly label: string,
    private readonly whyGone: () => string | undefined,
    /** File offset of the segment's first byte (a snapshot's header length); page-aligned. */
    private readonly base = 0,
    /** Read through the mapping; by default when the file has no holes. */
    mapReads?: boolean,
  ) {
    this.readThroughMapping = mapReads ?? isDense(fd, base + size);
    this.window(0);
  }

  /** A view straight into the mapping (no copy), when the range lies in one mapped window. */
  view(offset: number, length: number): Uint8Array | undefined {
    if (!this.readThroughMapping || this.base + offset + length > MAPPABLE_LIMIT) return undefined;
    const index = Math.floor(offset / WINDOW);
    if (Math.floor((offset + length - 1) / WINDOW) !== index) return undefined;
    const at = offset - index * WINDOW;
    return this.window(index).subarray(at, at + length);
  }

  /**
   * Done with [offset, offset+length) for now: its pages leave this process's page tables
   * (MADV_DONTNEED; the data stays in the file), so a pass over a large segment keeps the resident
   * set flat instead of counting every page it touched.
   */
  forget(offset: number, length: number): void {
    if (!this.readThroughMapping) return;
    for (let pos = offset; pos < offset + length; ) {
      const index = Math.floor(pos / WINDOW);
      const win = this.windows[index];
      const at = pos - index * WINDOW;
      const n = Math.min(offset + length - pos, WINDOW - at);
      if (win) {
        // madvise wants a page-aligned start: round inwards.
        const from = Math.ceil(at / 4096) * 4096;
        const to = Math.min(win.length, Math.floor((at + n) / 4096) * 4096);
        if (to > from) mmap.advise(win, from, to - from, mmap.MADV_DONTNEED);
      }
      pos += n;
    }
  }

  read(offset: number, target: Uint8Array): void {
    if (this.readThroughMapping && this.base + offset + target.length <= MAPPABLE_LIMIT) {
      this.throughMapping(offset, target, false);
      return;
    }
    {
      let n: number;
      try {
        n = preadFully(this.fd, target, this.base + offset);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EINVAL' && code !== 'ENODEV' && code !== 'ENXIO') throw err;
        if (this.readThroughMapping || this.base + offset + target.length > MAPPABLE_LIMIT) {
          throw new InputError(`${this.label} can only be read through its mapping, and only its first 2 GiB can be mapped`);
        }
        this.readThroughMapping = true;
        return this.read(offset, target);
      }
      if (n < target.length) throw new SourceLostError(this.whyGone() ?? `${this.label} ended early at ${offset + n}`);
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new InputError(`${this.label} is attached read-only`);
    const mapped = Math.max(0, Math.min(data.length, MAPPABLE_LIMIT - this.base - offset));
    if (mapped > 0) this.throughMapping(offset, data.subarray(0, mapped), true);
    if (mapped < data.length) {
      try {
        pwriteFully(this.fd, data.subarray(mapped), this.base + offset + mapped);
      } catch (err) {
        throw new InputError(`cannot write ${this.label} past 2 GiB: ${describeSystemError(err)}`);
      }
    }
  }

  /** Drops the mappings (mmap-io unmaps when the Buffers are collected). The fd is the owner's. */
  release(): void {
    this.windows.length = 0;
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
      const length = Math.min(WINDOW, this.size - base, MAPPABLE_LIMIT - this.base - base);
      const prot = this.writable ? mmap.PROT_READ | mmap.PROT_WRITE : mmap.PROT_READ;
      try {
        win = mmap.map(length, prot as 1 | 3, mmap.MAP_SHARED, this.fd, this.base + base);
      } catch (err) {
        throw new InputError(`cannot map ${this.label} (${base}+${length}): ${mmapErrorText(err)}`);
      }
      this.windows[index] = win;
    }
    return win;
  }
}

/** mmap-io says "mmap failed, 19"; say what errno 19 means. */
function mmapErrorText(err: unknown): string {
  const m = /(\d+)\s*$/.exec(String((err as Error)?.message));
  const errno: Record<string, string> = { '1': 'operation not permitted', '12': 'not enough memory', '13': 'permission denied', '19': 'the file type does not support mapping', '22': 'invalid argument (size or alignment)', '9': 'bad file descriptor' };
  return m ? (errno[m[1]!] ?? `errno ${m[1]}`) : String((err as Error)?.message ?? err);
}

/** Whether every block of the file is allocated (no holes), so reads through a mapping allocate nothing. */
function isDense(fd: number, size: number): boolean {
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() && st.blocks * 512 >= size;
  } catch {
    return false;
  }
}
