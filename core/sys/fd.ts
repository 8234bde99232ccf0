/**
 * File descriptors Node cannot make or change itself: eventfds and memfds (made by system call,
 * never by a program found through PATH), the O_NONBLOCK flag, and flock. All close-on-exec.
 */
import * as fs from 'node:fs';
import { systemError } from './errno';
import { native } from './libc';

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const MFD_CLOEXEC = 1;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

interface Calls {
  eventfd(initval: number, flags: number): number;
  memfd_create(name: string, flags: number): number;
  fcntl(fd: number, cmd: number, ...args: unknown[]): number;
  flock(fd: number, op: number): number;
}

let calls: Calls | undefined;

function sys(): Calls {
  if (calls) return calls;
  const { libc } = native();
  calls = {
    eventfd: libc.func('int eventfd(unsigned int initval, int flags)'),
    memfd_create: libc.func('int memfd_create(const char *name, unsigned int flags)'),
    fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
    flock: libc.func('int flock(int fd, int op)'),
  } as Calls;
  return calls;
}

/** Closes an fd we own; an fd already closed is not an error. */
export function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** A new eventfd with a zero counter: non-blocking and close-on-exec (a doorbell). */
export function createEventfd(): number {
  const fd = sys().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw systemError('eventfd');
  return fd;
}

/** A new anonymous memory file (memfd_create), close-on-exec, of size 0. */
export function createMemfd(name: string): number {
  const fd = sys().memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) throw systemError('memfd_create');
  return fd;
}

/** Makes reads and writes on the fd's open file description return EAGAIN instead of waiting. */
export function setNonBlocking(fd: number): void {
  const flags = sys().fcntl(fd, F_GETFL);
  if (flags < 0) throw systemError('fcntl');
  if (flags & O_NONBLOCK) return;
  if (sys().fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK) < 0) throw systemError('fcntl');
}

/** Takes an exclusive flock without waiting: false when another open file holds it. */
export function tryLockExclusive(fd: number): boolean {
  if (sys().flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const err = systemError('flock');
  if (err.errno === EWOULDBLOCK) return false;
  throw err;
}
