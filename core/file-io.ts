import * as fs from 'node:fs';

/** pread until target is full or the file ends; returns the bytes read. */
export function preadFully(fd: number, target: Uint8Array, position: number): number {
  let done = 0;
  while (done < target.length) {
    const n = fs.readSync(fd, target, done, target.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** pwrite all of data at position. */
export function pwriteFully(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** Lets a long synchronous loop yield so that messages (cancel!) and timers get through. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
