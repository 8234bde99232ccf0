/**
 * UNIX stream sockets with file descriptors passed beside the bytes (SCM_RIGHTS), called through
 * koffi (core/sys/libc.ts). Every call here is non-blocking and runs on the calling (main) thread:
 * waiting is the poll loop's job (core/sys/poll-loop.ts), so nothing here can stall the event loop.
 *
 * Every socket and every received fd is close-on-exec (SOCK_CLOEXEC, accept4, MSG_CMSG_CLOEXEC):
 * a program we start never inherits a peer's doorbell or the guests' memory.
 *
 * Bytes cross by copy: the kernel reads from and writes into Buffers V8 owns, passed for the
 * duration of one synchronous call (koffi's transient pointers); no ArrayBuffer over native memory.
 * Layouts (LP64 Linux: x86-64 and arm64 alike): msghdr {void *name; u32 namelen; iovec *iov;
 * size_t iovlen; void *control; size_t controllen; int flags}, cmsghdr {size_t len; int level;
 * int type} followed by the fds, each cmsg aligned to 8 bytes.
 */
import { InputError } from '../errors';
import { systemError } from './errno';
import { native } from './libc';

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_CTRUNC = 0x8;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const MSG_CMSG_CLOEXEC = 0x40000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const SHUT_RDWR = 2;
const CMSG_HEADER = 16;
/** The kernel's own cap on fds in one SCM_RIGHTS message (SCM_MAX_FD). */
const SCM_MAX_FD = 253;
/** sun_path is 108 bytes, NUL included. */
export const MAX_SOCKET_PATH_BYTES = 107;

const EAGAIN = 11;
const EINTR = 4;
const EINPROGRESS = 115;

/** Room for the largest SCM_RIGHTS message the kernel delivers: anything it sends fits, so nothing is dropped unseen. */
const CONTROL_BYTES = CMSG_HEADER + ((SCM_MAX_FD * 4 + 7) & ~7);

interface Calls {
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: null, len: null, flags: number): number;
  shutdown(fd: number, how: number): number;
  sendmsg(fd: number, msg: object, flags: number): number | bigint;
  recvmsg(fd: number, msg: MsgHdr, flags: number): number | bigint;
}

interface MsgHdr {
  msg_name: null;
  msg_namelen: number;
  msg_iov: { iov_base: Buffer; iov_len: number }[] | unknown;
  msg_iovlen: number;
  msg_control: Buffer | null;
  msg_controllen: number | bigint;
  msg_flags: number;
}

let calls: Calls | undefined;

function sys(): Calls {
  if (calls) return calls;
  const { koffi, libc } = native();
  koffi.struct('shmem_iovec', { iov_base: 'void *', iov_len: 'size_t' });
  koffi.struct('shmem_msghdr', {
    msg_name: 'void *',
    msg_namelen: 'uint32_t',
    msg_iov: 'shmem_iovec *',
    msg_iovlen: 'size_t',
    msg_control: 'void *',
    msg_controllen: 'size_t',
    msg_flags: 'int',
  });
  calls = {
    socket: libc.func('int socket(int domain, int type, int protocol)'),
    connect: libc.func('int connect(int fd, const void *addr, uint32_t len)'),
    bind: libc.func('int bind(int fd, const void *addr, uint32_t len)'),
    listen: libc.func('int listen(int fd, int backlog)'),
    accept4: libc.func('int accept4(int fd, void *addr, void *len, int flags)'),
    shutdown: libc.func('int shutdown(int fd, int how)'),
    sendmsg: libc.func('long sendmsg(int fd, const shmem_msghdr *msg, int flags)'),
    // _Inout_: koffi copies the struct back, so msg_controllen and msg_flags (MSG_CTRUNC) are what the kernel set.
    recvmsg: libc.func('long recvmsg(int fd, _Inout_ shmem_msghdr *msg, int flags)'),
  } as Calls;
  return calls;
}

function check(result: number | bigint, syscall: string): number {
  const n = Number(result);
  if (n < 0) throw systemError(syscall);
  return n;
}

/** A sockaddr_un for a path; a path that does not fit is an input error. */
function address(path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length > MAX_SOCKET_PATH_BYTES) throw new InputError(`the socket path ${path} is ${bytes.length} bytes long; a UNIX socket path holds at most ${MAX_SOCKET_PATH_BYTES}`);
  if (bytes.includes(0)) throw new InputError('a socket path cannot contain a NUL character');
  const addr = Buffer.alloc(2 + bytes.length + 1);
  addr.writeUInt16LE(AF_UNIX, 0);
  bytes.copy(addr, 2);
  return addr;
}

/** A new non-blocking, close-on-exec UNIX stream socket. */
export function unixSocket(): number {
  return check(sys().socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 'socket');
}

