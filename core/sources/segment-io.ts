import * as fs from 'node:fs';
import { InputError, SourceLostError, describeSystemError } from '../errors';
import { preadFully, pwriteFully } from '../file-io';
import type { Range } from '../numbers';
import { dataExtents } from '../sys/extents';
import { nativeAvailable } from '../sys/libc';
import { SharedMapping } from '../sys/mmap';

/**
 * Moves bytes in and out of a shared-memory descriptor (a backing file, the memory fd an ivshmem
 * server hands out, a snapshot's data). How, and why (each seen or measured on this kind of machine):
 * - Reads are pread. It needs no native code, sees the same page cache QEMU maps, cannot raise
 *   SIGBUS (past a truncation it returns a short count: SourceLostError), and returns zeros for a
 *   tmpfs hole without allocating it (a read fault through a mapping allocated the page: a snapshot
 *   of a 1 GiB sparse /dev/shm segment grew it by 1 GiB). Bulk callers read in chunks of 8-16 MiB,
 *   where pread runs near memory speed (1 GiB of /dev/shm in 0.23-0.34 s).
 * - Writes are pwrite, in place, like a peer's stores. hugetlbfs refuses write() (EINVAL, seen):
 *   there, and on any descriptor that refuses it, writes are copies into a MAP_SHARED mapping
 *   (core/sys/mmap.ts, through the native library), mapped in 1 GiB windows on first use (a
 *   multiple of every huge page size) and unmapped on release. Which way is decided when a
 *   writable segment is opened, by a zero-length pwrite (the kernel refuses it the same way), and
 *   the first window is mapped then: a segment that cannot be written fails to open, not later.
 */
const WINDOW = 2 ** 30;

export class SegmentIO {
  private readonly windows: SharedMapping[] = [];
  private readonly writeThroughMapping: boolean;

  /**
   * @param label names the segment in messages ("/dev/shm/x", "the server's shared memory")
   * @param whyGone asked when a read comes up short: the reason the segment went away, if known
   * @param base file offset of the segment's first byte (a snapshot's header length)
   */
  constructor(
    readonly fd: number,
    readonly size: number,
    readonly writable: boolean,
    private readonly label: string,
    private readonly whyGone: () => string | undefined,
    private readonly base = 0,
  ) {
    this.writeThroughMapping = writable && refusesWrite(fd, base, label);
    if (this.writeThroughMapping) this.window(0);
  }

  read(offset: number, target: Uint8Array): void {
    let n: number;
    try {
      n = preadFully(this.fd, target, this.base + offset);
    } catch (err) {
      throw new InputError(`cannot read ${this.label} at ${offset}: ${describeSystemError(err)}`);
    }
    if (n < target.length) throw new SourceLostError(this.whyGone() ?? `${this.label} ended early at ${offset + n}`);
  }

  /**
   * The data extents of [offset, offset + length) of the segment (SEEK_DATA), in segment offsets;
   * undefined without the native library or where the file system cannot tell.
   */
  dataExtents(offset: number, length: number): Range[] | undefined {
    if (!nativeAvailable()) return undefined;
    try {
      return dataExtents(this.fd, this.base + offset, this.base + offset + length).map((e) => ({ offset: e.offset - this.base, length: e.length }));
    } catch (err) {
      if (err instanceof InputError) return undefined;
      throw new InputError(`cannot examine ${this.label} at ${offset}: ${describeSystemError(err)}`);
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.writable) throw new InputError(`${this.label} is attached read-only`);
    if (this.writeThroughMapping) {
      this.copyIntoMapping(offset, data);
      return;
    }
    try {
      pwriteFully(this.fd, data, this.base + offset);
    } catch (err) {
      throw new InputError(`cannot write ${this.label} at ${offset}: ${describeSystemError(err)}`);
    }
  }

  /** Unmaps what writes mapped (now, not at a garbage collection). The fd is the owner's. */
  release(): void {
    for (const w of this.windows) w?.unmap();
    this.windows.length = 0;
  }

  private copyIntoMapping(offset: number, data: Uint8Array): void {
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const index = Math.floor(pos / WINDOW);
      const win = this.window(index);
      const at = pos - index * WINDOW;
      const n = Math.min(data.length - done, win.length - at);
      win.copyIn(at, data.subarray(done, done + n));
      done += n;
    }
  }

  private window(index: number): SharedMapping {
    let win = this.windows[index];
    if (!win) {
      const start = index * WINDOW;
      const length = Math.min(WINDOW, this.size - start);
      try {
        win = SharedMapping.map(this.fd, this.base + start, length, true);
      } catch (err) {
        if (err instanceof InputError) throw err; // the native library cannot load: its own line
        throw new InputError(`cannot map ${this.label} (${start}+${length}) to write it: ${describeSystemError(err)}`);
      }
      this.windows[index] = win;
    }
    return win;
  }
}

/** Whether the descriptor refuses write() (hugetlbfs: EINVAL even for zero bytes), so writes need a mapping. */
function refusesWrite(fd: number, position: number, label: string): boolean {
  try {
    fs.writeSync(fd, Buffer.alloc(0), 0, 0, position);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return true;
    throw new InputError(`cannot write ${label}: ${describeSystemError(err)}`);
  }
}
