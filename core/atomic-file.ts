import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError, describeSystemError } from './errors';

/**
 * Files we create (snapshots, exports) appear whole or not at all: written to a temporary file in
 * the same directory, fsynced, then moved into place. An existing file is replaced only when the
 * user said so (force); otherwise a hard link publishes the file, which fails atomically if the
 * name was taken in the meantime.
 */

/** A fresh temporary name next to `target`, hidden, unique to this process. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Checks, before any work, that `target` can be created (or replaced, with force). */
export function checkTarget(target: string, force: boolean): void {
  const dir = path.dirname(target);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch (err) {
    throw new InputError(`cannot write ${target}: the folder ${dir}: ${describeSystemError(err)}`);
  }
  if (!dirStat.isDirectory()) throw new InputError(`cannot write ${target}: ${dir} is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new InputError(`cannot write ${target}: the folder ${dir} is not writable`);
  }
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(target);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) throw new InputError(`cannot write ${target}: it is a folder`);
  if (st && !force) throw new InputError(`${target} already exists (use --force to replace it)`);
}

/** Opens the temporary file, exclusively. */
export function openTemp(tempPath: string): number {
  try {
    // 0600: a copy of shared memory may hold what the segment's owner kept private; the user can
    // widen it, we do not.
    return fs.openSync(tempPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (err) {
    throw new InputError(`cannot create ${tempPath}: ${describeSystemError(err)}`);
  }
}

/** Moves a complete, fsynced temporary file to its final name and makes the rename durable. */
export function publish(tempPath: string, target: string, force: boolean): void {
  if (force) {
    fs.renameSync(tempPath, target);
  } else {
    try {
      fs.linkSync(tempPath, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new InputError(`${target} already exists (use --force to replace it)`);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      // A file system without hard links: check, then rename (a small window, documented).
      if (fs.existsSync(target)) throw new InputError(`${target} already exists (use --force to replace it)`);
      fs.renameSync(tempPath, target);
      syncDir(path.dirname(target));
      return;
    }
    fs.unlinkSync(tempPath);
  }
  syncDir(path.dirname(target));
}

/** Removes a temporary file if it is there; never throws (used on error paths). */
export function discardTemp(tempPath: string): void {
  try {
    fs.unlinkSync(tempPath);
  } catch {
    // already gone
  }
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the data itself was synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
