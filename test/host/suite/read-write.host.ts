/**
 * What needs the user's yes before a write into a live segment. The dialogs are answered here, in
 * the tests (runner/in-host.ts answering, on the product's own vscode API object): the product
 * has no argument that skips them.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { answering, api, eventually, ID, startServer } from '../runner/in-host';
import { NO_HUGETLBFS, hugetlbfsMount } from '../../helpers/hugetlbfs';
import { tempDir } from '../../helpers/temp';
import { CLI } from '../../helpers/cli';

/** A backing file of `bytes` in a fresh folder, attached (read-only, as every session starts); then detached and removed. */
async function withFile(bytes: Buffer, body: (file: string, session: Session) => Promise<void>): Promise<void> {
  await api();
  const { dir, cleanup } = tempDir('shmem-host-rw-');
  try {
    const file = path.join(dir, 'seg');
    fs.writeFileSync(file, bytes);
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    await body(file, session);
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    cleanup();
  }
}

test('sessions start read-only; Make Session Read-Write (the user confirms) writes in place', () =>
  withFile(Buffer.alloc(4096), async (file, session) => {
    const ino = fs.statSync(file).ino;
    await assert.rejects(session.remote.write(0, new Uint8Array([1])), /read-only/);
    assert.equal(fs.readFileSync(file)[0], 0);
    const { result: made, asked } = await answering('Make Read-Write', () => vscode.commands.executeCommand('shmemInspector.makeReadWrite', session));
    assert.equal(made, true);
    assert.equal(asked.length, 1);
    assert.equal(session.view().writable, true);
    await session.remote.write(10, new Uint8Array([0xab, 0xcd]));
    assert.deepEqual([...fs.readFileSync(file).subarray(10, 12)], [0xab, 0xcd]);
    assert.equal(fs.statSync(file).ino, ino, 'the write replaced the file instead of writing in place');
  }));

test('dismissing the Make Session Read-Write confirmation leaves the session read-only; { confirmed: true } from any caller skips nothing', () =>
  withFile(Buffer.alloc(4096, 0x22), async (file, session) => {
    // The user presses Escape; then a caller passes the old test hook, as any extension could.
    for (const args of [[session], [session, { confirmed: true }]]) {
      const { result, asked } = await answering(undefined, () => vscode.commands.executeCommand('shmemInspector.makeReadWrite', ...args));
      assert.equal(result, false);
      assert.equal(asked.length, 1, 'no confirmation was asked');
      assert.match(asked[0]!, /read-write/);
    }
    assert.equal(session.remote.info.writable, false, 'the session became read-write without a yes');
    await assert.rejects(session.remote.write(0, new Uint8Array([1])), /read-only/);
    assert.equal(fs.readFileSync(file)[0], 0x22);
  }));

test('two peers of one ivshmem server share its memory: a write through one (made read-write, confirmed) is read through the other', async () => {
  await api();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-host-ivs-rw-'));
  const socket = path.join(dir, 'ivshmem.sock');
  const server = await startServer(CLI, ['--socket', socket, '--size', '64K', '--vectors', '1']);
  try {
    const first = (await vscode.commands.executeCommand('shmemInspector.attachServer', socket)) as Session;
    const second = (await vscode.commands.executeCommand('shmemInspector.attachServer', socket)) as Session;
    const { asked } = await answering('Make Read-Write', () => vscode.commands.executeCommand('shmemInspector.makeReadWrite', first));
    assert.equal(asked.length, 1);
    await eventually(() => first.remote.info.writable, 'the read-write session');
    await first.remote.write(8, new Uint8Array([0x42]));
    assert.equal((await second.remote.read(8, 1))[0], 0x42);
    await vscode.commands.executeCommand('shmemInspector.detach', first);
    await vscode.commands.executeCommand('shmemInspector.detach', second);
  } finally {
    server.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
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
    const { result: made } = await answering('Make Read-Write', () => vscode.commands.executeCommand('shmemInspector.makeReadWrite', session));
    assert.equal(made, true);
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
