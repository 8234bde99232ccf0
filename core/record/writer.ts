import * as fs from 'node:fs';
import { checkTarget } from '../atomic-file';
import { InputError, describeSystemError } from '../errors';

/** How often written records are pushed to the disk (fdatasync, off the event loop). */
const SYNC_EVERY_MS = 1000;

/**
 * The file under a recording: created under its final name (a reader may follow it while it
 * grows), then only ever appended to, one whole record per write. A crash leaves every record
 * written before it intact; a write that fails is cut back off so that the file ends on a whole
 * record. Records are made durable once a second, so a power cut loses at most the last second
 * (plus whatever the disk itself had not stored).
 */
export class RecordingWriter {
  private position = 0;
  private lastSync = Date.now();
  private syncing = false;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly pauseMidRecordMs: number | undefined,
  ) {}

  /**
   * Creates the file (never replacing one unless force) and writes the header. pauseMidRecordMs is
   * fault injection for tests: each record is written in two halves with this pause between, so
   * that a test can kill the writer in the middle of a record.
   */
  static create(path: string, force: boolean, header: Buffer, pauseMidRecordMs?: number): RecordingWriter {
    checkTarget(path, force);
    if (force) {
      // A new inode rather than a truncation: a reader still holding the old file keeps it whole.
      try {
        fs.unlinkSync(path);
      } catch {
        // not there
      }
    }
    let fd: number;
    try {
      // 0600, like snapshots: a copy of shared memory may hold what its owner kept private.
      fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`${path} already exists (use --force to replace it)`);
      throw new InputError(`cannot create ${path}: ${describeSystemError(err)}`);
    }
    const writer = new RecordingWriter(path, fd, pauseMidRecordMs);
    writer.append(header);
    return writer;
  }

  /** Bytes in the file so far. */
  get size(): number {
    return this.position;
  }

  /** Appends one record; returns its file offset. A failed write leaves the file as it was. */
  append(record: Uint8Array): number {
    if (this.closed) throw new Error('append after close');
    const at = this.position;
    try {
      let done = 0;
      const half = this.pauseMidRecordMs === undefined ? record.length : Math.floor(record.length / 2);
      while (done < half) done += fs.writeSync(this.fd, record, done, half - done, at + done);
      if (this.pauseMidRecordMs !== undefined) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, this.pauseMidRecordMs);
      while (done < record.length) done += fs.writeSync(this.fd, record, done, record.length - done, at + done);
    } catch (err) {
      try {
        fs.ftruncateSync(this.fd, at);
      } catch {
        // the reader stops at the torn record anyway
      }
      throw new InputError(`cannot write ${this.path}: ${describeSystemError(err)}`);
    }
    this.position += record.length;
    this.maybeSync();
    return at;
  }

  private maybeSync(): void {
    if (this.syncing || Date.now() - this.lastSync < SYNC_EVERY_MS) return;
    this.syncing = true;
    this.lastSync = Date.now();
    fs.fdatasync(this.fd, () => {
      this.syncing = false;
      // close() came while this ran in the thread pool: the fd was left open for it.
      if (this.closed) fs.closeSync(this.fd);
    });
  }

  /** Makes everything durable and closes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.fsyncSync(this.fd);
    } catch {
      // some file systems refuse; the records are written
    }
    // An fdatasync still running on this fd closes it when it is done (an fd closed under it
    // could be reused by another open meanwhile).
    if (!this.syncing) fs.closeSync(this.fd);
  }
}
