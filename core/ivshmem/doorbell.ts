import * as fs from 'node:fs';
import { systemError } from '../sys/errno';
import { POLLOUT, readyNow } from '../sys/poll-loop';

/**
 * Doorbells are eventfds (QEMU's ivshmem-server and ours make them with eventfd(2)). Ringing adds 1
 * to the counter; receiving reads the counter, which also resets it: one read may count several
 * rings. A server could send any fd as a doorbell; only eventfds are ever read (a regular file
 * would always look readable), and a write is made only when it cannot block.
 */

const ONE = new Uint8Array(new BigUint64Array([1n]).buffer);
const EAGAIN = 11;

/** Whether a received fd is an eventfd (/proc/self/fdinfo has an eventfd-count line). */
export function isEventfd(fd: number): boolean {
  try {
    return /^eventfd-count:/m.test(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Rings: adds 1 to the doorbell's counter. Checked first with a poll that does not wait, so a
 * blocking fd that cannot take the write (a full counter, a full pipe) fails with EAGAIN instead
 * of stalling the event loop.
 */
export function ring(fd: number): void {
  if ((readyNow(fd, POLLOUT) & POLLOUT) === 0) throw systemError('write', EAGAIN);
  fs.writeSync(fd, ONE, 0, 8);
}

const scratch = Buffer.alloc(8);

/** Takes the counter of a non-blocking eventfd: the rings since the last take (0 if none). */
export function takeCount(fd: number): number {
  try {
    return fs.readSync(fd, scratch, 0, 8, null) === 8 ? Number(scratch.readBigUInt64LE(0)) : 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
    throw err;
  }
}
