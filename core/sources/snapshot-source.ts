import * as fs from 'node:fs';
import { InputError } from '../errors';
import { SnapshotFile } from '../snapshot/reader';
import type { SourceInfo } from '../source';
import { SegmentSource } from './segment-source';
import { SegmentIO } from './segment-io';

/** A .shmsnap file as a read-only source: its data, after the header, read like a segment's. */
export class SnapshotSource extends SegmentSource {
  readonly info: SourceInfo;
  protected readonly io: SegmentIO;

  constructor(readonly file: SnapshotFile) {
    super();
    const h = file.header;
    this.info = { kind: 'snapshot', description: file.path, size: h.size, writable: false, ...(h.peerId === undefined ? {} : { peerId: h.peerId }) };
    this.io = new SegmentIO(file.fd, h.size, false, file.path, () => this.check(), h.headerLength);
  }

  static open(path: string): SnapshotSource {
    const file = SnapshotFile.open(path);
    try {
      return new SnapshotSource(file);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  write(): void {
    throw new InputError(`${this.file.path} is a snapshot: snapshots are read-only`);
  }

  protected probe(): string | undefined {
    const expected = this.file.header.headerLength + this.file.header.size;
    const size = fs.fstatSync(this.file.fd).size;
    return size < expected ? `the snapshot ${this.file.path} was truncated from ${expected} to ${size} bytes` : undefined;
  }

  protected release(): void {
    this.io.release();
    this.file.close();
  }
}
