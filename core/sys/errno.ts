import { constants } from 'node:os';
import { lastErrno } from './libc';

const names = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * The error of a failed libc call, shaped like Node's own system errors (code "EINVAL", errno,
 * syscall), so that describeSystemError and callers that test `code` treat both alike.
 */
export function systemError(syscall: string, errno = lastErrno()): NodeJS.ErrnoException {
  const code = names.get(errno) ?? `errno ${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall} failed`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  return err;
}
