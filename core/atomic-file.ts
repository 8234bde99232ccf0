import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from './builtins';
import { InputError, describeSystemError } from './errors';
import type { FileIdentity } from './source';
import { linkFd } from './sys/link';
import { nativeAvailable } from './sys/libc';

/**
 * Files we create (snapshots, exports) appear whole or not at all: written to a temporary file in
 * the same directory, fsynced, then moved into place. An existing file is replaced only when the
 * user said so (force); otherwise a hard link publishes the file, which fails atomically if the
 * name was taken in the meantime.
 */

/** The longest file name Linux file systems take (NAME_MAX), in bytes. */
const NAME_MAX = 255;

/**
 * A fresh temporary name next to `target`, hidden, unique to this process. The target's name is
 * shortened in it when needed, so that any valid target name (up to 255 bytes) has a valid
 * temporary name: with the whole name in it, a 250-character target failed with ENAMETOOLONG.
 */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const suffix = `.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  let name = Buffer.from(path.basename(target), 'utf8');
  const room = NAME_MAX - 1 - suffix.length;
  if (name.length > room) {
    // Cut at a character boundary: never in the middle of a UTF-8 sequence.
    let cut = room;
    while (cut > 0 && (name[cut]! & 0xc0) === 0x80) cut--;
    name = name.subarray(0, cut);
  }
  return path.join(dir, `.${name.toString('utf8')}${suffix}`);
}

const KINDS: [(st: fs.Stats) => boolean, string][] = [
  [(st) => st.isCharacterDevice(), 'a character device'],
  [(st) => st.isBlockDevice(), 'a block device'],
  [(st) => st.isFIFO(), 'a FIFO'],
  [(st) => st.isSocket(), 'a socket'],
  [(st) => st.isDirectory(), 'a folder'],
];

function sameFile(st: fs.Stats, id: FileIdentity): boolean {
  return st.dev === id.dev && st.ino === id.ino;
}

/**
 * Checks, before any work and again just before publishing, that `target` can be created (or
 * replaced, with force). Whatever force says, only a regular file is ever replaced (never a
 * device, a FIFO, a socket: `-o /dev/null --force` as root would replace the system's /dev/null),
 * and never the file the bytes come from (`source`, compared by device and inode, so that
 * `/dev/shm/x` and `/dev/shm/../shm/x` are the same file).
 */
export function checkTarget(target: string, force: boolean, source?: FileIdentity): void {
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
  let link: fs.Stats | undefined;
  try {
    link = fs.lstatSync(target);
  } catch {
    return; // absent: it will be created
  }
  // A symbolic link is replaced itself (rename), but what it points at decides what it is.
  let st: fs.Stats | undefined = link;
  if (link.isSymbolicLink()) {
    try {
      st = fs.statSync(target);
    } catch {
      st = undefined;
    }
  }
  if (!st) throw new InputError(`cannot write ${target}: it is a symbolic link that points nowhere; only a new name or a regular file can be written`);
  const kind = KINDS.find(([is]) => is(st))?.[1];
  if (kind === 'a folder') throw new InputError(`cannot write ${target}: it is a folder`);
  if (kind || !st.isFile()) throw new InputError(`cannot write ${target}: it is ${kind ?? 'not a regular file'}; only a new name or a regular file is ever replaced, even with --force`);
  if (source && (sameFile(st, source) || sameFile(link, source))) {
    throw new InputError(`cannot write ${target}: it is the source itself (the same file, under this name); a copy never replaces what it copies`);
  }
  if (!force) throw new InputError(`${target} already exists (use --force to replace it)`);
}

/** Opens the temporary file, exclusively. */
export function openTemp(tempPath: string): number {
  try {
    // 0600: a copy of shared memory may hold what the segment's owner kept private; the user can
    // widen it, we do not.
    return fs.openSync(tempPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  } catch (err) {
    throw new InputError(`cannot create ${tempPath}: ${describeSystemError(err)}`);
  }
}

/**
 * Moves a complete, fsynced temporary file to its final name and makes the rename durable. With
 * force the target is checked again first: it may have become something else while the data was
 * written (what remains is the moment between this check and the rename).
 */
export function publish(tempPath: string, target: string, force: boolean, source?: FileIdentity): void {
  if (force) {
    checkTarget(target, force, source);
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

/**
 * A temporary file for a new file at `target`: without a name where the file system can make one
 * (O_TMPFILE: ext4, xfs, btrfs, tmpfs), so that nothing is left behind whatever kills the process
 * (SIGKILL, a crash, a power cut) before it is published; else with the name `named` (or a fresh one).
 */
export interface TempFile {
  fd: number;
  /** Its name, when it has one. */
  path: string | undefined;
}

/** O_TMPFILE (Linux: __O_TMPFILE | O_DIRECTORY on x86-64 and arm64; Node does not export it). */
const O_TMPFILE = 0o20200000;

export function createTemp(target: string, named?: string): TempFile {
  if (nativeAvailable()) {
    try {
      return { fd: fs.openSync(path.dirname(target), O_TMPFILE | fs.constants.O_RDWR, 0o600), path: undefined };
    } catch {
      // a file system without unnamed files: a named one below
    }
  }
  const p = named ?? tempPathFor(target);
  return { fd: openTemp(p), path: p };
}

/** publish() for a TempFile; an unnamed one is given its name by linkat (fsync it first). */
export function publishTemp(temp: TempFile, target: string, force: boolean, source?: FileIdentity): void {
  if (temp.path !== undefined) return publish(temp.path, target, force, source);
  if (force) {
    // A name of its own first (a link cannot replace), then the rename over the target.
    const named = tempPathFor(target);
    linkFd(temp.fd, named);
    try {
      publish(named, target, true, source);
    } catch (err) {
      discardTemp(named);
      throw err;
    }
    return;
  }
  try {
    linkFd(temp.fd, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InputError(`${target} already exists (use --force to replace it)`);
    throw err;
  }
  syncDir(path.dirname(target));
}

/** Removes a temporary file if it has a name (an unnamed one goes with its descriptor); never throws. */
export function discardTempFile(temp: TempFile): void {
  if (temp.path !== undefined) discardTemp(temp.path);
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
