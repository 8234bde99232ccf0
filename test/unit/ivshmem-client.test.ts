import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { InputError } from '../../core/errors';
import { IvshmemClient, type IvshmemClientEvent } from '../../core/ivshmem/client';
import { IvshmemServer } from '../../core/ivshmem/server';
import { IvshmemSource } from '../../core/sources/ivshmem-source';
import { hostileServer, m, send } from '../helpers/hostile-server';
import { eventually, openFds, tempDir } from '../helpers/temp';

const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a hostile or broken server gets a clear error, no crash, and every fd it sent is closed', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const memFile = path.join(dir, 'mem');
  fs.writeFileSync(memFile, Buffer.alloc(65536));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  const open = (p: string): number => fs.openSync(p, 'r');
  const held: number[] = [];
  type Script = (s: Parameters<Parameters<typeof hostileServer>[1]>[0]) => Promise<void>;
  const hello = async (s: Parameters<Script>[0]): Promise<void> => {
    await send(s, m(0));
    await send(s, m(1));
  };
  const cases: [string, Script, RegExp][] = [
    ['another version', async (s) => send(s, m(2)), /protocol version 2; only version 0/],
    ['not a number (text)', async (s) => send(s, Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), /protocol version \d+/],
    ['an fd with the version', async (s) => send(s, m(0), [open(memFile)]), /file descriptor with the protocol version/],
    ['an ID out of range', async (s) => {
      await send(s, m(0));
      await send(s, m(123456));
    }, /client ID 123456, outside 0..65535/],
    ['no fd with the memory', async (s) => {
      await hello(s);
      await send(s, m(-1));
    }, /no file descriptor for the shared memory/],
    ['two fds with one message', async (s) => {
      await hello(s);
      await send(s, m(-1), [open(memFile), open(memFile)]);
    }, /2 file descriptors arrived with one message/],
    ['an fd that is a directory', async (s) => {
      await hello(s);
      await send(s, m(-1), [open(dir)]);
    }, /not a memory file \(it cannot be mapped\)/],
    ['an fd that is a character device', async (s) => {
      await hello(s);
      await send(s, m(-1), [open('/dev/null')]);
    }, /not a memory file/],
    ['an empty memory file', async (s) => {
      await hello(s);
      await send(s, m(-1), [open(path.join(dir, 'empty'))]);
    }, /unusable size \(0 bytes\)/],
    ['a truncated message, then close', async (s) => {
      await send(s, m(0));
      await send(s, m(1).subarray(0, 5));
      s.end();
    }, /closed the connection in the middle of a message/],
    ['a close mid-handshake', async (s) => {
      await hello(s);
      s.end();
    }, /closed the connection before sending the shared memory/],
    ['a flood of peers', async (s) => {
      await hello(s);
      await send(s, m(-1), [open(memFile)]);
      const fd = open(memFile);
      held.push(fd); // a send to a client that gave up never completes: closed after the case
      for (let i = 0; i < 4200; i++) await send(s, m(2 + Math.floor(i / 50)), [fd], true);
    }, /more than 4096 file descriptors at once/],
    ['one peer with too many vectors', async (s) => {
      await hello(s);
      await send(s, m(-1), [open(memFile)]);
      const fd = open(memFile);
      held.push(fd);
      for (let i = 0; i < 70; i++) await send(s, m(7), [fd], true);
    }, /peer 7 was given more than 64 vectors/],
  ];
  // Warm up whatever the runtime opens lazily, then count.
  await settle();
  const baseline = openFds();
  for (const [name, script, reason] of cases) {
    const server = await hostileServer(dir, script);
    let client: IvshmemClient | undefined;
    let error: unknown;
    try {
      client = await IvshmemClient.connect(server.path, { timeoutMs: 3000 });
      // Errors after the handshake close the connection with the reason.
      await eventually(() => client!.closed, 5000, `${name}: the client to give up`);
      error = new InputError(client.closed!);
    } catch (err) {
      error = err;
    }
    server.close();
    held.splice(0).forEach((fd) => fs.closeSync(fd));
    assert.ok(error instanceof InputError, `${name}: ${String(error)}`);
    assert.match((error as Error).message, reason, name);
    assert.equal((error as Error).message.includes('\n'), false);
    client?.close();
    await settle();
    assert.equal(openFds(), baseline, `${name}: fds leaked`);
  }
});

