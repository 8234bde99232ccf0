import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { USocket } from '../../core/ivshmem/usocket-fixes';
import { hostileServer, m } from '../helpers/hostile-server';
import { eventually, openFds, tempDir } from '../helpers/temp';

// usocket 1.1.0 drops the fds of a write that meets a full receive buffer; the ivshmem protocol
// then reads "peer left" where the server said "peer vector". This sends faster than the client
// reads, so that many writes meet a full buffer, and checks every message still has its fd.
test('a write that meets a full socket buffer still carries its fd (usocket fix)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'x');
  const count = 3000;
  const fd = fs.openSync(file, 'r');
  t.after(() => fs.closeSync(fd));
  const before = openFds();
  let written = 0;
  const server = await hostileServer(dir, (s) => {
    for (let i = 0; i < count; i++) s.write({ data: m(i), fds: [fd], callback: () => written++ });
  });
  const client = new USocket();
  let bytes = 0;
  const received: number[] = [];
  await new Promise<void>((resolve) => client.connect(server.path, resolve));
  // Let the server run into the full buffer before reading anything.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(written < count, `the buffer never filled (${written} of ${count} written at once): the test proves nothing`);
  client.on('fds', (fds: number[]) => received.push(...fds));
  client.on('data', (chunk: Buffer) => (bytes += chunk.length));
  await eventually(() => bytes === count * 8, 10_000, 'all messages');
  await eventually(() => written === count, 5000, 'all writes completed');
  for (const f of received) fs.closeSync(f);
  client.destroy();
  server.close();
  assert.equal(received.length, count, `${count - received.length} of ${count} fds were lost`);
  await eventually(() => openFds() <= before, 2000, 'the received fds and both sockets closed');
});

// usocket frees a closed socket's poll handle if a GC comes before libuv finished closing it:
// node aborts. A child process connects and closes 1500 sockets with a full GC after each close.
test('closing sockets with a GC right after each close does not crash node (usocket fix)', () => {
  const fixes = path.join(__dirname, '..', '..', 'core', 'ivshmem', 'usocket-fixes.js');
  const script = `
    const { USocket, UServer } = require(${JSON.stringify(fixes)});
    const p = process.argv[1];
    const srv = new UServer();
    srv.on('connection', (s) => { s.on('data', () => {}); s.on('error', () => {}); setTimeout(() => s.destroy(), 1); });
    srv.listen(p, async () => {
      for (let i = 0; i < 1500; i++) {
        const c = new USocket();
        await new Promise((r) => c.connect(p, r));
        c.on('data', () => {});
        c.destroy();
        global.gc();
      }
      srv.close();
      global.gc();
      setTimeout(() => console.log('survived'), 100);
    });`;
  const { dir, cleanup } = tempDir();
  try {
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script, path.join(dir, 'gc.sock')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.signal, null, `node was killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /survived/);
  } finally {
    cleanup();
  }
});
