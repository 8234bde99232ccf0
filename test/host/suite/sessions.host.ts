/**
 * Runs inside code-server's real extension host: the real commands, the real agent processes.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { api, eventually, ID, startServer } from '../runner/in-host';
import { NO_HUGETLBFS, hugetlbfsMount } from '../../helpers/hugetlbfs';
import { socketsUnavailable } from '../../helpers/runtimes';

const made: string[] = [];

/** A backing file in a fresh folder; the last test removes them all. */
function segment(bytes: Buffer): string {
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-'));
  made.push(dir);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, bytes);
  return file;
}

test('the extension runs in a real extension host on the system Node', async () => {
  const a = await api();
  assert.ok(a.manager);
  assert.equal(typeof vscode.version, 'string');
  const commands = await vscode.commands.getCommands(true);
  for (const c of ['attachFile', 'attachServer', 'detach', 'goToOffset', 'togglePause', 'makeReadWrite']) {
    assert.ok(commands.includes(`shmemInspector.${c}`), `command ${c} is not registered`);
  }
});

test('Attach Backing File: a session, a hex panel, reads through the agent; Detach ends it', async () => {
  const a = await api();
  const data = Buffer.alloc(65536);
  data.write('hello from the host test', 100);
  const file = segment(data);
  const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', vscode.Uri.file(file))) as Session;
  assert.ok(session, 'the command returned no session');
  assert.equal(session.view().size, 65536);
  assert.equal(session.view().state, 'live');
  assert.equal(session.view().writable, false, 'sessions start read-only');
  assert.ok([...a.manager.panels].some((p) => p.session === session), 'no hex panel was opened');
  const bytes = await session.remote.read(100, 24);
  assert.equal(Buffer.from(bytes).toString(), 'hello from the host test');
  // The extension host never maps the segment (and on tmpfs, neither does its agent: pread/pwrite).
  assert.equal(fs.readFileSync('/proc/self/maps', 'utf8').includes(file), false);
  const agent = session.remote.agentPid!;
  await vscode.commands.executeCommand('shmemInspector.detach', session);
  assert.equal(a.manager.sessions.includes(session), false);
  await eventually(() => !fs.existsSync(`/proc/${agent}`) || fs.readFileSync(`/proc/${agent}/status`, 'utf8').includes('State:\tZ'), 'the agent to exit');
});

