import { SourceBase } from '../source';
import type { SegmentIO } from './segment-io';

/**
 * A source whose bytes live behind one SegmentIO (a backing file, an ivshmem memory fd, a
 * snapshot's data): each read goes through it after a presence check.
 */
export abstract class SegmentSource extends SourceBase {
  protected abstract readonly io: SegmentIO;

  read(offset: number, target: Uint8Array): void {
    this.ensurePresent();
    this.io.read(offset, target);
  }
}
