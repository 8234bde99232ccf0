import * as fs from 'node:fs';

/**
 * Doorbell file descriptors. An ivshmem server hands out eventfds (QEMU's server) or, from our own
 * server, FIFOs opened read-write (Node cannot create eventfds; QEMU treats any fd it can read and
 * write 8 bytes on the same way). Ringing writes the 8-byte integer 1; receiving reads what is
 * there: an eventfd returns its counter, a FIFO returns one 8-byte 1 per ring.
 */

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);

export type DoorbellKind = 'eventfd' | 'fifo' | 'other';

export interface DoorbellFd {
  fd: number;
  kind: DoorbellKind;
  /** A blocking fd is never read: a read with nothing there would stall the whole process. */
  nonBlocking: boolean;
}

/** Looks at a received fd through /proc/self/fdinfo (flags, eventfd-count) and fstat. */
export function inspectDoorbell(fd: number): DoorbellFd {
  let info = '';
  try {
    info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  } catch {
    // no /proc: treat as unknown and blocking, so we never read it
  }
  const flags = /^flags:\s*([0-7]+)/m.exec(info);
  const nonBlocking = flags ? (parseInt(flags[1]!, 8) & 0o4000) !== 0 : false;
  let kind: DoorbellKind = 'other';
  if (/^eventfd-count:/m.test(info)) kind = 'eventfd';
  else {
    try {
      if (fs.fstatSync(fd).isFIFO()) kind = 'fifo';
    } catch {
      // a closed fd: 'other'
    }
  }
  return { fd, kind, nonBlocking };
}

/** Rings: adds 1 to the eventfd (or queues one 8-byte 1 in the FIFO). */
export function ring(fd: number): void {
  fs.writeSync(fd, ONE, 0, 8);
}

const scratch = Buffer.alloc(4096);

/**
 * Takes what has arrived on a doorbell without blocking; returns the number of interrupts.
 * Returns 0 for fds it must not read (blocking ones, or kinds it does not know).
 */
export function drain(bell: DoorbellFd): number {
  if (!bell.nonBlocking || bell.kind === 'other') return 0;
  let count = 0;
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(bell.fd, scratch, 0, bell.kind === 'eventfd' ? 8 : scratch.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return count;
      throw err;
    }
    if (n === 0) return count;
    if (bell.kind === 'eventfd') {
      count += Number(scratch.readBigUInt64LE(0));
      return count;
    }
    // A FIFO: each ring is one 8-byte little-endian value (normally 1).
    for (let p = 0; p + 8 <= n; p += 8) count += Number(scratch.readBigUInt64LE(p));
    if (n < scratch.length) return count;
  }
}
