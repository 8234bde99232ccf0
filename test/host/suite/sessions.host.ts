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
import { api, eventually, startServer } from '../runner/in-host';

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
  assert.ok(Array.isArray(a.sessions));
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
  assert.equal(session.state.name, 'live');
  assert.equal(session.view().writable, false, 'sessions start read-only');
  assert.ok([...a.hexViews].some((p) => p.session === session), 'no hex panel was opened');
  const bytes = await session.remote.read(100, 24);
  assert.equal(Buffer.from(bytes).toString(), 'hello from the host test');
  // The extension host never maps the segment (and on tmpfs, neither does its agent: pread/pwrite).
  assert.equal(fs.readFileSync('/proc/self/maps', 'utf8').includes(file), false);
  const agent = session.remote.agentPid!;
  await vscode.commands.executeCommand('shmemInspector.detach', session);
  assert.equal(a.sessions.includes(session), false);
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
  await eventually(() => session.state.name === 'lost', 'the disconnect');
  // Checked before each sample; a truncation between the check and the read is a short pread.
  assert.match((session.state as { reason: string }).reason, /truncated from 8192 to 10 bytes$/);
  assert.deepEqual([...session.remote.lastBytes.get(0, 16)!], Array(16).fill(0x5a));
  assert.ok(a.sessions.includes(session), 'a disconnected session stays listed');
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
  await eventually(() => session.state.name === 'lost', 'the disconnect');
  assert.match((session.state as { reason: string }).reason, /killed by SIGKILL/);
  assert.equal(session.remote.lastBytes.get(0, 1)![0], 7);
  await vscode.commands.executeCommand('shmemInspector.reattach', session);
  assert.equal(session.state.name, 'live');
  assert.notEqual(session.remote.agentPid, first);
  assert.equal((await session.remote.read(0, 1))[0], 7);
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('bad input to the commands is an error message, not an exception', async () => {
  const a = await api();
  const before = a.sessions.length;
  assert.equal(await vscode.commands.executeCommand('shmemInspector.attachFile', '/nonexistent/segment'), undefined);
  assert.equal(await vscode.commands.executeCommand('shmemInspector.attachServer', '/nonexistent/socket'), undefined);
  assert.equal(a.sessions.length, before);
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
    // (That a write by one is read by the other: read-write.host.ts.)
    await vscode.commands.executeCommand('shmemInspector.detach', first);
    await vscode.commands.executeCommand('shmemInspector.detach', second);
    assert.equal(a.sessions.includes(first), false);
  } finally {
    server.kill('SIGTERM');
  }
});

test('a watch that fails for another reason than a disconnect pauses the view with its reason (not a silent freeze); Resume watches again', async () => {
  const a = await api();
  const file = segment(Buffer.alloc(8192, 3));
  const session = await a.attach(file);
  const remote = session.remote as unknown as { watch: (...args: unknown[]) => Promise<Uint8Array[]> };
  const watch = remote.watch;
  remote.watch = async () => {
    throw new Error('the agent refused the watch');
  };
  session.setViewport('host-test', { offset: 0, length: 4096 });
  const state = await eventually(() => (session.state.name === 'paused' ? session.state : undefined), 'the paused state');
  assert.match(state.reason ?? '', /the watch failed: the agent refused the watch/);
  assert.equal(session.view().state.name, 'paused', 'the views are not told');
  delete (remote as { watch?: unknown }).watch;
  assert.equal(remote.watch, watch);
  assert.equal(await vscode.commands.executeCommand('shmemInspector.togglePause', session), 'live');
  await eventually(() => session.remote.lastBytes.get(0, 16), 'the watched bytes after Resume');
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('a listener that throws does not stop the others: a session state change still reaches the views and the manager', async () => {
  const a = await api();
  const session = await a.attach(segment(Buffer.alloc(4096)));
  const seen: string[] = [];
  const subs = [
    session.onDidChangeState(() => {
      throw new Error('a listener that throws');
    }),
    session.onDidChangeState((s) => void seen.push(`session:${s.name}`)),
    a.onDidChange(() => void seen.push('manager')),
  ];
  try {
    session.pause();
    assert.deepEqual(seen.sort(), ['manager', 'session:paused']);
  } finally {
    subs.forEach((d) => d.dispose());
  }
  await vscode.commands.executeCommand('shmemInspector.detach', session);
});

test('(clean-up) every session is detached and the test segments are removed', async () => {
  const a = await api();
  for (const s of [...a.sessions]) await vscode.commands.executeCommand('shmemInspector.detach', s);
  assert.equal(a.sessions.length, 0);
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
