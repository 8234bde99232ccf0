import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RemoteSession } from '../../agent/remote-session';
import type { PeerTable } from '../../core/ivshmem/client';
import { CliProcess, runCli } from '../helpers/cli';
import { QtestMachine } from '../helpers/qemu';
import { eventually, tempDir } from '../helpers/temp';

/**
 * Our server (shmem-inspect serve), a real QEMU guest with ivshmem-doorbell on it, and our client
 * beside it. QEMU's side is driven through qtest: BAR0 registers and BAR2 memory.
 */
const SIZE = 1 << 20;
const VECTORS = 2;

test('QEMU ivshmem-doorbell and our client on our server: IDs, memory, doorbells, departure', async (t) => {
  const { dir, cleanup } = tempDir('shmem-inspect-qemu-');
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = new CliProcess(['serve', '--socket', socketPath, '--size', String(SIZE), '--vectors', String(VECTORS)]);
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
    server.child.kill('SIGTERM');
    await server.exited;
    cleanup();
  });
  await server.waitFor(/serving/, 'stderr');
  assert.equal(fs.statSync(socketPath).mode & 0o777, 0o600, 'the socket is not 0600');

  // Our client joins first (ID 0), so QEMU gets ID 1: an IVPosition of 0 would prove nothing.
  const client = await RemoteSession.attach(`unix:${socketPath}`);
  cleanups.push(() => client.close());
  let table: PeerTable = await client.peers();
  client.onPeers((tbl) => (table = tbl));
  assert.equal(table.ownId, 0);

  const machine = await QtestMachine.withServer(socketPath, VECTORS);
  cleanups.push(() => machine.quit());

  // 1. IVPosition is the ID our server gave QEMU, and our client lists that peer with its vectors.
  await eventually(() => table.peers.length === 1 && table.peers[0]!.vectors === VECTORS, 10_000, 'QEMU in the peer table');
  const qemuId = table.peers[0]!.id;
  assert.equal(qemuId, 1);
  assert.equal(await machine.readBar0(8), qemuId, 'IVPosition');
  await server.waitFor(/peer 1 joined \(2 vectors\)/);

  // 2. A guest write into BAR2 appears in our client's memory and in `watch` over the socket.
  const watch = new CliProcess(['watch', `unix:${socketPath}`, '--interval', '10', '--json', '--length', '4096']);
  cleanups.push(async () => {
    watch.child.kill('SIGKILL');
    await watch.exited;
  });
  await watch.waitFor(/watching unix:/, 'stderr');
  await machine.writel(0x40, 0xfeedc0de);
  const seen = JSON.parse(await watch.waitFor(/"offset":64/));
  assert.deepEqual([seen.old, seen.new], ['00000000', 'dec0edfe']);
  assert.deepEqual([...(await client.read(0x40, 4))], [0xde, 0xc0, 0xed, 0xfe]);
  const dumped = await runCli(['dump', `unix:${socketPath}`, '--offset', '0x40', '--length', '4']);
  assert.equal(dumped.stdout, '00000040: dec0 edfe                                ....\n');

  // 3. A guest doorbell write (BAR0 + 12 = peer << 16 | vector) counts on our vector.
  assert.deepEqual(table.interrupts, [0, 0]);
  await machine.writeBar0(12, (0 << 16) | 1);
  await eventually(() => table.interrupts[1] === 1, 5000, 'the interrupt on vector 1');
  await machine.writeBar0(12, (0 << 16) | 1);
  await machine.writeBar0(12, (0 << 16) | 0);
  await eventually(() => table.interrupts[1] === 2 && table.interrupts[0] === 1, 5000, 'three interrupts');

  // 4. QEMU exits: our client is told that peer 1 left; the server says so too.
  await machine.quit();
  // (The watch process is a peer too, so the table is not empty: QEMU's ID must be gone from it.)
  await eventually(() => !table.peers.some((p) => p.id === qemuId), 10_000, 'the departure notification');
  assert.ok(table.peers.length >= 1);
  await server.waitFor(/peer 1 left/);
  assert.equal(client.state, 'connected', 'a peer leaving is not our disconnect');

  // 5. The server stops: our client and the watch are disconnected, the socket file is gone.
  server.child.kill('SIGINT');
  assert.equal((await server.exited).code, 130);
  assert.equal(fs.existsSync(socketPath), false, 'the socket file was left behind');
  assert.equal((await watch.exited).code, 3);
  assert.match(watch.lines.at(-1)!, /"event":"disconnected".*the server closed the connection/);
  await eventually(() => client.state === 'disconnected', 5000, 'our client to be disconnected');
});

test('shmem-inspect peers and ring against QEMU on our server', async (t) => {
  const { dir, cleanup } = tempDir('shmem-inspect-qemu-');
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = new CliProcess(['serve', '--socket', socketPath, '--size', '64K', '--vectors', '3']);
  const machines: QtestMachine[] = [];
  t.after(async () => {
    for (const m of machines) await m.quit();
    server.child.kill('SIGTERM');
    await server.exited;
    cleanup();
  });
  await server.waitFor(/serving/, 'stderr');
  const machine = await QtestMachine.withServer(socketPath, 3);
  machines.push(machine);
  await server.waitFor(/peer 0 joined \(3 vectors\)/);
  const peers = await runCli(['peers', socketPath, '--json']);
  assert.equal(peers.code, 0, peers.stderr);
  const facts = JSON.parse(peers.stdout);
  assert.equal(facts.ownId, 1);
  assert.equal(facts.vectors, 3);
  assert.equal(facts.size, 65536);
  assert.deepEqual(facts.peers, [{ id: 0, vectors: 3 }]);
  assert.equal(await machine.readBar0(8), 0);
  const rang = await runCli(['ring', `unix:${socketPath}`, '--peer', '0', '--vector', '2']);
  assert.equal(rang.code, 0, rang.stderr);
  assert.match(rang.stderr, /rang peer 0 vector 2 \(as peer 2\)/);
  const wrong = await runCli(['ring', socketPath, '--peer', '0', '--vector', '3']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /peer 0 has 3 vector\(s\); there is no vector 3/);
});
