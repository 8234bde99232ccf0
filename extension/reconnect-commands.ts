import * as path from 'node:path';
import * as vscode from 'vscode';
import { RemoteSession } from '../agent/remote-session';
import { InputError, SourceLostError } from '../core/errors';
import { writeSnapshot } from '../core/snapshot/writer';
import { MemorySource } from '../core/sources/memory-source';
import type { Log } from './log';
import type { Register } from './commands';
import { applyRole, changedSince, preview, ReportPanel, type Preview, type RoleOutcome } from './reconnect';
import type { Session } from './session';
import type { SessionManager } from './session-manager';

/**
 * Disconnect, Reconnect as Master…, Reconnect as Peer…, Simulate role=peer Discard, Load Snapshot as
 * Loadvm, Save Snapshot As Savevm: the session lifecycle QEMU's role=master|peer question is about.
 */
export function registerReconnectCommands(context: vscode.ExtensionContext, manager: SessionManager, log: Log, register: Register): void {
  const disconnect = async (s: Session, cause: string): Promise<void> => {
    const state = s.state;
    if (state.name === 'guest') throw new InputError(`${s.remote.source} is already disconnected`);
    if (state.name === 'lost') throw new InputError(`${s.remote.source} lost its source (${state.reason}): use Reattach`);
    const bytes = await s.readAll();
    s.enterGuestCopy(bytes, bytes.slice(), cause);
    log.info(`${s.remote.source}: ${cause}`);
  };

  register('shmemInspector.disconnect', async (args) => {
    const s = args.session(0);
    await disconnect(s, 'disconnected by the user');
    return s.state.name;
  });

  /** Shows the outcome in the report and the log. */
  const done = (s: Session, panel: ReportPanel, p: Preview, outcome: RoleOutcome): RoleOutcome => {
    const discardedBytes = outcome.discarded.reduce((n, r) => n + r.length, 0);
    panel.show({ ...p.model, result: { role: outcome.role, written: outcome.written.length, verified: outcome.verified, discardedBytes, ...(outcome.error ? { error: outcome.error } : {}) } });
    log.info(`${s.remote.source}: reconnected as ${outcome.role}: ${outcome.written.length} range(s) written, ${discardedBytes} byte(s) discarded${outcome.error ? `; stopped: ${outcome.error}` : ''}`);
    return outcome;
  };

  /**
   * Previews the three-way diff in the report; the user applies a role there. Apply goes ahead only
   * while what the report shows still holds (changedSince): otherwise it is refused, and the report
   * shows the new preview with the reason, to be applied again. Master writes into the segment, so
   * a read-only session asks first (always: no argument skips it).
   */
  const reconnect = async (s: Session): Promise<RoleOutcome | undefined> => {
    let shown = await preview(s);
    const panel = ReportPanel.open(shown.model, log, context.extensionUri);
    context.subscriptions.push(panel);
    for (;;) {
      const choice = await panel.choose();
      if (!choice) {
        log.info(`${s.remote.source}: reconnect cancelled; still disconnected`);
        return undefined;
      }
      // A click on a page that had not yet drawn the newest preview: show it again.
      if (choice.preview !== shown.model.preview) {
        panel.show(shown.model);
        continue;
      }
      if (choice.role === 'master' && !s.remote.info.writable) {
        if (!(await log.confirm(`role=master writes the guest copy back into ${s.remote.source} (${shown.model.master.writeBytes} byte(s) in place). Continue?`, 'Write Back'))) continue;
        await manager.reattach(s, true);
      }
      // What the segment and the guest copy are now, just before writing.
      let now: Preview;
      try {
        now = await preview(s);
      } catch (err) {
        // No longer disconnected (another report applied), or the segment is gone: nothing to apply.
        if (!(err instanceof InputError || err instanceof SourceLostError)) throw err;
        panel.show({ ...shown.model, changed: err.message });
        log.report(err, `reconnecting ${s.remote.source}`);
        continue;
      }
      const changed = changedSince(shown, now, choice.role);
      if (changed) {
        log.info(`${s.remote.source}: role=${choice.role} not applied: ${changed}; showing a new preview`);
        shown = now;
        panel.show({ ...now.model, changed });
        continue;
      }
      return done(s, panel, now, await applyRole(s, now, choice.role));
    }
  };

  register('shmemInspector.reconnectMaster', async (args) => reconnect(args.session(0)));
  register('shmemInspector.reconnectPeer', async (args) => reconnect(args.session(0)));
  // The report's buttons choose the role; the two commands are the two ways to the same report.

  register('shmemInspector.simulatePeerDiscard', async (args) => {
    const s = args.session(0);
    const edits = args.edits(1);
    await disconnect(s, 'disconnected to simulate role=peer');
    if (!edits) {
      log.notify(`${path.basename(s.remote.source)} is disconnected. Edit the guest-side copy in the hex view as the guest would, then run "Reconnect as Peer" to see what role=peer throws away.`);
      return undefined;
    }
    // Scripted: the guest's edits, then role=peer at once. role=peer writes nothing into the
    // segment, so there is nothing to confirm; the report shows what was thrown away.
    for (const e of edits) s.writeGuest(e.offset, e.bytes);
    const p = await preview(s);
    const panel = ReportPanel.open(p.model, log, context.extensionUri);
    context.subscriptions.push(panel);
    return done(s, panel, p, await applyRole(s, p, 'peer'));
  });

  register('shmemInspector.loadSnapshotAsLoadvm', async (args) => {
    const s = args.session(0);
    if (s.state.name === 'guest') throw new InputError(`${s.remote.source} is already disconnected`);
    const snap = args.path(1) ?? (await vscode.window.showOpenDialog({ title: 'Load Snapshot as Loadvm', filters: { 'Shared memory snapshots': ['shmsnap'] } }))?.[0]?.fsPath;
    if (!snap) return undefined;
    const r = await RemoteSession.attach(snap);
    try {
      if (r.info.kind !== 'snapshot') throw new InputError(`${snap} is not a snapshot`);
      if (r.info.size !== s.remote.info.size) throw new InputError(`${snap} holds ${r.info.size} bytes, the segment ${s.remote.info.size}: a snapshot of a different segment`);
      const bytes = await r.read(0, r.info.size);
      // After loadvm the guest holds the snapshot; at savevm time, guest and segment agreed on it.
      s.enterGuestCopy(bytes, bytes.slice(), `loadvm of ${path.basename(snap)}`);
    } finally {
      await r.close();
    }
    return s.state.name;
  });

  register('shmemInspector.saveSnapshotAsSavevm', async (args) => {
    const s = args.session(0);
    let target = args.path(1);
    if (!target) target = (await vscode.window.showSaveDialog({ title: 'Save Snapshot As Savevm', filters: { 'Shared memory snapshots': ['shmsnap'] } }))?.fsPath;
    if (!target) return undefined;
    // The save dialog already asked about replacing an existing file.
    const force = args.path(1) === undefined;
    await disconnect(s, `savevm to ${path.basename(target)}`);
    // The snapshot is the guest-side copy at the disconnect: exactly what reconnect compares with.
    await writeSnapshot(new MemorySource(s.guest!.base, s.remote.source, false, s.remote.info.identity), { target, force, layout: s.layout?.text, peerId: s.remote.info.peerId });
    return target;
  });
}
