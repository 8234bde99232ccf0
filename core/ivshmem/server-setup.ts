/**
 * What `serve` takes before it serves: the socket path (exactly one server per path) and the
 * shared memory (never a file another user could read or write).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, describeSystemError } from '../errors';
import { formatBytes } from '../numbers';
import { closeFd, createMemfd, tryLockExclusive } from '../sys/fd';
import { bindUnix, connectUnix, listenOn, unixSocket } from '../sys/socket';

export type ServerMemory = { kind: 'shm'; name: string } | { kind: 'memfd' };

export interface ClaimedPath {
  /** The listening socket (non-blocking, close-on-exec). */
  listenFd: number;
  /** Removes the socket file if it is still ours, then the lock file, and lets the lock go. */
  release(): void;
}

/** What a probe connection finds at a socket path. */
function probe(socketPath: string): 'live' | 'stale' | string {
  const fd = unixSocket();
  try {
    connectUnix(fd, socketPath);
    return 'live';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? 'stale' : describeSystemError(err);
  } finally {
    closeFd(fd);
  }
}

/**
 * An exclusive flock on `SOCKET.lock`, held for the server's life: two `serve` started at the same
 * moment on one path cannot both look at it, both find it free (or stale) and both bind, the
 * second unlinking the first's socket. The file is removed on stop; a lock taken on a file that a
 * stopping server removed meanwhile is worth nothing, so the inode is checked after locking.
 */
function takeLock(lockPath: string, socketPath: string): { fd: number; release(): void } {
  for (let attempt = 0; attempt < 10; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw new InputError(`cannot create the lock file ${lockPath}: ${describeSystemError(err)}`);
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      closeFd(fd);
      throw new InputError(`${lockPath} is not a regular file; it cannot be the lock file of ${socketPath}`);
    }
    if (!tryLockExclusive(fd)) {
      closeFd(fd);
      throw new InputError(`${socketPath} is already served by another shmem-inspect serve (it holds ${lockPath})`);
    }
    let now: fs.Stats | undefined;
    try {
      now = fs.lstatSync(lockPath);
    } catch {
      now = undefined;
    }
    if (now && now.ino === st.ino && now.dev === st.dev) {
      return {
        fd,
        release: () => {
          try {
            if (fs.lstatSync(lockPath).ino === st.ino) fs.unlinkSync(lockPath);
          } catch {
            // already gone
          }
          closeFd(fd);
        },
      };
    }
    closeFd(fd);
  }
  throw new InputError(`cannot take the lock file ${lockPath}: it keeps being replaced`);
}

/**
 * Takes the socket path: under the lock, refuses a path held by a live server or by a non-socket,
 * removes a stale socket, binds (mode 0600: only this user may join) and listens.
 */
export function claimSocketPath(socketPath: string): ClaimedPath {
  const dir = path.dirname(socketPath);
  if (!fs.existsSync(dir)) throw new InputError(`cannot create ${socketPath}: the folder ${dir} does not exist`);
  const lock = takeLock(`${socketPath}.lock`, socketPath);
  try {
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(socketPath);
    } catch {
      st = undefined;
    }
    if (st) {
      if (!st.isSocket()) throw new InputError(`${socketPath} exists and is not a socket; refusing to replace it`);
      const found = probe(socketPath);
      if (found === 'live') throw new InputError(`${socketPath} is in use by a running server`);
      if (found !== 'stale') throw new InputError(`cannot tell whether ${socketPath} is in use (${found}); refusing to replace it`);
      fs.unlinkSync(socketPath);
    }
    const fd = unixSocket();
    let ino: number;
    try {
      // bind() creates the file under the umask: narrowed for this one synchronous call.
      const previous = process.umask(0o177);
      try {
        bindUnix(fd, socketPath);
      } finally {
        process.umask(previous);
      }
      fs.chmodSync(socketPath, 0o600);
      ino = fs.statSync(socketPath).ino;
      listenOn(fd, 64);
    } catch (err) {
      closeFd(fd);
      if (err instanceof InputError) throw err;
      throw new InputError(`cannot listen on ${socketPath}: ${describeSystemError(err)}`);
    }
    return {
      listenFd: fd,
      release: () => {
        try {
          if (fs.statSync(socketPath).ino === ino) fs.unlinkSync(socketPath);
        } catch {
          // already gone
        }
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * The shared memory: `/dev/shm/NAME` (created 0600, or an existing file of the right size that is
 * ours and writable by nobody else, never through a symbolic link), or an anonymous memfd.
 */
export function createMemory(memory: ServerMemory, size: number): { fd: number; description: string } {
  if (memory.kind === 'memfd') {
    const fd = createMemfd('shmem-inspect');
    try {
      fs.ftruncateSync(fd, size);
    } catch (err) {
      closeFd(fd);
      throw new InputError(`cannot create ${formatBytes(size)} of shared memory: ${describeSystemError(err)}`);
    }
    return { fd, description: 'an anonymous memfd' };
  }
  const name = memory.name;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(name) || name === '.' || name === '..') {
    throw new InputError(`--shm NAME must be a plain file name (letters, digits, . _ -), got "${name}"`);
  }
  const file = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', name);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new InputError(`${file} is a symbolic link; refusing to follow it (whoever made it chooses what the guests share)`);
    throw new InputError(`cannot open ${file}: ${describeSystemError(err)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new InputError(`${file} is not a regular file`);
    const me = process.geteuid?.() ?? st.uid;
    if (st.uid !== me) throw new InputError(`${file} belongs to another user (uid ${st.uid}); refusing it: its owner could read and write the guests' memory`);
    if (st.mode & 0o022) throw new InputError(`${file} is writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing it: they could change the guests' memory`);
    if (st.size !== 0 && st.size !== size) throw new InputError(`${file} already exists with ${st.size} bytes (${formatBytes(st.size)}); use --size ${st.size} or remove it`);
    if (st.size === 0) fs.ftruncateSync(fd, size);
  } catch (err) {
    closeFd(fd);
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot use ${file}: ${describeSystemError(err)}`);
  }
  return { fd, description: file };
}
