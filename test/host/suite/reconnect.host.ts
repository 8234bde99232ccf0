/** The disconnect / reconnect lifecycle inside the real extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RoleOutcome } from '../../../extension/reconnect';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { api } from '../runner/in-host';
import { pwrite, tempDir } from '../../helpers/temp';

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
    assert.equal(await vscode.commands.executeCommand('shmemInspector.disconnect', s), 'disconnected');
    assert.equal(s.view().guestCopy, true);
    assert.equal(s.view().writable, true, 'the guest copy is editable');
    // The guest edits its copy; meanwhile another process writes into the segment.
    s.writeGuest(0x200, Buffer.from('guest edit'));
    pwrite(file, 0x300, Buffer.from('segment edit'));
    assert.equal(Buffer.from(s.peek(0x200, 10)!).toString(), 'guest edit');
    assert.equal(Buffer.from(s.peek(0x300, 12)!).every((b) => b === 0), true, 'the guest copy follows the segment');
    const outcome = (await vscode.commands.executeCommand('shmemInspector.reconnectPeer', s, { confirmed: true })) as RoleOutcome;
    assert.equal(outcome.role, 'peer');
    assert.deepEqual(outcome.written, []);
    assert.deepEqual(outcome.discarded.map((r) => [r.offset, r.kind]), [[0x200, 'local']]);
    assert.equal(s.guest, undefined);
    assert.equal(s.view().state, 'live');
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
    const outcome = (await vscode.commands.executeCommand('shmemInspector.reconnectMaster', s, { confirmed: true })) as RoleOutcome;
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
    assert.match(s.guest!.cause, /savevm to savevm\.shmsnap/);
    await vscode.commands.executeCommand('shmemInspector.reconnectPeer', s, { confirmed: true });
    // The segment moves on; loadvm brings the saved state back as the guest copy; master restores it.
    pwrite(file, 0x100, Buffer.from('moved on!!!!!'));
    await vscode.commands.executeCommand('shmemInspector.loadSnapshotAsLoadvm', s, snap);
    assert.match(s.guest!.cause, /loadvm of savevm\.shmsnap/);
    const outcome = (await vscode.commands.executeCommand('shmemInspector.reconnectMaster', s, { confirmed: true })) as RoleOutcome;
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
