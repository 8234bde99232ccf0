import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IvshmemClient } from '../../core/ivshmem/client';
import { IvshmemServer, MAX_PEERS, queueBound, type ServerEvent } from '../../core/ivshmem/server';
import { closeFd } from '../../core/sys/fd';
import { sendWithFds } from '../../core/sys/socket';
import { RawPeer } from '../helpers/raw-peer';
import { eventually, openFds, tempDir } from '../helpers/temp';

async function startServer(t: { after: (fn: () => void) => void }, vectors: number): Promise<{ server: IvshmemServer; socketPath: string; events: ServerEvent[] }> {
  const { dir, cleanup } = tempDir();
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = await IvshmemServer.start({ socketPath, size: 65536, vectors, memory: { kind: 'memfd' } });
  const events: ServerEvent[] = [];
  server.onEvent((e) => events.push(e));
  t.after(() => {
    server.stop();
    cleanup();
  });
  return { server, socketPath, events };
}

/** A peer that joins and stays; resolves once the server has it. (One join at a time: joins are told apart by order.) */
function join(server: IvshmemServer, socketPath: string): Promise<RawPeer> {
  return new Promise((resolve) => {
    const peer = RawPeer.connect(socketPath);
    const off = server.onEvent((e) => {
      if (e.type === 'joined') {
        off();
        resolve(peer);
      }
    });
  });
}

/** A peer joins and leaves at once; resolves when the server has seen both. (One at a time, as join.) */
function churn(server: IvshmemServer, socketPath: string): Promise<void> {
  return new Promise((resolve) => {
    let id = -1;
    const peer = RawPeer.connect(socketPath);
    const off = server.onEvent((e) => {
      if (e.type === 'joined' && id < 0) {
        id = e.id;
        peer.close();
      } else if (e.type === 'left' && e.id === id) {
        off();
        resolve();
      }
    });
  });
}

