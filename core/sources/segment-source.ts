import { SourceBase } from '../source';
import type { SegmentIO } from './segment-io';

/**
 * A source whose bytes live behind one SegmentIO (a backing file, an ivshmem memory fd, a
 * snapshot's data): reads, views and forget go through it, each read after a presence check.
 */
export abstract class SegmentSource extends SourceBase {
  protected abstract readonly io: SegmentIO;

  read(offset: number, target: Uint8Array): void {
    this.ensurePresent();
    this.io.read(offset, target);
  }

  override forget(offset: number, length: number): void {
    this.io.forget(offset, length);
  }

  override view(offset: number, length: number): Uint8Array | undefined {
    this.ensurePresent();
    return this.io.view(offset, length);
  }
}