test('a server that never sends the memory times out cleanly', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const server = await hostileServer(dir, async (s) => send(s, m(0)));
  t.after(() => server.close());
  await assert.rejects(IvshmemClient.connect(server.path, { timeoutMs: 300 }), /did not send the shared memory within 0.3 s/);
  await assert.rejects(IvshmemClient.connect(path.join(dir, 'nothing.sock')), /cannot reach the ivshmem server .*no such file/);
  fs.writeFileSync(path.join(dir, 'plain'), 'x');
  await assert.rejects(IvshmemClient.connect(path.join(dir, 'plain')), /is not a UNIX socket/);
});

test('our server and client: IDs, peer table, doorbells both ways, leave notifications, no fd leak', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  await settle();
  const baseline = openFds();
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = await IvshmemServer.start({ socketPath, size: 1 << 20, vectors: 3, memory: { kind: 'memfd' } });
  const events: string[] = [];
  server.onEvent((e) => events.push(e.type === 'refused' ? `refused ${e.reason}` : `${e.type} ${e.id}`));
  assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600);
  const a = await IvshmemSource.connect(socketPath, { writable: true });
  const b = await IvshmemSource.connect(socketPath);
  await eventually(() => a.table().peers.length === 1 && b.table().peers.length === 1 && b.table().interrupts.length === 3, 5000, 'both tables');
  assert.equal(a.info.peerId, 0);
  assert.equal(b.info.peerId, 1);
  assert.deepEqual(a.table().peers, [{ id: 1, vectors: 3 }]);
  assert.deepEqual(b.table().peers, [{ id: 0, vectors: 3 }]);
  // Shared memory: a write by one peer is read by the other.
  a.write(4096, Buffer.from('shared!'));
  const got = new Uint8Array(7);
  b.read(4096, got);
  assert.equal(Buffer.from(got).toString(), 'shared!');
  // Doorbells: a rings b's vector 2 twice and vector 0 once.
  a.ring(1, 2);
  a.ring(1, 2);
  a.ring(1, 0);
  await eventually(() => b.table().interrupts[2] === 2, 5000, 'the interrupts');
  assert.deepEqual(b.table().interrupts, [1, 0, 2]);
  assert.throws(() => a.ring(1, 3), /peer 1 has 3 vector\(s\); there is no vector 3/);
  assert.throws(() => a.ring(9, 0), /there is no peer 9/);
  // b leaves: a is told, its table empties, and the server reports it.
  b.close();
  await eventually(() => a.table().peers.length === 0, 5000, 'the leave notification');
  assert.deepEqual(events, ['joined 0', 'joined 1', 'left 1']);
  // The server stops: a is disconnected with the reason.
  let gone: string | undefined;
  a.onGone((r) => (gone = r));
  server.stop();
  await eventually(() => gone, 5000, 'the disconnect');
  assert.match(gone!, /the server closed the connection/);
  assert.equal(fs.existsSync(socketPath), false);
  a.close();
  await settle(100);
  assert.equal(openFds(), baseline, 'fds leaked');
});

