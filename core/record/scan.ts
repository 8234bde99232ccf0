import { FormatError } from '../snapshot/format';
import type { RecordingHeader } from './header';
import type { RecordIndex } from './record-index';
import { parseRecordAt } from './parse';
import { RECORD_HEADER } from './records';

/** Where bytes come from: a file, or memory (tests and the fuzzer). */
export interface ByteSource {
  size(): number;
  read(position: number, target: Buffer): number;
  close(): void;
}

const SCAN_CHUNK = 8 * 1024 * 1024;

/**
 * Reads records from `position` on, in 8 MiB reads, checks each (parseRecordAt, then the index's
 * rules between records) and adds it to the index. Stops at the end of the file or at the first
 * record it cannot trust; returns where the next record would start and, if it stopped early, what
 * it left unread and why (the torn tail).
 */
export function scanRecords(src: ByteSource, header: RecordingHeader, index: RecordIndex, position: number, maxRecord: number): { position: number; tail: { offset: number; bytes: number; reason: string } | undefined } {
  let tail: { offset: number; bytes: number; reason: string } | undefined;
  const size = src.size();
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, Math.max(RECORD_HEADER, size - position)));
  let bufStart = -1;
  let bufLength = 0;
  const load = (at: number): void => {
    bufStart = at;
    bufLength = src.read(at, buf);
  };
  while (position < size) {
    const at = position;
    const stop = (reason: string): void => {
      tail = { offset: at, bytes: size - at, reason };
    };
    if (size - at < RECORD_HEADER) {
      stop('a record cut short');
      break;
    }
    if (bufStart < 0 || at < bufStart || at + RECORD_HEADER > bufStart + bufLength) load(at);
    const length = buf.readUInt32LE(at - bufStart);
    if (length < RECORD_HEADER || length > maxRecord) {
      stop(`a record claims ${length} bytes, which no record of this recording can have`);
      break;
    }
    if (at + length > size) {
      stop('a record cut short');
      break;
    }
    if (at + length > bufStart + bufLength) {
      // Not in the buffer: read from the record on, in a buffer that holds it.
      if (length > buf.length) buf = Buffer.allocUnsafe(Math.max(length, Math.min(SCAN_CHUNK, size - at)));
      load(at);
      if (bufLength < length) {
        stop('a record cut short');
        break;
      }
    }
    try {
      index.accept(parseRecordAt(buf, at - bufStart, length, header), at, length);
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      stop(err.message);
      break;
    }
    position = at + length;
  }
  return { position, tail };
}
