/**
 * Runs in code-server's extension host with workspace trust on and the folder untrusted (Restricted
 * Mode). The folder's .vscode/settings.json names a file and a socket in shmemInspector.autoAttach
 * and a layout in shmemInspector.defaultLayout (test/host/host.test.ts writes it): none of them
 * may be acted on. What the user does by hand still works, read-only.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { api } from '../runner/in-host';

test('Restricted Mode: the extension is active, and autoAttach attached nothing', async () => {
  assert.equal(vscode.workspace.isTrusted, false, 'the workspace is trusted: this run proves nothing');
  const settings = vscode.workspace.getConfiguration('shmemInspector');
  const named = settings.get<string[]>('autoAttach') ?? [];
  assert.equal(named.length, 2, 'the folder settings were not applied: this run proves nothing');
  assert.ok(fs.existsSync(named[0]!), 'the file the settings name does not exist');
  // (api() fails when the extension is missing or its activation fails)
  const a = await api();
  // autoAttach runs at activation and takes well under a second when it acts: give it ample time.
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(a.sessions.map((s) => s.remote.source), []);
  assert.equal([...a.hexViews].length, 0, 'a hex view was opened');
});

test('Restricted Mode: a file the user attaches opens read-only, without the default layout', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-restricted-'));
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(1 << 20));
  try {
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    assert.ok(session, 'attach by hand failed in Restricted Mode');
    assert.equal(session.remote.info.writable, false);
    assert.equal(session.layout, undefined, 'shmemInspector.defaultLayout was applied in an untrusted workspace');
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
