import type { Range } from '../numbers';
import { SourceBase } from '../source';
import type { SegmentIO } from './segment-io';

/**
 * A sequential scan (diff, snapshot, three-way; forward, skipping holes or not) is checked at least
 * once per 16 MiB and 20 ms, not per read: bulk readers read 128 KiB at a time, and a check per
 * read (an fstat) cost 0.07-0.1 s of a 0.6-0.7 s diff of two 1 GiB files (and 70 ms of a snapshot
 * of a 1 GiB file with 26,000 data extents, when every jump over a hole was checked). A truncation
 * inside the stretch still shows at once as a short read; a deletion or replacement by the next check.
 */
const CHECK_EVERY = 16 * 1024 * 1024;
const CHECK_EVERY_MS = 20;

/**
 * A source whose bytes live behind one SegmentIO (a backing file, an ivshmem memory fd, a
 * snapshot's data): reads go through it, after a presence check (see CHECK_EVERY).
 */
export abstract class SegmentSource extends SourceBase {
  protected abstract readonly io: SegmentIO;
  /** Where the last read ended, and where the scan it continues was last checked. */
  private scanEnd = Number.POSITIVE_INFINITY;
  private scanCheckedAt = 0;
  private scanCheckedTime = 0;

  read(offset: number, target: Uint8Array): void {
    this.scanning(offset);
    this.io.read(offset, target);
    this.scanEnd = offset + target.length;
  }

  dataExtents(offset: number, length: number): Range[] | undefined {
    this.ensurePresent();
    return this.io.dataExtents(offset, length);
  }

  /** The presence check of a scan's next step at offset (see CHECK_EVERY). */
  private scanning(offset: number): void {
    const now = Date.now();
    // Forward from where the last read ended (a scan that skips holes too) is the same scan.
    if (offset < this.scanEnd || offset - this.scanCheckedAt >= CHECK_EVERY || now - this.scanCheckedTime >= CHECK_EVERY_MS || this.closed || this.gone !== undefined) {
      this.ensurePresent();
      this.scanCheckedAt = offset;
      this.scanCheckedTime = now;
    }
    this.scanEnd = Number.POSITIVE_INFINITY; // until this step has succeeded: the next one checks
  }
}
