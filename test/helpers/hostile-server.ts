import * as fs from 'node:fs';
import * as path from 'node:path';
import { UServer, type USocket } from 'usocket';

/** One 8-byte little-endian message. */
export function m(value: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return b;
}

/**
 * A UNIX socket server that plays a script against each client: the tests' stand-in for a
 * broken or malicious ivshmem server (the client under test is the real one).
 */
export async function hostileServer(dir: string, script: (socket: USocket) => void | Promise<void>): Promise<{ path: string; close: () => void }> {
  const socketPath = path.join(dir, `hostile-${Math.random().toString(36).slice(2)}.sock`);
  const server = new UServer();
  const sockets: USocket[] = [];
  server.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    void script(socket);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    path: socketPath,
    close: () => {
      sockets.forEach((s) => s.destroy());
      server.close();
      fs.rmSync(socketPath, { force: true });
    },
  };
}

/** Sends one message; the fds sent are closed here once sent, unless keep is set. */
export function send(socket: USocket, data: Buffer, fds?: number[], keep = false): Promise<void> {
  return new Promise((resolve) =>
    socket.write({
      data,
      ...(fds ? { fds } : {}),
      callback: () => {
        if (!keep) for (const fd of fds ?? []) fs.closeSync(fd);
        resolve();
      },
    }),
  );
}
