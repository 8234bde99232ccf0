/** Gives an unnamed file (O_TMPFILE) a name: what publishing a snapshot written that way needs. */
import { native } from './libc';
import { systemError } from './errno';

const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;

let linkat: ((olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number) | undefined;

/**
 * Links the file open as `fd` at `newPath` (through /proc/self/fd, which needs no privilege, unlike
 * AT_EMPTY_PATH). Fails like link(2): EEXIST when the name is taken. Throws NativeUnavailableError
 * without the native library.
 */
export function linkFd(fd: number, newPath: string): void {
  linkat ??= native().libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)') as typeof linkat & object;
  if (linkat(AT_FDCWD, `/proc/self/fd/${fd}`, AT_FDCWD, newPath, AT_SYMLINK_FOLLOW) !== 0) throw systemError('linkat');
}
