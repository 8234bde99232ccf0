/**
 * MAP_SHARED mappings for the one place positional I/O cannot serve: hugetlbfs refuses pwrite
 * (EINVAL, seen), so writes there are stores into a mapping, like a peer's. A mapping is an
 * address (a BigInt), never an ArrayBuffer: bytes cross by memcpy between it and Buffers V8 owns,
 * which Electron's memory cage allows (see libc.ts). Every copy is bounds-checked here, before
 * the call; a store past the end of a file that shrank raises SIGBUS, which is why only the agent
 * process maps anything.
 */
import { native } from './libc';
import { systemError } from './errno';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 2n ** 64n - 1n;

interface Calls {
  mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => bigint;
  munmap: (addr: bigint, length: number) => number;
  memcpy: (dest: bigint | Uint8Array, src: bigint | Uint8Array, n: number) => unknown;
}

let calls: Calls | undefined;

function libc(): Calls {
  if (!calls) {
    const { libc } = native();
    calls = {
      mmap: libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)') as Calls['mmap'],
      munmap: libc.func('int munmap(void *addr, size_t length)') as Calls['munmap'],
      // A Uint8Array argument passes a pointer to its own bytes (no copy by koffi).
      memcpy: libc.func('void *memcpy(void *dest, const void *src, size_t n)') as Calls['memcpy'],
    };
  }
  return calls;
}

/** [offset, offset + length) of a file, mapped shared; read and written only by copies. */
export class SharedMapping {
  private address: bigint | undefined;

  private constructor(
    address: bigint,
    readonly length: number,
  ) {
    this.address = address;
  }

  /**
   * Maps length bytes of fd at offset (a multiple of the page size; of the huge page size on
   * hugetlbfs). Throws NativeUnavailableError when the native library cannot load, and a Node-style
   * system error (code ENODEV, EACCES, EINVAL...) when mmap fails.
   */
  static map(fd: number, offset: number, length: number, writable: boolean): SharedMapping {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(`bad mapping range ${offset}+${length}`);
    }
    const address = libc().mmap(null, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, offset);
    if (address === MAP_FAILED) throw systemError('mmap');
    return new SharedMapping(address, length);
  }

  /** Copies data into the mapping at `at`. */
  copyIn(at: number, data: Uint8Array): void {
    if (data.length > 0) libc().memcpy(this.at(at, data.length), data, data.length);
  }

  /** Copies target.length bytes of the mapping at `at` into target. */
  copyOut(at: number, target: Uint8Array): void {
    if (target.length > 0) libc().memcpy(target, this.at(at, target.length), target.length);
  }

  /** Unmaps now (not at some garbage collection); later copies throw. Idempotent. */
  unmap(): void {
    if (this.address === undefined) return;
    const address = this.address;
    this.address = undefined;
    if (libc().munmap(address, this.length) !== 0) throw systemError('munmap');
  }

  get mapped(): boolean {
    return this.address !== undefined;
  }

  private at(offset: number, n: number): bigint {
    if (this.address === undefined) throw new Error('mapping used after unmap');
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + n > this.length) {
      throw new RangeError(`copy of ${n} bytes at ${offset} leaves a mapping of ${this.length}`);
    }
    return this.address + BigInt(offset);
  }
}
