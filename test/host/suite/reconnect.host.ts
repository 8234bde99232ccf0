/** The disconnect / reconnect lifecycle inside the real extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RoleOutcome } from '../../../extension/reconnect';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { answering, api, eventually, watchPanels, type PagePanel } from '../runner/in-host';
import type { ReconnectModel } from '../../../webview/report-protocol';
import { pwrite, tempDir } from '../../helpers/temp';

/** The reconnect report the product opened, once it has shown a preview (with `changed`, if a newer one). */
async function reportShowing(panels: PagePanel[], previewAfter = 0): Promise<{ report: PagePanel; model: ReconnectModel }> {
  return eventually(() => {
    const report = panels.filter((p) => p.viewType === 'shmemInspector.reconnectReport').at(-1);
    if (!report) return undefined;
    // The page says ready when it loads; say it here too, in case no browser draws it.
    if (report.posted.length === 0) report.send({ m: 'note', type: 'ready', body: {} });
    const model = report.lastNote<ReconnectModel>('model');
    return model && model.preview > previewAfter ? { report, model } : undefined;
  }, 'the reconnect report');
}

/**
 * Runs Reconnect as Master / as Peer the way a user does: the command opens the report, the user
 * presses Apply there (here: the message the button sends), and, for master on a read-only
 * session, answers the confirmation.
 */
async function reconnectAs(s: Session, role: 'master' | 'peer'): Promise<RoleOutcome> {
  const watch = watchPanels();
  try {
    const { result } = await answering('Write Back', async () => {
      const running = vscode.commands.executeCommand(role === 'master' ? 'shmemInspector.reconnectMaster' : 'shmemInspector.reconnectPeer', s) as Thenable<RoleOutcome>;
      const { report, model } = await reportShowing(watch.panels);
      report.send({ m: 'note', type: 'apply', body: { role, preview: model.preview } });
      return running;
    });
    return result;
  } finally {
    watch.stop();
  }
}

/**
 * A 16 KiB segment ("at disconnect" at 0x100) in a fresh folder, attached; after `body`, the views
 * closed, the session detached, the folder removed.
 */
async function withSegment(body: (file: string, s: Session, dir: string) => Promise<void>): Promise<void> {
  await api();
  const { dir, cleanup } = tempDir('shmem-host-rc-');
  try {
    const file = path.join(dir, 'seg');
    const b = Buffer.alloc(16384);
    b.write('at disconnect', 0x100);
    fs.writeFileSync(file, b);
    const s = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    await body(file, s, dir);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('shmemInspector.detach', s);
  } finally {
    cleanup();
  }
}

test('disconnect, edit the guest copy, reconnect as peer: the views show the segment, the edit is reported discarded', () =>
  withSegment(async (file, s) => {
    assert.equal(await vscode.commands.executeCommand('shmemInspector.disconnect', s), 'guest');
    assert.equal(s.state.name, 'guest');
    assert.equal(s.view().writable, true, 'the guest copy is editable');
    // The guest edits its copy; meanwhile another process writes into the segment.
    s.writeGuest(0x200, Buffer.from('guest edit'));
    pwrite(file, 0x300, Buffer.from('segment edit'));
    assert.equal(Buffer.from(s.peek(0x200, 10)!).toString(), 'guest edit');
    assert.equal(Buffer.from(s.peek(0x300, 12)!).every((b) => b === 0), true, 'the guest copy follows the segment');
    const outcome = await reconnectAs(s, 'peer');
    assert.equal(outcome.role, 'peer');
    assert.deepEqual(outcome.written, []);
    assert.deepEqual(outcome.discarded.map((r) => [r.offset, r.kind]), [[0x200, 'local']]);
    assert.equal(s.guest, undefined);
    assert.equal(s.state.name, 'live');
    // role=peer wrote nothing: the segment has the other process's edit and not the guest's.
    const now = fs.readFileSync(file);
    assert.equal(now.subarray(0x300, 0x30c).toString(), 'segment edit');
    assert.ok(now.subarray(0x200, 0x20a).every((b) => b === 0));
  }));

test('reconnect as master: the segment becomes the guest copy, in place, verified', () =>
  withSegment(async (file, s) => {
    const ino = fs.statSync(file).ino;
    await vscode.commands.executeCommand('shmemInspector.disconnect', s);
    s.writeGuest(0x200, Buffer.from('guest edit'));
    pwrite(file, 0x300, Buffer.from('segment edit'));
    const guestCopy = Buffer.from(s.guest!.local);
    const outcome = await reconnectAs(s, 'master');
    assert.equal(outcome.verified, true);
    assert.deepEqual(outcome.written, [{ offset: 0x200, length: 10 }, { offset: 0x300, length: 12 }]);
    assert.ok(fs.readFileSync(file).equals(guestCopy), 'the segment does not equal the guest copy');
    assert.equal(fs.statSync(file).ino, ino);
  }));

