/**
 * The runtime tier: the same build (dist/) runs the CLI's core cases under Node 20, 22 and 24 (the
 * runtimes of today's VS Code servers), its agent forked on the same Node. Nothing here is built
 * per runtime: the native library is Node-API (ABI-stable) and loaded only when a case needs it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CliProcess, runCli, xxd, type On } from '../helpers/cli';
import { abiOf, distWithoutNative, runtime as find, type Runtime } from '../helpers/runtimes';
import { seededBytes, tempDir } from '../helpers/temp';

async function cli(on: On, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, 60_000, on);
}

for (const major of [20, 22, 24]) {
  const name = `Node ${major}`;
  // Resolved when the first case runs (npm test installs the cached runtimes before the tiers).
  let found: (Runtime & { abi: string }) | undefined;
  const runtimeOf = async (): Promise<{ runtime: Runtime & { abi: string }; on: On }> => {
    if (!found) {
      const r = await find(major);
      found = { ...r, abi: abiOf(r.node) };
    }
    return { runtime: found, on: { node: found.node } };
  };

  test(`${name}: dump matches xxd, at offsets and lengths`, async (t) => {
    const { runtime, on } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const seg = path.join(dir, 'seg');
    fs.writeFileSync(seg, seededBytes(70_000, runtime.major));
    const version = await cli(on, ['--version']);
    assert.equal(version.code, 0);
    for (const [offset, length] of [[0, 70_000], [4095, 33], [69_990, 10]] as const) {
      const r = await cli(on, ['dump', seg, '--offset', String(offset), '--length', String(length)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, xxd(['-s', String(offset), '-l', String(length), seg]), `dump at ${offset}+${length}`);
    }
  });

  test(`${name}: snapshot round trip (info checks it, dump and diff see the same bytes)`, async (t) => {
    const { runtime, on } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const seg = path.join(dir, 'seg');
    const data = seededBytes(256 * 1024, runtime.major + 1);
    data.fill(0, 64 * 1024, 192 * 1024); // zero pages stay holes
    fs.writeFileSync(seg, data);
    const snap = path.join(dir, 'seg.shmsnap');
    const taken = await cli(on, ['snapshot', seg, '-o', snap]);
    assert.equal(taken.code, 0, taken.stderr);
    const info = JSON.parse((await cli(on, ['info', snap, '--json'])).stdout);
    assert.equal(info.size, data.length);
    assert.equal(info.badBlocks, 0, JSON.stringify(info));
    assert.equal((await cli(on, ['dump', snap])).stdout, xxd([seg]));
    const same = await cli(on, ['diff', snap, seg, '--json']);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(JSON.parse(same.stdout).ranges, []);
  });

  test(`${name}: diff lists the changed ranges`, async (t) => {
    const { runtime, on } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const data = seededBytes(1 << 20, runtime.major + 2);
    fs.writeFileSync(a, data);
    data[5] = (data[5]! + 1) & 0xff;
    data.fill(0x77, 300_000, 300_010);
    data[(1 << 20) - 1] = (data[(1 << 20) - 1]! + 1) & 0xff;
    fs.writeFileSync(b, data);
    const r = await cli(on, ['diff', a, b, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const ranges = JSON.parse(r.stdout).ranges as { offset: number; length: number }[];
    assert.deepEqual(ranges.map((x) => [x.offset, x.length]).filter(([o]) => o !== 300_000), [[5, 1], [(1 << 20) - 1, 1]]);
    const mid = ranges.find((x) => x.offset >= 300_000 && x.offset < 300_010);
    assert.ok(mid, 'the 10 changed bytes at 300000 are not listed');
  });

  test(`${name}: reconnect as master writes the guest copy back, in place`, async (t) => {
    const { on } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const seg = path.join(dir, 'seg');
    fs.writeFileSync(seg, Buffer.alloc(8192));
    const base = path.join(dir, 'base.shmsnap');
    assert.equal((await cli(on, ['snapshot', seg, '-o', base])).code, 0);
    const copy = path.join(dir, 'copy');
    const guest = Buffer.alloc(8192);
    guest.writeUInt32LE(42, 8);
    fs.writeFileSync(copy, guest);
    const local = path.join(dir, 'local.shmsnap');
    assert.equal((await cli(on, ['snapshot', copy, '-o', local])).code, 0);
    const ino = fs.statSync(seg).ino;
    const r = await cli(on, ['reconnect', seg, '--base', base, '--local', local, '--role', 'master', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).applied, { written: [{ offset: 8, length: 1 }], verified: true });
    assert.equal(fs.readFileSync(seg).readUInt32LE(8), 42);
    assert.equal(fs.statSync(seg).ino, ino);
  });

  test(`${name}: peers, ring and dump over our own ivshmem server`, async (t) => {
    const { runtime, on } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    const shm = `shmem-inspect-runtime-${process.pid}-${runtime.major}`;
    t.after(() => {
      cleanup();
      fs.rmSync(`/dev/shm/${shm}`, { force: true });
    });
    const socket = path.join(dir, 'ivshmem.sock');
    const server = new CliProcess(['serve', '--socket', socket, '--size', '64K', '--vectors', '2', '--shm', shm], on);
    t.after(() => server.child.kill('SIGKILL'));
    await server.waitFor(/serving /, 'stderr');
    const fd = fs.openSync(`/dev/shm/${shm}`, 'r+');
    fs.writeSync(fd, Buffer.from('runtime'), 0, 7, 32);
    fs.closeSync(fd);
    // A peer that stays (peer 0), to be listed and rung.
    const watcher = new CliProcess(['watch', `unix:${socket}`, '--offset', '0', '--length', '64'], on);
    t.after(() => watcher.child.kill('SIGKILL'));
    await watcher.waitFor(/watching/, 'stderr');
    const peers = await cli(on, ['peers', socket, '--json']);
    assert.equal(peers.code, 0, peers.stderr);
    const table = JSON.parse(peers.stdout);
    assert.equal(table.size, 65536);
    assert.equal(table.vectors, 2);
    assert.deepEqual(table.peers, [{ id: 0, vectors: 2 }]);
    const rang = await cli(on, ['ring', socket, '--peer', '0', '--vector', '1']);
    assert.equal(rang.code, 0, rang.stderr);
    assert.match(rang.stderr, /^rang peer 0 vector 1 \(as peer \d+\)\n$/);
    const dump = await cli(on, ['dump', `unix:${socket}`, '--offset', '32', '--length', '7']);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(dump.stdout, '00000020: 7275 6e74 696d 65                        runtime\n');
    // The segment changes under the watcher (a peer's store): it reports it.
    const fd2 = fs.openSync(`/dev/shm/${shm}`, 'r+');
    fs.writeSync(fd2, Buffer.from([9]), 0, 1, 3);
    fs.closeSync(fd2);
    await watcher.waitFor(/0x3 \+1: 00 -> 09/);
  });

  test(`${name}: without the native library, a file still works and an ivshmem source is one line, exit 2`, async (t) => {
    const { runtime } = await runtimeOf();
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const bare: On = { node: runtime.node, cli: distWithoutNative(dir) };
    const seg = path.join(dir, 'seg');
    fs.writeFileSync(seg, seededBytes(4096, 9));
    const dump = await cli(bare, ['dump', seg, '--length', '64']);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(dump.stdout, xxd(['-l', '64', seg]));
    const snap = path.join(dir, 's.shmsnap');
    assert.equal((await cli(bare, ['snapshot', seg, '-o', snap])).code, 0);
    // A socket that exists (Node can listen on one without native code): the client gets as far as
    // needing the native library, and says it cannot load.
    const sock = path.join(dir, 'listening.sock');
    const listener = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => listener.listen(sock, resolve));
    t.after(() => listener.close());
    const r = await cli(bare, ['dump', `unix:${sock}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^shmem-inspect: the native library \\(koffi\\) cannot load on linux-${process.arch} under Node ${runtime.major}\\.[^\\n]*; backing files and snapshots still work[^\\n]*\\n$`));
  });
}
