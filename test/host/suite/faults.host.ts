/**
 * Faults and trust boundaries inside code-server's real extension host: 100 fault cycles with
 * counts of what the host holds, and the host-side checks that a webview or a dismissed dialog
 * cannot get past.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { HexPanel } from '../../../extension/hex-panel';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { api, eventually, ID, startServer } from '../runner/in-host';
import { childrenOf, mappingsOf, openFds } from '../../helpers/temp';
import { CLI } from '../../helpers/cli';


const children = (): number[] => childrenOf(process.pid);

const FAULTS = ['truncate', 'delete', 'replace', 'sigkill', 'server'] as const;

test('100 fault cycles in the extension host: each a disconnect with last bytes kept; no agent, fd or mapping left over', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-faults-'));
  let fds0 = 0;
  const kids0 = children().length;
  try {
    for (let i = 0; i < 100; i++) {
      // The baseline follows a first cycle: VS Code and libuv open some fds lazily, for good.
      if (i === 1) fds0 = openFds();
      const fault = FAULTS[i % FAULTS.length]!;
      const fill = (i % 250) + 1;
      let source: string;
      let server: ReturnType<typeof spawn> | undefined;
      const file = path.join(dir, `seg-${i}`);
      if (fault === 'server') {
        const socket = path.join(dir, `s-${i}.sock`);
        server = await startServer(CLI, ['--socket', socket, '--size', '64K', '--vectors', '1']);
        source = `unix:${socket}`;
      } else {
        fs.writeFileSync(file, Buffer.alloc(65536, fill));
        source = file;
      }
      const session: Session = await a.attach(source);
      session.setViewport('fault-test', { offset: 0, length: 4096 });
      const kept = await eventually(() => session.remote.lastBytes.get(0, 16), `cycle ${i}: the watched bytes`);
      if (fault === 'truncate') fs.truncateSync(file, 100);
      else if (fault === 'delete') fs.unlinkSync(file);
      else if (fault === 'replace') {
        fs.writeFileSync(`${file}.new`, Buffer.alloc(65536, 0xee));
        fs.renameSync(`${file}.new`, file);
      } else if (fault === 'sigkill') process.kill(session.remote.agentPid!, 'SIGKILL');
      else server!.kill('SIGKILL');
      await eventually(() => session.state.name === 'lost', `cycle ${i} (${fault}): the disconnect`, 15_000);
      assert.ok((session.state as { reason?: string }).reason, `cycle ${i}: no reason given`);
      assert.deepEqual([...session.remote.lastBytes.get(0, 16)!], [...kept], `cycle ${i}: the last bytes were not kept`);
      await vscode.commands.executeCommand('shmemInspector.detach', session);
      if (server && server.exitCode === null && server.signalCode === null) await new Promise((r) => server!.once('exit', r));
    }
    // Agents exit on their own schedule after close: allow them a moment.
    await eventually(() => children().length <= kids0, `agents to exit (${children().length} children, ${kids0} before)`, 15_000);
    // The pipes of an exited agent close a loop turn or more after its 'exit': poll, not sleep.
    await eventually(() => openFds() <= fds0, `the extension host's fds back to ${fds0} after 100 cycles (now ${openFds()})`, 5000);
    assert.equal(mappingsOf(dir), 0, 'the extension host mapped a segment');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 180_000 }); // 100 agents started and lost: about a minute on an idle 2-core VM

/** A hex panel whose posts to its webview are captured, and a way to play the webview's part. */
function asWebview(panel: HexPanel): { posted: unknown[]; send: (m: unknown) => Promise<void> } {
  const webview = panel.panel.webview as { postMessage: (m: unknown) => Thenable<boolean> };
  const posted: unknown[] = [];
  const original = webview.postMessage.bind(webview);
  webview.postMessage = (m: unknown) => {
    posted.push(m);
    return original(m);
  };
  const server = (panel as unknown as { server: { receive: (m: unknown) => Promise<void> } }).server;
  return { posted, send: (m) => server.receive(m) };
}

