import * as fs from 'node:fs';
import * as path from 'node:path';
import { closeFd } from '../../core/sys/fd';
import { bindUnix, listenOn, unixSocket } from '../../core/sys/socket';
import { SharedFd, UnixConnection, UnixListener } from '../../core/sys/unix-socket';

/** One 8-byte little-endian message. */
export function m(value: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return b;
}

/** A connection the script plays against: what it sends goes out in order. */
export interface ScriptSocket {
  readonly connection: UnixConnection;
  /** Ends the connection once everything queued is sent. */
  end(): void;
}

/**
 * A UNIX socket server that plays a script against each client: the tests' stand-in for a
 * broken or malicious ivshmem server (the client under test is the real one). Built on the same
 * socket layer as our server (core/sys/unix-socket.ts).
 */
export async function hostileServer(dir: string, script: (socket: ScriptSocket) => void | Promise<void>): Promise<{ path: string; close: () => void }> {
  const socketPath = path.join(dir, `hostile-${Math.random().toString(36).slice(2)}.sock`);
  const fd = unixSocket();
  bindUnix(fd, socketPath);
  listenOn(fd, 16);
  const connections: UnixConnection[] = [];
  const listener = new UnixListener(
    fd,
    (peer) => {
      const connection = new UnixConnection(peer, { data: (r) => r.fds.forEach(closeFd), end: () => undefined });
      connections.push(connection);
      const socket: ScriptSocket = {
        connection,
        end: () => {
          if (connection.queued === 0) connection.close();
          else connection.send(new Uint8Array(0), [], () => connection.close());
        },
      };
      void script(socket);
    },
    () => undefined,
  );
  return {
    path: socketPath,
    close: () => {
      connections.forEach((c) => c.close());
      listener.close();
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/**
 * Sends one message with fds attached; resolves once it is sent. The fds are closed once sent
 * unless keep is set (then the caller closes them).
 */
export function send(socket: ScriptSocket, data: Buffer, fds?: number[], keep = false): Promise<void> {
  const shared = (fds ?? []).map((f) => new SharedFd(f));
  return new Promise((resolve) => {
    socket.connection.send(data, shared, resolve);
    // Our own hold: let go now (the connection holds them until sent), or never when kept.
    if (!keep) shared.forEach((f) => f.release());
  });
}
