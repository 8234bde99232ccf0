/**
 * Fixes for two bugs of usocket 1.1.0, applied once when this module loads (every use of usocket
 * in core/ goes through here). Both were found by `npm run soak`.
 *
 * 1. Lost fds. When sendmsg() returns EAGAIN before sending anything (the peer's receive buffer is full), the
 * native write returns 0 and usocket retries on drain with the bytes only: the fds of that write
 * are never sent. The peer then reads the message without its fd, which in the ivshmem protocol
 * means "that peer left". Our server hits this as soon as a slow client falls behind (found by
 * `npm run soak`'s 64-peer load). The fix keeps the fds for the retry when nothing was sent; once
 * any byte went out, the kernel has sent the fds with it.
 *
 * 2. A use-after-free on close. close() calls uv_close() on the poll handle embedded in the native
 * wrap and drops the JS reference at once; libuv finishes the close at the end of the loop
 * iteration, but a GC in between frees the wrap (and the handle in it) first, and node aborts with
 * "uv__finish_close: Assertion `handle->flags & UV_HANDLE_CLOSING' failed". The fix keeps every
 * closed wrap reachable until a later loop iteration.
 */
import { types } from 'node:util';
import { UServer, USocket } from 'usocket';

interface WriteRequest {
  data?: Buffer;
  fds?: number[];
  callback?: (chunk: unknown) => void;
}
interface Wrap {
  write(data: Buffer | undefined, fds: number[] | undefined): number | Error;
  drain: (() => void) | null;
}
type WriteCallback = (err?: Error | null) => void;

const proto = USocket.prototype as unknown as {
  _write(chunk: unknown, encoding: string, callback: WriteCallback): void;
  __shmemFixed?: boolean;
};

function normalise(chunk: unknown): WriteRequest | Error {
  if (Buffer.isBuffer(chunk)) return { data: chunk };
  if (Array.isArray(chunk)) return { fds: chunk as number[] };
  if (typeof chunk !== 'object' || chunk === null) return new Error('USocket write needs a data or array');
  const c = chunk as WriteRequest;
  if (c.data !== undefined && !Buffer.isBuffer(c.data)) return new Error('USocket data needs to be a buffer');
  if (c.fds !== undefined && !Array.isArray(c.fds)) return new Error('USocket fds needs to be an array');
  if (c.callback !== undefined && typeof c.callback !== 'function') return new Error('USocket write callback needs to be a function');
  if (c.data === undefined && c.fds === undefined) return new Error('USocket write needs a data or array');
  return c;
}

function fixedWrite(this: { _wrap: Wrap | null }, chunk: unknown, encoding: string, callback: WriteCallback): void {
  const wrap = this._wrap;
  if (!wrap) return callback(new Error('USocket not connected'));
  const req = normalise(chunk);
  if (req instanceof Error) return callback(req);
  const sent = wrap.write(req.data, req.fds) as number | Error;
  if (types.isNativeError(sent)) return callback(sent);
  if (!req.data || sent === req.data.length) {
    req.callback?.(chunk);
    return callback();
  }
  // Nothing sent: the fds did not go either, so they stay with the rest of the bytes.
  const rest: WriteRequest = { data: req.data.subarray(sent), callback: req.callback };
  if (sent === 0 && req.fds) rest.fds = req.fds;
  wrap.drain = () => proto._write.call(this, rest, encoding, callback);
}

/** Closed native wraps, kept until libuv has finished closing their poll handles. */
const closing = new Set<object>();

function keepUntilClosed(proto: object, method: string): void {
  const p = proto as Record<string, (...args: unknown[]) => unknown>;
  const original = p[method]!;
  p[method] = function (this: { _wrap?: object | null }, ...args: unknown[]): unknown {
    const wrap = this._wrap;
    try {
      return original.apply(this, args);
    } finally {
      if (wrap && this._wrap !== wrap) {
        closing.add(wrap);
        // A timer runs in a later loop iteration than the close, whose end finishes uv_close.
        setTimeout(() => closing.delete(wrap), 50).unref();
      }
    }
  };
}

// Once per process, even if two copies of this module share one usocket.
if (!proto.__shmemFixed) {
  proto.__shmemFixed = true;
  proto._write = fixedWrite;
  // Every path that closes a wrap: destroy(), end of stream (maybeClose → destroy), error events.
  keepUntilClosed(USocket.prototype, 'destroy');
  keepUntilClosed(USocket.prototype, '_wrapEvent');
  keepUntilClosed(UServer.prototype, 'close');
  keepUntilClosed(UServer.prototype, '_wrapEvent');
}

export { UServer, USocket };
