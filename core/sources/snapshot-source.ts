import * as fs from 'node:fs';
import { InputError, SourceLostError } from '../errors';
import { SnapshotFile } from '../snapshot/reader';
import { SourceBase, type SourceInfo } from '../source';

/** A .shmsnap file as a read-only source; its bytes come by pread, never through a mapping. */
export class SnapshotSource extends SourceBase {
  readonly info: SourceInfo;

  constructor(readonly file: SnapshotFile) {
    super();
    this.info = { kind: 'snapshot', description: file.path, size: file.header.size, writable: false };
  }

  static open(path: string): SnapshotSource {
    return new SnapshotSource(SnapshotFile.open(path));
  }

  read(offset: number, target: Uint8Array): void {
    this.ensurePresent();
    if (this.file.readData(offset, target) !== target.length) {
      throw new SourceLostError(this.check() ?? `${this.file.path} ended early`);
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
    this.file.close();
  }
}