test('a truncated backing file disconnects the session, keeps its last bytes, and the host lives on', async () => {
  const a = await api();
  const data = Buffer.alloc(8192, 0x5a);
  const file = segment(data);
  const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
  // What a hex view does when it shows rows (whether the webview's page has loaded or not: that
  // is the browser tests' business).
  session.setViewport('host-test', { offset: 0, length: 4096 });
  await eventually(() => session.remote.lastBytes.get(0, 16), 'the watched bytes');
  fs.truncateSync(file, 10);
  await eventually(() => session.state === 'disconnected', 'the disconnect');
  // Checked before each sample; a truncation between the check and the read is a short pread.
  assert.match(session.reason!, /truncated from 8192 to 10 bytes$/);
  assert.deepEqual([...session.remote.lastBytes.get(0, 16)!], Array(16).fill(0x5a));
  assert.ok(a.manager.sessions.includes(session), 'a disconnected session stays listed');
  // The extension host is alive and still serves commands.
  const other = (await vscode.commands.executeCommand('shmemInspector.attachFile', segment(Buffer.alloc(4096, 1)))) as Session;
  assert.equal((await other.remote.read(0, 1))[0], 1);
  await vscode.commands.executeCommand('shmemInspector.detach', other);
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('an agent killed with SIGKILL becomes a disconnect; Reattach starts a new agent', async () => {
  const file = segment(Buffer.alloc(4096, 7));
  const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
  session.setViewport('host-test', { offset: 0, length: 4096 });
  await eventually(() => session.remote.lastBytes.get(0, 16), 'the watched bytes');
  const first = session.remote.agentPid!;
  process.kill(first, 'SIGKILL');
  await eventually(() => session.state === 'disconnected', 'the disconnect');
  assert.match(session.reason!, /killed by SIGKILL/);
  assert.equal(session.remote.lastBytes.get(0, 1)![0], 7);
  await vscode.commands.executeCommand('shmemInspector.reattach', session);
  assert.equal(session.state, 'live');
  assert.notEqual(session.remote.agentPid, first);
  assert.equal((await session.remote.read(0, 1))[0], 7);
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('sessions start read-only; Make Session Read-Write (confirmed) writes in place', async () => {
  const file = segment(Buffer.alloc(4096));
  const ino = fs.statSync(file).ino;
  const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
  await assert.rejects(session.remote.write(0, new Uint8Array([1])), /read-only/);
  assert.equal(fs.readFileSync(file)[0], 0);
  const made = await vscode.commands.executeCommand('shmemInspector.makeReadWrite', session, { confirmed: true });
  assert.equal(made, true);
  assert.equal(session.view().writable, true);
  await session.remote.write(10, new Uint8Array([0xab, 0xcd]));
  assert.deepEqual([...fs.readFileSync(file).subarray(10, 12)], [0xab, 0xcd]);
  assert.equal(fs.statSync(file).ino, ino, 'the write replaced the file instead of writing in place');
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('on hugetlbfs (it refuses pwrite), a read-write session writes through a mapping its agent makes with the installed native library', async () => {
  const mount = hugetlbfsMount();
  assert.ok(mount, 'hugetlbfs could not be mounted');
  try {
    const file = path.join(mount.dir, 'seg');
    const fd = fs.openSync(file, 'w+');
    fs.ftruncateSync(fd, 2 * 1024 * 1024);
    fs.closeSync(fd);
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    assert.equal(await vscode.commands.executeCommand('shmemInspector.makeReadWrite', session, { confirmed: true }), true);
    await session.remote.write(2 * 1024 * 1024 - 6, Buffer.from('huge!!'));
    const got = Buffer.alloc(6);
    const rfd = fs.openSync(file, 'r');
    fs.readSync(rfd, got, 0, 6, 2 * 1024 * 1024 - 6);
    fs.closeSync(rfd);
    assert.equal(got.toString(), 'huge!!');
    // The agent (on this host's Node) loaded koffi's binary from the installed extension.
    const ext = vscode.extensions.getExtension(ID)!;
    const maps = fs.readFileSync(`/proc/${session.remote.agentPid}/maps`, 'utf8');
    const koffi = maps.split('\n').map((l) => l.split(/\s+/).at(-1)!).find((f) => f.endsWith('/koffi.node'));
    assert.ok(koffi, 'the agent has no koffi.node loaded');
    assert.ok(fs.realpathSync(koffi).startsWith(fs.realpathSync(ext.extensionPath)), `koffi.node came from ${koffi}, not from ${ext.extensionPath}`);
    assert.ok(maps.includes(file), 'the agent did not map the hugetlbfs file');
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    // Its agent gone, nothing maps the file: the unmount (without -l) succeeds.
    await eventually(() => {
      try {
        mount.cleanup();
        return true;
      } catch {
        return false;
      }
    }, 'the hugetlbfs mount to be released');
  }
}, { skip: process.getuid?.() === 0 ? undefined : NO_HUGETLBFS });

test('bad input to the commands is an error message, not an exception', async () => {
  const a = await api();
  const before = a.manager.sessions.length;
  assert.equal(await vscode.commands.executeCommand('shmemInspector.attachFile', '/nonexistent/segment'), undefined);
  assert.equal(await vscode.commands.executeCommand('shmemInspector.attachServer', '/nonexistent/socket'), undefined);
  assert.equal(a.manager.sessions.length, before);
  const file = segment(Buffer.alloc(4096));
  const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
  assert.equal(await vscode.commands.executeCommand('shmemInspector.goToOffset', '0x1000'), undefined, 'an offset past the end was accepted');
  assert.equal(await vscode.commands.executeCommand('shmemInspector.goToOffset', '0x10'), 16);
  assert.equal(await vscode.commands.executeCommand('shmemInspector.togglePause', session), 'paused');
  assert.equal(await vscode.commands.executeCommand('shmemInspector.togglePause', session), 'live');
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('Attach ivshmem Server: joins as a peer, the Peers view has the table, Ring reaches the other peer', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-host-ivs-'));
  made.push(dir);
  const socket = path.join(dir, 'ivshmem.sock');
  const cli = path.join(__dirname, '..', '..', '..', '..', 'dist', 'cli', 'main.js');
  const server = await startServer(cli, ['--socket', socket, '--size', '64K', '--vectors', '2']);
  try {
    const first = (await vscode.commands.executeCommand('shmemInspector.attachServer', socket)) as Session;
    const second = (await vscode.commands.executeCommand('shmemInspector.attachServer', `unix:${socket}`)) as Session;
    assert.equal(first.view().kind, 'ivshmem');
    assert.equal(first.view().peerId, 0);
    assert.equal(second.view().peerId, 1);
    await eventually(() => first.table?.peers.some((p) => p.id === 1 && p.vectors === 2), 'peer 1 in the first table');
    await eventually(() => second.table?.interrupts.length === 2, 'the second session\'s own vectors');
    // Ring from the Peers view's item for peer 1, vector 1.
    const rang = await vscode.commands.executeCommand('shmemInspector.ring', { kind: 'peer', session: first, id: 1, vectors: 2 }, 1);
    assert.equal(rang, 1);
    await eventually(() => second.table?.interrupts[1] === 1, 'the interrupt counted on peer 1, vector 1');
    // The memory is shared between the two sessions (and any guest on the server).
    await vscode.commands.executeCommand('shmemInspector.makeReadWrite', first, { confirmed: true });
    await first.remote.write(8, new Uint8Array([0x42]));
    assert.equal((await second.remote.read(8, 1))[0], 0x42);
    await vscode.commands.executeCommand('shmemInspector.detach', first);
    await vscode.commands.executeCommand('shmemInspector.detach', second);
    assert.equal(a.manager.sessions.includes(first), false);
  } finally {
    server.kill('SIGTERM');
  }
}, { skip: socketsUnavailable(process.versions.modules) });

test('(clean-up) every session is detached and the test segments are removed', async () => {
  const a = await api();
  for (const s of [...a.manager.sessions]) await vscode.commands.executeCommand('shmemInspector.detach', s);
  assert.equal(a.manager.sessions.length, 0);
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
