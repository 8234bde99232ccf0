import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess, runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`serve cleans its socket up on ${signal}; peers and dump work against it meanwhile`, async (t) => {
    const { dir, cleanup } = tempDir();
    const name = `shmem-inspect-serve-${process.pid}-${signal}`;
    t.after(() => {
      cleanup();
      fs.rmSync(`/dev/shm/${name}`, { force: true });
    });
    const socketPath = path.join(dir, 'ivshmem.sock');
    const server = new CliProcess(['serve', '--socket', socketPath, '--size', '64K', '--vectors', '2', '--shm', name]);
    t.after(() => server.child.kill('SIGKILL'));
    await server.waitFor(/serving .*64 KiB of \/dev\/shm\/shmem-inspect-serve/, 'stderr');
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
    // The memory is the named file: bytes written there are what a peer reads.
    const fd = fs.openSync(`/dev/shm/${name}`, 'r+');
    fs.writeSync(fd, Buffer.from('hello'), 0, 5, 16);
    fs.closeSync(fd);
    const dump = await runCli(['dump', `unix:${socketPath}`, '--offset', '16', '--length', '5']);
    assert.equal(dump.stdout, '00000010: 6865 6c6c 6f                             hello\n');
    const peers = JSON.parse((await runCli(['peers', socketPath, '--json'])).stdout);
    assert.equal(peers.vectors, 2);
    assert.equal(peers.size, 65536);
    await server.waitFor(/peer 1 left/);
    server.child.kill(signal);
    const { code } = await server.exited;
    assert.equal(code, 130, 'stopped by a signal: 130, as every command');
    assert.equal(fs.existsSync(socketPath), false);
    // The named memory stays for inspection after the server is gone.
    assert.equal(fs.statSync(`/dev/shm/${name}`).size, 65536);
  });
}
