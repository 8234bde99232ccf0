import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IvshmemClient } from '../../core/ivshmem/client';
import { closeFd, tryLockExclusive } from '../../core/sys/fd';
import { bindUnix, unixSocket } from '../../core/sys/socket';
import { CliProcess, runCli } from '../helpers/cli';
import { eventually, tempDir } from '../helpers/temp';

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

/** A socket file with nobody behind it, as a server killed with SIGKILL leaves. */
function staleSocket(socketPath: string): void {
  const fd = unixSocket();
  bindUnix(fd, socketPath);
  closeFd(fd);
}

// Both would find the stale socket, both remove it and bind, the second removing the first's
// socket: two servers saying "serving", one unreachable. The lock file beside the socket makes the
// look-remove-bind one step.
test('two serve started at the same moment on one path: exactly one serves, the other exits 2 and says why', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (let round = 0; round < 6; round++) {
    const socketPath = path.join(dir, `race-${round}.sock`);
    staleSocket(socketPath);
    const pair = [0, 1].map(() => new CliProcess(['serve', '--socket', socketPath, '--size', '64K', '--vectors', '1']));
    t.after(() => pair.forEach((p) => p.child.kill('SIGKILL')));
    const outcome = await Promise.all(
      pair.map((p) => Promise.race([p.waitFor(/^serving /m, 'stderr', 20_000).then(() => 'serving'), p.exited.then((e) => `exit ${e.code}`)])),
    );
    assert.deepEqual([...outcome].sort(), ['exit 2', 'serving'], `round ${round}: ${outcome.join(', ')}; stderr: ${pair.map((p) => p.stderr).join(' | ')}`);
    const loser = pair[outcome.indexOf('exit 2')]!;
    assert.match(loser.stderr, /is already served by another shmem-inspect serve|is in use by a running server/);
    assert.equal(loser.stderr.trim().split('\n').length, 1, loser.stderr);
    // The winner is the one reachable at the path.
    const peers = await runCli(['peers', socketPath, '--json']);
    assert.equal(peers.code, 0, peers.stderr);
    const winner = pair[outcome.indexOf('serving')]!;
    await winner.waitFor(/peer 0 joined/);
    winner.child.kill('SIGTERM');
    assert.equal((await winner.exited).code, 130, 'stopped by a signal: 130, like every command');
  }
});

// The same, made deterministic: a serve in the middle of taking the path holds SOCKET.lock; a
// second one must leave the path alone (the stale socket stays: it is the first one's to replace).
test('while another serve holds the lock beside the socket, serve changes nothing at the path and exits 2', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const socketPath = path.join(dir, 'held.sock');
  staleSocket(socketPath);
  const before = fs.lstatSync(socketPath).ino;
  const lock = fs.openSync(`${socketPath}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  t.after(() => closeFd(lock));
  assert.equal(tryLockExclusive(lock), true);
  const r = await runCli(['serve', '--socket', socketPath, '--size', '64K']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `shmem-inspect: ${socketPath} is already served by another shmem-inspect serve (it holds ${socketPath}.lock)\n`);
  assert.equal(fs.lstatSync(socketPath).ino, before, 'the socket file was replaced');
  // Once the lock is free, the stale socket is taken over.
  closeFd(lock);
  const server = new CliProcess(['serve', '--socket', socketPath, '--size', '64K']);
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/^serving /m, 'stderr');
  assert.notEqual(fs.lstatSync(socketPath).ino, before);
  server.child.kill('SIGTERM');
  assert.equal((await server.exited).code, 130);
  assert.equal(fs.existsSync(`${socketPath}.lock`), false, 'the lock file was left behind');
});

test('serve makes its doorbells and memory by system call (no mkfifo through PATH), and every fd it holds is close-on-exec', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  // A PATH whose only program is a mkfifo that leaves a mark.
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const mark = path.join(dir, 'mkfifo-ran');
  fs.writeFileSync(path.join(bin, 'mkfifo'), `#!/bin/sh\ntouch ${mark}\nexit 1\n`, { mode: 0o755 });
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = new CliProcess(['serve', '--socket', socketPath, '--size', '64K', '--vectors', '2'], { env: { ...process.env, PATH: bin } });
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/serving .*64 KiB of an anonymous memfd/, 'stderr');
  const client = await IvshmemClient.connect(socketPath);
  t.after(() => client.close());
  await eventually(() => client.table().interrupts.length === 2, 5000, 'our doorbells');
  assert.equal(fs.existsSync(mark), false, 'serve ran mkfifo');
  const pid = server.child.pid!;
  const fds = fs.readdirSync(`/proc/${pid}/fd`).map(Number).filter((fd) => fd > 2);
  const targets = fds.map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
  assert.ok(targets.filter((x) => x === 'anon_inode:[eventfd]').length >= 2, `no doorbell eventfds in ${targets.join(' ')}`);
  assert.ok(targets.some((x) => x.startsWith('/memfd:shmem-inspect')), `no memfd in ${targets.join(' ')}`);
  assert.ok(targets.filter((x) => x.startsWith('socket:')).length >= 2, `no listening and accepted sockets in ${targets.join(' ')}`);
  const flagsOf = (owner: number | 'self', fd: number): number => parseInt(/^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/${owner}/fdinfo/${fd}`, 'utf8'))![1]!, 8);
  // What serve inherited from us (whatever started this test may leave fds open) is not its doing.
  const ours = new Set(fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => {
    try {
      return (flagsOf('self', fd) & 0o2000000) === 0;
    } catch {
      return false;
    }
  }));
  const inherited = fds.filter((fd) => !ours.has(fd) && (flagsOf(pid, fd) & 0o2000000) === 0);
  assert.deepEqual(inherited.map((fd) => `${fd} ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`), [], 'fds a child of serve would inherit');
  // What our client received came with close-on-exec too (MSG_CMSG_CLOEXEC).
  const flags = (fd: number): number => flagsOf('self', fd);
  assert.notEqual(flags(client.memoryFd) & 0o2000000, 0, 'the received memory fd is not close-on-exec');
  const doorbells = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventfd]';
    } catch {
      return false;
    }
  });
  assert.ok(doorbells.length >= 2);
  for (const fd of doorbells) assert.notEqual(flags(fd) & 0o2000000, 0, `eventfd ${fd} is not close-on-exec`);
});
