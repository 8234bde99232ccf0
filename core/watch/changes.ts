import { forEachDifference } from '../diff/ranges';

/** A run of bytes that differs between two samples of the same range. */
export interface Change {
  offset: number;
  before: Uint8Array;
  after: Uint8Array;
}

/** The run [start, end) of two samples as a Change at baseOffset + start, with copies of its bytes. */
export function changeOf(before: Uint8Array, after: Uint8Array, start: number, end: number, baseOffset: number): Change {
  // Copies even when given Buffers (whose slice() would be a view).
  return { offset: baseOffset + start, before: Uint8Array.prototype.slice.call(before, start, end), after: Uint8Array.prototype.slice.call(after, start, end) };
}

/**
 * The changed runs between two samples of [baseOffset, baseOffset + length). Equal pages are
 * skipped with a native compare, so an idle tick costs a memcmp. Returned bytes are copies, safe to
 * keep after the buffers are reused.
 */
export function findChanges(before: Uint8Array, after: Uint8Array, baseOffset: number): Change[] {
  if (before.length !== after.length) throw new Error('findChanges needs samples of equal length');
  const changes: Change[] = [];
  forEachDifference(before, after, (start, end) => changes.push(changeOf(before, after, start, end, baseOffset)));
  return changes;
}