test('Simulate role=peer Discard (scripted), Save Snapshot As Savevm and Load Snapshot as Loadvm', () =>
  withSegment(async (file, s, dir) => {
    const sim = (await vscode.commands.executeCommand('shmemInspector.simulatePeerDiscard', s, { edits: [{ offset: 0x10, bytes: [1, 2, 3] }] })) as RoleOutcome;
    assert.deepEqual(sim.discarded.map((r) => [r.offset, r.length, r.kind]), [[0x10, 3, 'local']]);
    assert.ok(fs.readFileSync(file).subarray(0x10, 0x13).every((b) => b === 0));
    // savevm: disconnect and write the guest copy at that moment as a snapshot.
    const snap = path.join(dir, 'savevm.shmsnap');
    assert.equal(await vscode.commands.executeCommand('shmemInspector.saveSnapshotAsSavevm', s, snap), snap);
    assert.match((s.state as { cause: string }).cause, /savevm to savevm\.shmsnap/);
    await reconnectAs(s, 'peer');
    // The segment moves on; loadvm brings the saved state back as the guest copy; master restores it.
    pwrite(file, 0x100, Buffer.from('moved on!!!!!'));
    await vscode.commands.executeCommand('shmemInspector.loadSnapshotAsLoadvm', s, snap);
    assert.match((s.state as { cause: string }).cause, /loadvm of savevm\.shmsnap/);
    const outcome = await reconnectAs(s, 'master');
    assert.equal(outcome.verified, true);
    assert.equal(fs.readFileSync(file).subarray(0x100, 0x10d).toString(), 'at disconnect');
    // Bad input: a snapshot of another segment.
    const other = path.join(dir, 'other');
    fs.writeFileSync(other, Buffer.alloc(4096));
    const o = (await vscode.commands.executeCommand('shmemInspector.attachFile', other)) as Session;
    const otherSnap = path.join(dir, 'other.shmsnap');
    await vscode.commands.executeCommand('shmemInspector.takeSnapshot', o, otherSnap);
    assert.equal(await vscode.commands.executeCommand('shmemInspector.loadSnapshotAsLoadvm', s, otherSnap), undefined);
    assert.equal(s.guest, undefined, 'a refused loadvm disconnected the session');
    await vscode.commands.executeCommand('shmemInspector.detach', o);
  }));

test('{ confirmed: true } from any caller skips nothing: Reconnect as Master still waits for Apply in the report (Make Read-Write: read-write.host.ts)', () =>
  withSegment(async (file, s) => {
    await vscode.commands.executeCommand('shmemInspector.disconnect', s);
    s.writeGuest(0x200, Buffer.from('guest edit'));
    const before = fs.readFileSync(file);
    const watch = watchPanels();
    try {
      const running = vscode.commands.executeCommand('shmemInspector.reconnectMaster', s, { confirmed: true });
      const { report } = await reportShowing(watch.panels);
      // Nothing is written until the user applies; they cancel instead.
      assert.ok(fs.readFileSync(file).equals(before), 'the segment was written without an Apply');
      report.send({ m: 'note', type: 'cancel', body: {} });
      assert.equal(await running, undefined);
    } finally {
      watch.stop();
    }
    assert.ok(fs.readFileSync(file).equals(before), 'the segment was written');
    assert.equal(s.state.name, 'guest');
  }));

test('Apply refuses and shows a new preview when the guest copy was edited, or another file is at the path, since the preview', () =>
  withSegment(async (file, s, dir) => {
    await vscode.commands.executeCommand('shmemInspector.disconnect', s);
    s.writeGuest(0x200, Buffer.from('seen'));
    const watch = watchPanels();
    try {
      const { result: outcome, asked } = await answering('Write Back', async () => {
        const running = vscode.commands.executeCommand('shmemInspector.reconnectMaster', s) as Thenable<RoleOutcome>;
        const first = await reportShowing(watch.panels);
        assert.equal(first.model.master.writeBytes, 4);
        // An edit after the preview: what Apply would write is not what the report shows.
        s.writeGuest(0x300, Buffer.from('unseen'));
        first.report.send({ m: 'note', type: 'apply', body: { role: 'master', preview: first.model.preview } });
        const second = await reportShowing(watch.panels, first.model.preview);
        assert.match(second.model.changed ?? '', /guest-side copy was edited since the preview/);
        assert.equal(second.model.master.writeBytes, 10, 'the new preview does not show the edit');
        assert.ok(fs.readFileSync(file).subarray(0x200, 0x204).every((b) => b === 0), 'the refused Apply wrote into the segment');
        // Another file now at the same path (same name, another inode): not the segment previewed.
        fs.writeFileSync(path.join(dir, 'seg.new'), Buffer.alloc(16384, 0x77));
        fs.renameSync(path.join(dir, 'seg.new'), file);
        // The user attaches again (the guest copy stays), to the file that is there now.
        await vscode.commands.executeCommand('shmemInspector.reattach', s);
        assert.equal(s.state.name, 'guest');
        second.report.send({ m: 'note', type: 'apply', body: { role: 'master', preview: second.model.preview } });
        const third = await reportShowing(watch.panels, second.model.preview);
        assert.match(third.model.changed ?? '', /another one now/);
        assert.ok(fs.readFileSync(file).every((b) => b === 0x77), 'the replacement file was written without a preview of it');
        // Applied on what it shows now: written.
        third.report.send({ m: 'note', type: 'apply', body: { role: 'master', preview: third.model.preview } });
        return running;
      });
      assert.equal(asked.length, 1, 'the read-only session was made writable without asking');
      assert.equal(outcome.verified, true);
      assert.ok(fs.readFileSync(file).equals(Buffer.from(s.peek(0, 16384) ?? [])), 'the segment is not the guest copy');
      assert.equal(fs.readFileSync(file).subarray(0x300, 0x306).toString(), 'unseen');
    } finally {
      watch.stop();
    }
  }));