test('the server refuses a live socket path and a non-socket, and replaces a stale socket', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const socketPath = path.join(dir, 's.sock');
  const first = await IvshmemServer.start({ socketPath, size: 4096, vectors: 1, memory: { kind: 'memfd' } });
  await assert.rejects(IvshmemServer.start({ socketPath, size: 4096, vectors: 1, memory: { kind: 'memfd' } }), /is already served by another shmem-inspect serve \(it holds .*s\.sock\.lock\)/);
  first.stop();
  assert.equal(fs.existsSync(`${socketPath}.lock`), false, 'the lock file is removed on stop');
  // Another program's live server on the path (no lock file of ours): found by connecting.
  const foreign = await hostileServer(dir, async () => undefined);
  t.after(() => foreign.close());
  await assert.rejects(IvshmemServer.start({ socketPath: foreign.path, size: 4096, vectors: 1, memory: { kind: 'memfd' } }), /in use by a running server/);
  // A stale socket file (its server died without cleaning up) is taken over.
  const stale = await hostileServer(dir, async () => undefined);
  const stalePath = stale.path;
  stale.close();
  fs.writeFileSync(path.join(dir, 'file'), 'x');
  await assert.rejects(IvshmemServer.start({ socketPath: path.join(dir, 'file'), size: 4096, vectors: 1, memory: { kind: 'memfd' } }), /exists and is not a socket/);
  assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'x');
  const again = await IvshmemServer.start({ socketPath: stalePath, size: 4096, vectors: 1, memory: { kind: 'memfd' } });
  again.stop();
  await assert.rejects(IvshmemServer.start({ socketPath, size: 4096, vectors: 65, memory: { kind: 'memfd' } }), /--vectors must be between 0 and 64/);
  await assert.rejects(IvshmemServer.start({ socketPath, size: 4096, vectors: 1, memory: { kind: 'shm', name: '../etc/passwd' } }), /--shm NAME must be a plain file name/);
  await assert.rejects(IvshmemServer.start({ socketPath: path.join(dir, 'no', 's.sock'), size: 4096, vectors: 1, memory: { kind: 'memfd' } }), /folder .* does not exist/);
});

test('--shm NAME puts the memory in /dev/shm/NAME, where a backing-file session sees the same bytes', async (t) => {
  const name = `shmem-inspect-test-${process.pid}`;
  const { dir, cleanup } = tempDir();
  t.after(() => {
    cleanup();
    fs.rmSync(`/dev/shm/${name}`, { force: true });
  });
  const socketPath = path.join(dir, 's.sock');
  const server = await IvshmemServer.start({ socketPath, size: 8192, vectors: 0, memory: { kind: 'shm', name } });
  t.after(() => server.stop());
  const peer = await IvshmemSource.connect(socketPath, { writable: true });
  t.after(() => peer.close());
  assert.equal(peer.table().interrupts.length, 0);
  peer.write(100, Buffer.from([1, 2, 3]));
  assert.deepEqual([...fs.readFileSync(`/dev/shm/${name}`).subarray(100, 103)], [1, 2, 3]);
  await assert.rejects(IvshmemServer.start({ socketPath: path.join(dir, 't.sock'), size: 4096, vectors: 0, memory: { kind: 'shm', name } }), /already exists with 8192 bytes/);
});

test('peers that leave together are all reported (a failed write to a closed peer is its departure)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const socketPath = path.join(dir, 'together.sock');
  const server = await IvshmemServer.start({ socketPath, size: 65536, vectors: 2, memory: { kind: 'memfd' } });
  t.after(() => server.stop());
  const left: number[] = [];
  server.onEvent((e) => e.type === 'left' && left.push(e.id));
  const observer = await IvshmemClient.connect(socketPath);
  t.after(() => observer.close());
  const clients: IvshmemClient[] = [];
  for (let i = 0; i < 8; i++) clients.push(await IvshmemClient.connect(socketPath));
  await eventually(() => observer.table().peers.length === 8, 5000, 'all peers in the observer table');
  // Closed in one go: the server's notice of the first departure writes to the others, already closed.
  for (const c of clients) c.close();
  await eventually(() => left.length === 8, 5000, `all 8 departures (got ${left.length})`);
  await eventually(() => observer.table().peers.length === 0, 5000, 'the observer told of every departure');
  assert.deepEqual(server.peerTable().map((p) => p.id), [observer.ownId]);
});

