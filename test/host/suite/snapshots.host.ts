/** Snapshots and diffs inside the real extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Session } from '../../../extension/session';
import type { DiffModel } from '../../../webview/diff-protocol';
import { test } from '../runner/harness';
import { api, eventually, productVscode, watchPanels } from '../runner/in-host';

test('Take Snapshot, open it in the snapshot editor, compare it with live, export raw bytes', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-snap-'));
  try {
    const file = path.join(dir, 'seg');
    const data = Buffer.alloc(65536);
    data.write('before', 0x100);
    fs.writeFileSync(file, data);
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    const snap = path.join(dir, 'before.shmsnap');
    const taken = (await vscode.commands.executeCommand('shmemInspector.takeSnapshot', session, snap, { consistent: true })) as { path: string; checked: boolean; torn: unknown[] };
    assert.equal(taken.path, snap);
    assert.equal(taken.checked, true);
    assert.deepEqual(taken.torn, []);
    assert.ok(fs.statSync(snap).size > 65536);
    // Taking it again to the same name (given by code, not a save dialog) is refused, file kept.
    assert.equal(await vscode.commands.executeCommand('shmemInspector.takeSnapshot', session, snap), undefined);

    // Another process changes the live segment.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('after!'), 0, 6, 0x100);
    fs.writeSync(fd, Buffer.from([7]), 0, 1, 0x8000);
    fs.closeSync(fd);
    const diff = (await vscode.commands.executeCommand('shmemInspector.compareWithLive', session, snap)) as DiffModel;
    // "before" -> "after!": the fifth letter (r) is the same on both sides.
    assert.deepEqual(diff.ranges, [{ offset: 0x100, length: 4 }, { offset: 0x105, length: 1 }, { offset: 0x8000, length: 1 }]);
    assert.equal(diff.a.source, snap);
    assert.equal(diff.b.live, true);

    // The snapshot in its custom editor: a read-only session of kind snapshot, still "before".
    await vscode.commands.executeCommand('shmemInspector.openSnapshot', snap);
    const opened = await eventually(() => a.sessions.find((s) => s.remote.source === snap), 'the snapshot session');
    assert.equal(opened.view().kind, 'snapshot');
    assert.equal(opened.view().writable, false);
    assert.equal(Buffer.from(await opened.remote.read(0x100, 6)).toString(), 'before');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await eventually(() => !a.sessions.includes(opened), 'the snapshot session to end with its editor');

    // Two snapshots compared.
    const snap2 = path.join(dir, 'after.shmsnap');
    await vscode.commands.executeCommand('shmemInspector.takeSnapshot', session, snap2);
    const watch = watchPanels();
    let both: DiffModel;
    try {
      both = (await vscode.commands.executeCommand('shmemInspector.compareSnapshots', snap, snap2)) as DiffModel;
      // "Show in A's hex view" for a snapshot side (the page offers it only for live sides): a
      // user error with its kind, not an internal error.
      const view = watch.panels.find((p) => p.viewType === 'shmemInspector.diffView')!;
      view.send({ m: 'request', id: 5, type: 'reveal', params: { side: 'a', offset: 0x100, length: 4 } });
      const reply = await eventually(() => view.posted.find((m) => (m as { m?: string; id?: number }).m === 'reply' && (m as { id: number }).id === 5) as { ok: boolean; code?: string; message?: string } | undefined, 'the reveal reply');
      assert.equal(reply.ok, false);
      assert.equal(reply.code, 'input');
      assert.match(reply.message ?? '', /side A is a snapshot/);
    } finally {
      watch.stop();
    }
    assert.deepEqual(both.ranges, diff.ranges);
    assert.equal(both.b.live, false);

    // Export Raw Bytes: exactly the bytes, atomically.
    const raw = path.join(dir, 'raw.bin');
    assert.equal(await vscode.commands.executeCommand('shmemInspector.exportRaw', session, raw, { offset: 0x100, length: 16 }), raw);
    assert.deepEqual(fs.readFileSync(raw), fs.readFileSync(file).subarray(0x100, 0x110));
    assert.equal(await vscode.commands.executeCommand('shmemInspector.exportRaw', session, path.join(dir, 'x.bin'), { offset: 65530, length: 16 }), undefined, 'a range past the end was exported');
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), []);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged snapshot opened in the snapshot editor is attached once and warned about once, naming its bad range', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-damaged-'));
  const window = productVscode().window as unknown as { showWarningMessage: (...args: unknown[]) => Thenable<unknown> };
  const original = window.showWarningMessage;
  const warned: string[] = [];
  window.showWarningMessage = (message: unknown, ...rest: unknown[]) => {
    warned.push(String(message));
    return original(message, ...rest);
  };
  try {
    const file = path.join(dir, 'seg');
    fs.writeFileSync(file, Buffer.alloc(65536, 0x5a));
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    const snap = path.join(dir, 'damaged.shmsnap');
    await vscode.commands.executeCommand('shmemInspector.takeSnapshot', session, snap);
    await vscode.commands.executeCommand('shmemInspector.detach', session);
    // Flip one bit of the data, past the header (its length is at byte 12).
    const fd = fs.openSync(snap, 'r+');
    const head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    fs.writeSync(fd, Buffer.from([0x5a ^ 1]), 0, 1, head.readUInt32LE(12) + 0x100);
    fs.closeSync(fd);
    await vscode.commands.executeCommand('shmemInspector.openSnapshot', vscode.Uri.file(snap));
    await eventually(() => warned.some((w) => w.includes('damaged.shmsnap is damaged')), 'the damaged-snapshot warning');
    // Whatever VS Code does while the editor settles, one session and one warning.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(warned.filter((w) => w.includes('damaged.shmsnap')), ['damaged.shmsnap is damaged: the data at 0x0..0x10000 does not match its checksum: the bytes there are not shown.']);
    assert.equal(a.sessions.filter((s) => s.remote.source === snap).length, 1, 'the snapshot was attached more than once');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  } finally {
    window.showWarningMessage = original;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