function eventfdCount(fd: number): number | undefined {
  const m = /^eventfd-count:\s*(\S+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Reads until the server has nothing more queued for the peer. */
async function drain(server: IvshmemServer, peer: RawPeer): Promise<void> {
  await eventually(() => {
    peer.readAvailable();
    return server.queued(peer.ownId) === 0;
  }, 10_000, 'the slow peer to catch up');
  peer.readAvailable();
}

// The fds of a message stay with it until its first byte is sent; a write that meets a full
// buffer sent nothing, so they go with the retry (usocket 1.1.0 lost them: peers then read "peer
// left" where the server said "peer vector").
test('a peer that reads slowly gets every doorbell: fds of writes that met a full buffer are not lost', async (t) => {
  const { server, socketPath, events } = await startServer(t, 4);
  const slow = RawPeer.connect(socketPath);
  t.after(() => slow.close());
  await eventually(() => events.length === 1, 5000, 'the slow peer to join');
  const stayers: RawPeer[] = [];
  t.after(() => stayers.forEach((p) => p.close()));
  for (let i = 0; server.queued(0) === 0; i++) {
    assert.ok(i < 3000, 'the slow peer\'s socket buffer never filled: the test proves nothing');
    if (i % 10 === 0) stayers.push(await join(server, socketPath));
    await churn(server, socketPath);
  }
  assert.ok(server.queued(0)! > 0);
  await drain(server, slow);
  // Every peer still there is in the slow peer's table with all of its doorbells, each an eventfd.
  const table = new Map<number, number>();
  for (const e of slow.events) {
    if (e.type === 'peer-vector') table.set(e.peer, (table.get(e.peer) ?? 0) + 1);
    if (e.type === 'peer-left') table.delete(e.peer);
  }
  assert.deepEqual([...table].sort((a, b) => a[0] - b[0]), server.peerTable().filter((p) => p.id !== 0).map((p) => [p.id, 4]));
  assert.equal(slow.vectorsOf(0).length, 4);
});

// A departed peer's doorbells stay open while a message queued to a slow peer still carries them:
// closed at once, their numbers would go to the next fds the server opens, and the slow peer would
// receive those (another peer's doorbell, or even another peer's socket) instead.
test('a departed peer\'s doorbells reach a slow peer as they were, never a reused fd number', async (t) => {
  const { server, socketPath, events } = await startServer(t, 4);
  const slow = RawPeer.connect(socketPath);
  t.after(() => slow.close());
  await eventually(() => events.length === 1, 5000, 'the slow peer to join');
  for (let i = 0; server.queued(0) === 0; i++) {
    assert.ok(i < 3000, 'the slow peer\'s socket buffer never filled: the test proves nothing');
    await churn(server, socketPath);
  }
  // X joins; its doorbells are announced to the slow peer (queued), and X marks them: vector v
  // holds the count 100 + v.
  const x = RawPeer.connect(socketPath);
  await eventually(() => {
    x.readAvailable();
    return x.vectorsOf(x.ownId).length === 4;
  }, 5000, 'X\'s own doorbells');
  const xId = x.ownId;
  x.vectorsOf(xId).forEach((fd, v) => fs.writeSync(fd, Buffer.from(new BigUint64Array([BigInt(100 + v)]).buffer)));
  assert.ok(server.queued(0)! > 0, 'X\'s announcement is not queued for the slow peer');
  x.close();
  await eventually(() => server.queued(xId) === undefined, 5000, 'X to leave');
  // The server opens new fds: peers join (eventfds, sockets) and stay.
  const later: RawPeer[] = [];
  t.after(() => later.forEach((p) => p.close()));
  for (let i = 0; i < 4; i++) later.push(RawPeer.connect(socketPath));
  await eventually(() => server.peerTable().length === 5, 5000, 'the later peers');
  await drain(server, slow);
  const got = slow.vectorsOf(xId);
  assert.equal(got.length, 4);
  assert.deepEqual(got.map(eventfdCount), [100, 101, 102, 103], 'the slow peer got other fds than X\'s doorbells');
});

test(`a peer whose queue passes the bound is dropped, and the fds its queue held are closed`, async (t) => {
  const { server, socketPath, events } = await startServer(t, 1);
  await new Promise((r) => setTimeout(r, 50));
  const baseline = openFds();
  const slow = RawPeer.connect(socketPath);
  await eventually(() => events.length === 1, 5000, 'the slow peer to join');
  const bound = queueBound(1);
  for (let i = 0; server.queued(0) !== undefined; i++) {
    assert.ok(i < 5000, `the slow peer was never dropped (${server.queued(0)} messages queued)`);
    await churn(server, socketPath);
  }
  const left = events.find((e) => e.type === 'left' && e.id === 0);
  assert.deepEqual(left, { type: 'left', id: 0, reason: `dropped: more than ${bound} messages were waiting for it (it does not read)` });
  // The slow peer reads end of stream after what the kernel already held.
  await eventually(() => !slow.readAvailable(), 5000, 'the slow peer to be disconnected');
  slow.close();
  await eventually(() => openFds() <= baseline, 5000, `the fds to come back to ${baseline} (now ${openFds()})`);
});

test('fds a peer sends to the server are closed at once, and the peer is dropped', async (t) => {
  const { server, socketPath, events } = await startServer(t, 1);
  await new Promise((r) => setTimeout(r, 50));
  const baseline = openFds();
  const peer = RawPeer.connect(socketPath);
  await eventually(() => events.length === 1, 5000, 'the peer to join');
  const fds = Array.from({ length: 16 }, () => fs.openSync('/dev/null', 'r'));
  assert.equal(sendWithFds(peer.fd, Buffer.alloc(8), fds), 8);
  fds.forEach(closeFd);
  await eventually(() => events.some((e) => e.type === 'left'), 5000, 'the peer to be dropped');
  assert.deepEqual(events[1], { type: 'left', id: 0, reason: 'it sent data; peers send nothing in this protocol' });
  assert.equal(server.peerTable().length, 0);
  peer.close();
  await eventually(() => openFds() <= baseline, 5000, `the fds to come back to ${baseline} (now ${openFds()}: the server kept what it received)`);
});

test(`peers are capped at ${MAX_PEERS}; the next is turned away with a reason, and one may join once another left`, async (t) => {
  const { server, socketPath, events } = await startServer(t, 0);
  const peers: RawPeer[] = [];
  t.after(() => peers.forEach((p) => p.close()));
  // In steps below the listen backlog (64): a full backlog would refuse a connect outright.
  for (let i = 0; i < MAX_PEERS; i++) {
    peers.push(RawPeer.connect(socketPath));
    if (i % 32 === 31) await eventually(() => server.peerTable().length === i + 1, 10_000, `${i + 1} peers`);
  }
  await assert.rejects(IvshmemClient.connect(socketPath), /closed the connection before sending the shared memory/);
  assert.deepEqual(events.at(-1), { type: 'refused', reason: `a peer was turned away: ${MAX_PEERS} peers are connected, the most this server takes` });
  peers.shift()!.close();
  await eventually(() => server.peerTable().length === MAX_PEERS - 1, 5000, 'a departure');
  const client = await IvshmemClient.connect(socketPath);
  client.close();
});

test('--shm refuses a symbolic link, a file others may write, and a file of another user', async (t) => {
  const { dir, cleanup } = tempDir();
  const names = ['link', 'open', 'theirs'].map((n) => `shmem-inspect-test-${process.pid}-${n}`);
  t.after(() => {
    cleanup();
    for (const n of names) fs.rmSync(`/dev/shm/${n}`, { force: true });
  });
  const start = (name: string): Promise<IvshmemServer> => IvshmemServer.start({ socketPath: path.join(dir, `${name}.sock`), size: 4096, vectors: 0, memory: { kind: 'shm', name } });
  const target = path.join(dir, 'target');
  fs.writeFileSync(target, Buffer.alloc(4096));
  fs.symlinkSync(target, `/dev/shm/${names[0]}`);
  await assert.rejects(start(names[0]!), /is a symbolic link; refusing to follow it/);
  fs.writeFileSync(`/dev/shm/${names[1]}`, Buffer.alloc(4096), { mode: 0o600 });
  fs.chmodSync(`/dev/shm/${names[1]}`, 0o620);
  await assert.rejects(start(names[1]!), /is writable by group or others \(mode 0620\); refusing it/);
  fs.chmodSync(`/dev/shm/${names[1]}`, 0o644);
  const ok = await start(names[1]!);
  ok.stop();
  if (process.geteuid?.() === 0) {
    fs.writeFileSync(`/dev/shm/${names[2]}`, Buffer.alloc(4096), { mode: 0o600 });
    fs.chownSync(`/dev/shm/${names[2]}`, 65534, 65534);
    await assert.rejects(start(names[2]!), /belongs to another user \(uid 65534\); refusing it/);
  } else {
    t.diagnostic('not root: the other-user case needs chown');
  }
  // Nothing was written through the link.
  assert.equal(fs.readFileSync(target).length, 4096);
});