/**
 * Connects without waiting: 'connected', or 'busy' when the server's backlog is full (a UNIX
 * socket answers EAGAIN then; try again later). Other failures throw (ECONNREFUSED, ENOENT, ...).
 */
export function connectUnix(fd: number, path: string): 'connected' | 'busy' {
  const addr = address(path);
  for (;;) {
    if (sys().connect(fd, addr, addr.length) === 0) return 'connected';
    const err = systemError('connect');
    if (err.errno === EINTR) continue;
    if (err.errno === EAGAIN || err.errno === EINPROGRESS) return 'busy';
    throw err;
  }
}

export function bindUnix(fd: number, path: string): void {
  const addr = address(path);
  check(sys().bind(fd, addr, addr.length), 'bind');
}

export function listenOn(fd: number, backlog: number): void {
  check(sys().listen(fd, backlog), 'listen');
}

/** The next pending connection (non-blocking and close-on-exec), or undefined when there is none. */
export function acceptConnection(fd: number): number | undefined {
  for (;;) {
    const n = sys().accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (n >= 0) return n;
    const err = systemError('accept4');
    if (err.errno === EINTR) continue;
    if (err.errno === EAGAIN) return undefined;
    throw err;
  }
}

/** Ends both directions now (the other side reads end-of-file), whatever else holds the fd. */
export function shutdownSocket(fd: number): void {
  sys().shutdown(fd, SHUT_RDWR);
}

/**
 * Sends bytes, with fds attached to their first byte. Returns the bytes sent (the fds went with
 * them if it is more than 0), or undefined when the socket buffer is full. A peer that is gone
 * throws (EPIPE, ECONNRESET); never SIGPIPE.
 */
export function sendWithFds(fd: number, data: Uint8Array, fds: readonly number[]): number | undefined {
  let control: Buffer | null = null;
  if (fds.length > 0) {
    if (fds.length > SCM_MAX_FD) throw new RangeError(`at most ${SCM_MAX_FD} fds go in one message`);
    control = Buffer.alloc(CMSG_HEADER + ((fds.length * 4 + 7) & ~7));
    control.writeBigUInt64LE(BigInt(CMSG_HEADER + fds.length * 4), 0);
    control.writeInt32LE(SOL_SOCKET, 8);
    control.writeInt32LE(SCM_RIGHTS, 12);
    fds.forEach((f, i) => control!.writeInt32LE(f, CMSG_HEADER + i * 4));
  }
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const msg = { msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: bytes, iov_len: bytes.length }], msg_iovlen: 1, msg_control: control, msg_controllen: control?.length ?? 0, msg_flags: 0 };
  for (;;) {
    const n = Number(sys().sendmsg(fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL));
    if (n >= 0) return n;
    const err = systemError('sendmsg');
    if (err.errno === EINTR) continue;
    if (err.errno === EAGAIN) return undefined;
    throw err;
  }
}

export interface Received {
  /** The bytes read; empty at end of stream. */
  data: Buffer;
  /** Every fd the kernel installed for us, all close-on-exec: the caller owns (and closes) them. */
  fds: number[];
  /** The kernel had more control data than fitted (MSG_CTRUNC): fds beyond ours were discarded. */
  truncated: boolean;
}

/** One read without waiting; undefined when nothing is there. Failures (ECONNRESET) throw. */
export function receiveWithFds(fd: number, maxBytes: number): Received | undefined {
  const data = Buffer.alloc(maxBytes);
  const control = Buffer.alloc(CONTROL_BYTES);
  for (;;) {
    const msg: MsgHdr = { msg_name: null, msg_namelen: 0, msg_iov: [{ iov_base: data, iov_len: maxBytes }], msg_iovlen: 1, msg_control: control, msg_controllen: CONTROL_BYTES, msg_flags: 0 };
    const n = Number(sys().recvmsg(fd, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC));
    if (n < 0) {
      const err = systemError('recvmsg');
      if (err.errno === EINTR) continue;
      if (err.errno === EAGAIN) return undefined;
      throw err;
    }
    return { data: data.subarray(0, n), fds: parseRights(control, Number(msg.msg_controllen)), truncated: (msg.msg_flags & MSG_CTRUNC) !== 0 };
  }
}

/** Every fd in every SCM_RIGHTS message of a control buffer (CMSG_FIRSTHDR / CMSG_NXTHDR). */
function parseRights(control: Buffer, length: number): number[] {
  const fds: number[] = [];
  let p = 0;
  while (p + CMSG_HEADER <= length) {
    const len = Number(control.readBigUInt64LE(p));
    if (len < CMSG_HEADER || p + len > length) break;
    if (control.readInt32LE(p + 8) === SOL_SOCKET && control.readInt32LE(p + 12) === SCM_RIGHTS) {
      for (let q = p + CMSG_HEADER; q + 4 <= p + len; q += 4) fds.push(control.readInt32LE(q));
    }
    p += (len + 7) & ~7;
  }
  return fds;
}
