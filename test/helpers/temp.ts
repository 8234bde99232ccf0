import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh folder under /dev/shm (tmpfs, like real backing files), removed by the returned cleanup. */
export function tempDir(prefix = 'shmem-inspect-test-'): { dir: string; cleanup: () => void } {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Writes bytes at an offset with write(2), as another process sharing the file would. */
export function pwrite(file: string, offset: number, bytes: Uint8Array | number[]): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing case can be replayed. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A deterministic random number generator for property tests. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** The repository's root, from out/test/helpers. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Number of open file descriptors of this process. */
export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** What each open fd of a process points at (paths, "socket:[…]", "pipe:[…]"). */
export function fdTargets(pid: number | 'self' = 'self'): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ''; // closed meanwhile
    }
  });
}

/** How many of this process's mappings are of files whose path contains `part`. */
export function mappingsOf(part: string): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes(part)).length;
}

/** The processes whose parent is `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/status`, 'utf8').includes(`\nPPid:\t${pid}\n`);
    } catch {
      return false;
    }
  });
}

/**
 * Whether `pid` (or a child of it: an agent) has a new file open in `dir` other than `except`: a
 * snapshot under way. Its file may have no name (O_TMPFILE: "/dir/#123 (deleted)") or a hidden one.
 */
export function writingIn(pid: number, dir: string, except: string[]): boolean {
  return [pid, ...childrenOf(pid)].some((p) => {
    try {
      return fdTargets(p).some((t) => t.startsWith(`${dir}/`) && !except.includes(t));
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** Polls until check() returns a value, or fails after timeoutMs. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
