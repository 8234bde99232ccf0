/**
 * The one door to system calls Node lacks (sendmsg/recvmsg with SCM_RIGHTS, eventfd, mmap where
 * pwrite is refused, lseek SEEK_DATA/SEEK_HOLE, memfd_create): libc called through koffi, a
 * Node-API FFI library with prebuilt binaries. Node-API is ABI-stable, so one build runs in Node 20,
 * 22, 24 and Electron with no compiler at install (see docs/architecture.md, "Native code").
 *
 * Loaded lazily, on the first call that needs it: a command on a plain file never loads it. When it
 * cannot load (another OS or CPU, a runtime without Node-API 8), callers get a NativeUnavailableError
 * with one line that names the platform, the runtime and what still works: never a stack trace.
 *
 * Rule (enforced by lint, see eslint.config.mjs): nothing here may hand out an ArrayBuffer over
 * native memory (koffi.view, external buffers). Electron's V8 memory cage refuses them; bytes always
 * cross by copy into Buffers V8 owns.
 */
import { createRequire } from 'node:module';
import { InputError } from '../errors';

type Koffi = typeof import('koffi', { with: { 'resolution-mode': 'require' } });
export type LibraryHandle = ReturnType<Koffi['load']>;

/** The native library cannot be used here; the message says what still works. */
export class NativeUnavailableError extends InputError {}

/** What works without the native library: said in every NativeUnavailableError. */
export const WORKS_WITHOUT_NATIVE = 'backing files and snapshots still work (read and written with positional I/O); ivshmem servers, doorbells and writes to hugetlbfs need it';

let loaded: { koffi: Koffi; libc: LibraryHandle } | undefined;
let failure: string | undefined;

function runtime(): string {
  const electron = process.versions['electron'];
  return electron ? `Electron ${electron} (Node ${process.versions.node})` : `Node ${process.versions.node}`;
}

/** koffi and libc, loaded once; throws NativeUnavailableError (always the same line) when they cannot be. */
export function native(): { koffi: Koffi; libc: LibraryHandle } {
  if (loaded) return loaded;
  if (failure === undefined) {
    if (process.platform !== 'linux') {
      failure = `${process.platform} is not supported: shared memory between QEMU guests and host processes is a Linux matter`;
    } else {
      try {
        // createRequire keeps koffi out of the bundle: it finds its prebuilt binary next to itself.
        const koffi = createRequire(__filename)('koffi') as Koffi;
        loaded = { koffi, libc: koffi.load('libc.so.6') };
        return loaded;
      } catch (err) {
        const text = String((err as Error)?.message ?? err).split('\n')[0];
        failure = `the native library (koffi) cannot load on linux-${process.arch} under ${runtime()}: ${text}`;
      }
    }
  }
  throw new NativeUnavailableError(`${failure}; ${WORKS_WITHOUT_NATIVE}`);
}

/** Whether the native library is usable here, without throwing. */
export function nativeAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

/** The errno of the last failed call, as Node's error codes name it (EAGAIN, EINVAL, ...). */
export function lastErrno(): number {
  return native().koffi.errno();
}
