/** A run of bytes that differs between two samples of the same range. */
export interface Change {
  offset: number;
  before: Uint8Array;
  after: Uint8Array;
}

const PAGE = 4096;

/**
 * The changed runs between two samples of [baseOffset, baseOffset + length). Equal pages are
 * skipped with a native compare; only differing pages are walked byte by byte, so an idle tick
 * costs a memcmp. Returned bytes are copies, safe to keep after the buffers are reused.
 */
export function findChanges(before: Uint8Array, after: Uint8Array, baseOffset: number): Change[] {
  if (before.length !== after.length) throw new Error('findChanges needs samples of equal length');
  const a = Buffer.from(before.buffer, before.byteOffset, before.byteLength);
  const b = Buffer.from(after.buffer, after.byteOffset, after.byteLength);
  const changes: Change[] = [];
  let runStart = -1;
  const close = (end: number): void => {
    // new Uint8Array(view) copies; Buffer#slice would not.
    changes.push({ offset: baseOffset + runStart, before: new Uint8Array(a.subarray(runStart, end)), after: new Uint8Array(b.subarray(runStart, end)) });
    runStart = -1;
  };
  for (let page = 0; page < a.length; page += PAGE) {
    const end = Math.min(a.length, page + PAGE);
    if (a.subarray(page, end).equals(b.subarray(page, end))) {
      if (runStart >= 0) close(page);
      continue;
    }
    for (let i = page; i < end; i++) {
      if (a[i] !== b[i]) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        close(i);
      }
    }
  }
  if (runStart >= 0) close(a.length);
  return changes;
}
