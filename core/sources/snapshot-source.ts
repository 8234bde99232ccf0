import * as fs from 'node:fs';
import { InputError } from '../errors';
import { BlockTrust, DamagedError, checkAllBlocks, damagedMessage, damagedRanges, type CheckProgress, type CheckedPass } from '../snapshot/integrity';
import { SnapshotFile, type VerifyResult } from '../snapshot/reader';
import { identityOf, type Source, type SourceInfo } from '../source';
import { SegmentSource } from './segment-source';
import { SegmentIO } from './segment-io';

/**
 * A .shmsnap file as a read-only source. Its data starts at a page boundary, so it is mapped like
 * a segment (holes in a file on disk map to the zero page; nothing is allocated), and read past
 * the mappable first 2 GiB by pread.
 *
 * No byte is handed out before its block matched its checksum: read() checks the blocks it touches
 * (once each) and throws DamagedError for a bad one. view() gives nothing: a bulk pass (diff,
 * reconnect) asks for checkedPass() instead, whose check runs beside it (core/snapshot/integrity.ts).
 */
export class SnapshotSource extends SegmentSource {
  readonly info: SourceInfo;
  protected readonly io: SegmentIO;
  private readonly trust: BlockTrust;

  constructor(readonly file: SnapshotFile) {
    super();
    const h = file.header;
    this.info = { kind: 'snapshot', description: file.path, size: h.size, writable: false, identity: identityOf(file.fd), ...(h.peerId === undefined ? {} : { peerId: h.peerId }) };
    this.io = new SegmentIO(file.fd, h.size, false, file.path, () => this.check(), h.headerLength, true);
    this.trust = new BlockTrust(h, file.fd, h.headerLength);
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

  override read(offset: number, target: Uint8Array): void {
    super.read(offset, target);
    const bad = this.trust.check(offset, target.length, target);
    if (bad.length > 0) throw new DamagedError(damagedMessage(this.file.path, bad));
  }

  override view(): undefined {
    return undefined;
  }

  /** Checks every block (on a worker thread) and remembers the result for later reads. */
  async verify(progress: CheckProgress = {}): Promise<VerifyResult> {
    const result = await this.file.verify(progress);
    this.trust.recordAll(result.badBlocks);
    return result;
  }

  checkedPass(): CheckedPass {
    const h = this.file.header;
    let cancelled = false;
    const checking = checkAllBlocks({ fd: this.file.fd, dataOffset: h.headerLength, data: { size: h.size, blockSize: h.blockSize, blockChecksums: h.blockChecksums } }, { isCancelled: () => cancelled }).then((bad) => {
      this.trust.recordAll(bad);
      return damagedRanges(bad, h);
    });
    // Awaited by done(); a pass that failed or was cancelled never asks.
    checking.catch(() => undefined);
    return { unchecked: new Unchecked(this), done: () => checking, cancel: () => (cancelled = true) };
  }

  /** Segment reads without the block check: for Unchecked only. */
  readUnchecked(offset: number, target: Uint8Array): void {
    super.read(offset, target);
  }

  viewUnchecked(offset: number, length: number): Uint8Array | undefined {
    return super.view(offset, length);
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

/** A snapshot's bytes for the one bulk pass whose result waits for the whole-file check. */
class Unchecked implements Source {
  constructor(private readonly snapshot: SnapshotSource) {}

  get info(): SourceInfo {
    return this.snapshot.info;
  }

  read(offset: number, target: Uint8Array): void {
    this.snapshot.readUnchecked(offset, target);
  }

  view(offset: number, length: number): Uint8Array | undefined {
    return this.snapshot.viewUnchecked(offset, length);
  }

  forget(offset: number, length: number): void {
    this.snapshot.forget(offset, length);
  }

  write(): void {
    this.snapshot.write();
  }

  check(): string | undefined {
    return this.snapshot.check();
  }

  onGone(listener: (reason: string) => void): () => void {
    return this.snapshot.onGone(listener);
  }

  close(): void {
    // the snapshot's owner closes it
  }
}