test('a webview page gets a strict CSP and only our files; it cannot write into a read-only session (refused host-side); malformed requests get an error reply', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-host-webview-'));
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(4096, 0x11));
  try {
    const session = await a.attach(file);
    const panel = (await vscode.commands.executeCommand('shmemInspector.openView', session)) as HexPanel;
    // The page may run our one script and nothing else, and load only our files.
    const html = panel.panel.webview.html;
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]{16,}'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    // Sources other than 'none', the nonce and VS Code's own resource origin (webview.cspSource): none.
    const others = csp.split(';').flatMap((d) => d.trim().split(/\s+/).slice(1)).filter((src) => src !== "'none'" && !src.startsWith("'nonce-") && !panel.panel.webview.cspSource.split(' ').includes(src));
    assert.deepEqual(others, []);
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    assert.equal((html.match(/<script /g) ?? []).length, 1);
    assert.ok(html.includes(`<script nonce="${nonce}"`), 'the script does not carry the nonce');
    const home = vscode.extensions.getExtension(ID)!.extensionUri.fsPath;
    const roots = (panel.panel.webview.options.localResourceRoots ?? []).map((u) => path.relative(home, u.fsPath)).sort();
    assert.deepEqual(roots, ['dist/webview', 'media']);
    const other = (await vscode.commands.executeCommand('shmemInspector.openView', await a.attach(file))) as HexPanel;
    assert.notEqual(/'nonce-([^']+)'/.exec(other.panel.webview.html)?.[1], nonce, 'two panels share a nonce');
    await vscode.commands.executeCommand('shmemInspector.detach', other.session);
    const webview = asWebview(panel);
    // What a compromised webview could send: a well-formed write to a read-only session.
    await webview.send({ m: 'request', id: 41, type: 'write', params: { offset: 0, bytes: new Uint8Array([0xde, 0xad]) } });
    const reply = webview.posted.find((m) => (m as { id?: number }).id === 41) as { ok: boolean; code?: string; message?: string };
    assert.equal(reply?.ok, false, JSON.stringify(reply));
    // The kind reaches the view (it reacts to it); the message is for the person.
    assert.equal(reply.code, 'input');
    assert.match(reply.message!, /read-only/);
    assert.deepEqual([...fs.readFileSync(file).subarray(0, 2)], [0x11, 0x11], 'the segment was written');
    // Malformed: a write past the end, bytes that are not bytes, an unknown request.
    await webview.send({ m: 'request', id: 42, type: 'read', params: { offset: 2 ** 60, length: 16 } });
    await webview.send({ m: 'request', id: 43, type: 'write', params: { offset: 0, bytes: 'AAAA' } });
    await webview.send({ m: 'request', id: 44, type: 'exec', params: { command: 'rm -rf /' } });
    for (const id of [42, 43, 44]) {
      const r = webview.posted.find((m) => (m as { id?: number }).id === id) as { ok: boolean; code?: string } | undefined;
      assert.equal(r?.ok, false, `request ${id} got no error reply: ${JSON.stringify(r)}`);
      assert.equal(r?.code, 'input');
    }
    assert.deepEqual([...fs.readFileSync(file).subarray(0, 2)], [0x11, 0x11]);
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a *.shmsnap that is a FIFO or a socket is refused by the snapshot editor at once, never opened', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-host-notsnap-'));
  const fifo = path.join(dir, 'pipe.shmsnap');
  const socket = path.join(dir, 'server.shmsnap');
  try {
    await new Promise<void>((resolve, reject) => spawn('mkfifo', [fifo]).once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`mkfifo ${c}`)))));
    const server = await startServer(CLI, ['--socket', socket, '--size', '64K']);
    try {
      const before = a.sessions.length;
      for (const target of [fifo, socket]) {
        const started = Date.now();
        await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(target), 'shmemInspector.snapshot').then(
          () => undefined,
          () => undefined,
        );
        assert.ok(Date.now() - started < 10_000, `${target} took ${Date.now() - started} ms to be refused`);
        assert.equal(a.sessions.length, before, `${target} was attached`);
      }
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    } finally {
      server.kill('SIGTERM');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
