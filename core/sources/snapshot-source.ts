import * as fs from 'node:fs';
import { InputError } from '../errors';
import { BlockTrust } from '../snapshot/block-trust';
import { checkAll, type CheckProgress, type CheckedPass } from '../snapshot/checked-pass';
import { DamagedError, damagedMessage, damagedRanges } from '../snapshot/integrity';
import { SnapshotFile, type VerifyResult } from '../snapshot/reader';
import { identityOf, type Source, type SourceInfo } from '../source';
import { SegmentSource } from './segment-source';
import { SegmentIO } from './segment-io';

/**
 * A .shmsnap file as a read-only source: its data, after the header, read like a segment's.
 *
 * No byte is handed out before its block matched its checksum: read() checks the blocks it touches
 * (once each) and throws DamagedError for a bad one; view() gives nothing. A bulk pass (diff,
 * reconnect) asks for checkedPass() instead: its bytes are checked beside it, and its result waits
 * for the check (core/snapshot/checked-pass.ts).
 */
export class SnapshotSource extends SegmentSource {
  readonly info: SourceInfo;
  protected readonly io: SegmentIO;
  readonly trust: BlockTrust;

  constructor(readonly file: SnapshotFile) {
    super();
    const h = file.header;
    this.info = { kind: 'snapshot', description: file.path, size: h.size, writable: false, identity: identityOf(file.fd), ...(h.peerId === undefined ? {} : { peerId: h.peerId }) };
    this.io = new SegmentIO(file.fd, h.size, false, file.path, () => this.check(), h.headerLength);
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

  /**
   * A copy of a snapshot goes through read(), block by block checked: skipping its holes would
   * copy a damaged block unchecked and give it a fresh, valid checksum.
   */
  override dataExtents(): undefined {
    return undefined;
  }

  /** Checks every block (a worker thread and this one) and remembers the result for later reads. */
  async verify(progress: CheckProgress = {}): Promise<VerifyResult> {
    await checkAll([this.trust], progress);
    const badBlocks = this.trust.badBlocks();
    progress.onProgress?.(this.info.size, this.info.size);
    return { badBlocks, blocksChecked: this.trust.state.length, damaged: damagedRanges(badBlocks, this.trust.data) };
  }

  checkedPass(partner?: CheckedPass): CheckedPass {
    const pair = partner?.unchecked instanceof Unchecked ? partner.unchecked : undefined;
    return { unchecked: new Unchecked(this, pair), trust: this.trust };
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

/**
 * A snapshot's bytes for the one bulk pass whose result waits for the whole-file check. What it
 * hands out is checked right away where it holds whole blocks nobody claimed (BlockTrust.checkInline),
 * the rest by the worker; the last bytes handed out let a partner snapshot check equal blocks once.
 */
class Unchecked implements Source {
  private last: { offset: number; bytes: Uint8Array } | undefined;

  constructor(
    private readonly snapshot: SnapshotSource,
    private partner?: Unchecked,
  ) {
    // Both ways: whichever side checks a block first, the other takes its verdict for equal bytes
    // (a diff reads B ahead of A: A then finds B's blocks checked).
    if (partner) partner.partner ??= this;
  }

  get info(): SourceInfo {
    return this.snapshot.info;
  }

  read(offset: number, target: Uint8Array): void {
    this.snapshot.readUnchecked(offset, target);
    this.handedOut(offset, target);
  }

  view(offset: number, length: number): Uint8Array | undefined {
    const v = this.snapshot.viewUnchecked(offset, length);
    if (v) this.handedOut(offset, v);
    return v;
  }

  private handedOut(offset: number, bytes: Uint8Array): void {
    const other = this.partner?.last;
    this.snapshot.trust.checkInline(offset, bytes, other ? { trust: this.partner!.snapshot.trust, ...other } : undefined);
    this.last = { offset, bytes };
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
