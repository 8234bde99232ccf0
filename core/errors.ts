/**
 * Errors a user can cause (a bad path, a malformed file, a number out of range) are InputErrors:
 * they carry a one-line message meant to be shown as is, never with a stack trace.
 * A source that goes away under us (truncated, deleted, replaced, its agent died) is a
 * SourceLostError. Anything else is a bug and keeps its stack.
 */
import type { ErrorCode } from '../shared/messenger';

export class InputError extends Error {
  override readonly name = 'InputError';
}

export class SourceLostError extends Error {
  override readonly name = 'SourceLostError';
}

/**
 * Stable codes so an error keeps its kind across every boundary (agent ↔ parent, host ↔ webview):
 * defined with the messenger (shared/messenger.ts), which carries them.
 */
export type { ErrorCode } from '../shared/messenger';

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** A request that got no answer in time (the other side may be stuck or gone). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

export function errorCode(err: unknown): ErrorCode {
  if (err instanceof InputError) return 'input';
  if (err instanceof SourceLostError) return 'lost';
  if (err instanceof CancelledError) return 'cancelled';
  if (err instanceof TimeoutError) return 'timeout';
  return 'internal';
}

export function errorFromCode(code: ErrorCode, message: string): Error {
  switch (code) {
    case 'input':
      return new InputError(message);
    case 'lost':
      return new SourceLostError(message);
    case 'cancelled':
      return new CancelledError(message);
    case 'timeout':
      return new TimeoutError(message);
    case 'internal':
      return new Error(message);
  }
}

/** The message of a Node system error in plain words, e.g. "no such file or directory". */
export function describeSystemError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'EEXIST':
      return 'already exists';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'ENXIO':
      return 'no such device or address';
    case 'ECONNREFUSED':
      return 'connection refused';
    default:
      return e?.code ? `${e.code}${e.message ? ` (${e.message.replace(/^[A-Z]+: /, '')})` : ''}` : String(err);
  }
}