// usocket 1.1.0 freed a closed socket's poll handle if a GC came before libuv finished closing it,
// and node aborted. The new layer has no native handle of its own, but closes still race a poll in
// flight on a worker thread (its fds are closed after it returns): a child process joins and
// leaves 120 times with full GCs after each close and while polls are in flight, and must end
// with exactly the fds it started with.
test('closing clients and peers with GCs around each close does not crash, and leaves no fd', () => {
  const out = path.join(__dirname, '..', '..');
  const script = `
    const { IvshmemServer } = require(${JSON.stringify(path.join(out, 'core', 'ivshmem', 'server.js'))});
    const { IvshmemClient } = require(${JSON.stringify(path.join(out, 'core', 'ivshmem', 'client.js'))});
    const fs = require('fs');
    const count = () => fs.readdirSync('/proc/self/fd').length;
    (async () => {
      const before = count();
      const server = await IvshmemServer.start({ socketPath: process.argv[1], size: 65536, vectors: 2, memory: { kind: 'memfd' } });
      const observer = await IvshmemClient.connect(process.argv[1]);
      for (let i = 0; i < 120; i++) {
        const c = await IvshmemClient.connect(process.argv[1]);
        global.gc();
        c.close();
        global.gc();
        if (i % 3 === 0) await new Promise((r) => setImmediate(r));
        global.gc();
      }
      observer.close();
      global.gc();
      server.stop();
      global.gc();
      for (let i = 0; i < 100 && count() !== before; i++) await new Promise((r) => setTimeout(r, 10));
      console.log('survived', before, count());
    })();`;
  const { dir, cleanup } = tempDir();
  try {
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script, path.join(dir, 'gc.sock')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, `node was killed by ${r.signal}: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const m = /survived (\d+) (\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.equal(m[2], m[1], 'fds left open after every close');
  } finally {
    cleanup();
  }
});

test('the client event stream: peer-joined with its vectors, interrupts with counts, peer-left, each with when it was seen', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const socketPath = path.join(dir, 'events.sock');
  const server = await IvshmemServer.start({ socketPath, size: 65536, vectors: 3, memory: { kind: 'memfd' } });
  t.after(() => server.stop());
  const a = await IvshmemClient.connect(socketPath);
  t.after(() => a.close());
  const seen: IvshmemClientEvent[] = [];
  a.onEvent((e) => seen.push(e));
  const start = Date.now();
  const b = await IvshmemClient.connect(socketPath);
  await eventually(() => b.table().peers.length === 1, 5000, 'b to know a');
  await eventually(() => seen.length === 1, 5000, 'the join');
  assert.deepEqual(seen[0], { type: 'peer-joined', id: b.ownId, vectors: 3, time: seen[0]!.time });
  b.ring(a.ownId, 2);
  b.ring(a.ownId, 2);
  b.ring(a.ownId, 0);
  await eventually(() => a.table().interrupts[2] === 2 && a.table().interrupts[0] === 1, 5000, 'the interrupts');
  const interrupts = seen.filter((e) => e.type === 'interrupt');
  // Rings that come faster than we read add up in the eventfd: counts, not events, must sum up.
  assert.equal(interrupts.filter((e) => e.vector === 2).reduce((s, e) => s + e.count, 0), 2);
  assert.equal(interrupts.filter((e) => e.vector === 0).reduce((s, e) => s + e.count, 0), 1);
  assert.ok(interrupts.every((e) => e.count >= 1));
  b.close();
  await eventually(() => seen.some((e) => e.type === 'peer-left'), 5000, 'the departure');
  assert.deepEqual(seen.at(-1), { type: 'peer-left', id: b.ownId, time: seen.at(-1)!.time });
  const times = seen.map((e) => e.time);
  assert.deepEqual(times, [...times].sort((x, y) => x - y), 'times go forward');
  assert.ok(times[0]! >= start && times.at(-1)! <= Date.now());
  assert.equal(seen.filter((e) => e.type === 'peer-joined').length, 1, 'one join per peer');
});
