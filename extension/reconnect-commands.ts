import * as path from 'node:path';
import * as vscode from 'vscode';
import { RemoteSession } from '../agent/remote-session';
import { InputError } from '../core/errors';
import type { Role } from '../core/reconnect/roles';
import { writeSnapshot } from '../core/snapshot/writer';
import { MemorySource } from '../core/sources/memory-source';
import type { Log } from './log';
import { applyRole, preview, ReportPanel, type RoleOutcome } from './reconnect';
import type { Session } from './session';
import type { SessionManager } from './session-manager';

type Register = (id: string, fn: (...args: unknown[]) => Promise<unknown>) => void;

interface Options {
  /** Apply without asking (tests, scripts). */
  confirmed?: boolean;
}

/**
 * Disconnect, Reconnect as Master…, Reconnect as Peer…, Simulate role=peer Discard, Load Snapshot as
 * Loadvm, Save Snapshot As Savevm: the session lifecycle QEMU's role=master|peer question is about.
 */
export function registerReconnectCommands(context: vscode.ExtensionContext, manager: SessionManager, log: Log, register: Register, sessionArg: (arg: unknown) => Session): void {
  const disconnect = async (s: Session, cause: string): Promise<void> => {
    if (s.guest) throw new InputError(`${s.remote.source} is already disconnected`);
    if (s.state === 'disconnected') throw new InputError(`${s.remote.source} lost its source (${s.reason}): use Reattach`);
    const bytes = await s.readAll();
    s.enterGuestCopy(bytes, bytes.slice(), cause);
    log.info(`${s.remote.source}: ${cause}`);
  };

  register('shmemInspector.disconnect', async (arg) => {
    const s = sessionArg(arg);
    await disconnect(s, 'disconnected by the user');
    return s.view().state;
  });

  /** Previews the three-way diff in the report, then applies the chosen (or given) role. */
  const reconnect = async (s: Session, wanted: Role | undefined, options: Options): Promise<RoleOutcome | undefined> => {
    const p = await preview(s);
    const panel = ReportPanel.open(p.model, log, context.extensionUri);
    context.subscriptions.push(panel);
    let role: Role | undefined = wanted;
    if (!options.confirmed) {
      role = await panel.choose();
      if (!role) {
        log.info(`${s.remote.source}: reconnect cancelled; still disconnected`);
        return undefined;
      }
      if (role === 'master' && !s.remote.info.writable) {
        const ok = await vscode.window.showWarningMessage(
          `role=master writes the guest copy back into ${s.remote.source} (${p.model.master.writeBytes} byte(s) in place). Continue?`,
          { modal: true },
          'Write Back',
        );
        if (ok !== 'Write Back') return undefined;
      }
    }
    if (role === 'master' && !s.remote.info.writable) await manager.reattach(s, true);
    const outcome = await applyRole(s, p, role!);
    const discardedBytes = outcome.discarded.reduce((n, r) => n + r.length, 0);
    panel.show({ ...p.model, result: { role: outcome.role, written: outcome.written.length, verified: outcome.verified, discardedBytes, ...(outcome.error ? { error: outcome.error } : {}) } });
    log.info(`${s.remote.source}: reconnected as ${outcome.role}: ${outcome.written.length} range(s) written, ${discardedBytes} byte(s) discarded${outcome.error ? `; stopped: ${outcome.error}` : ''}`);
    return outcome;
  };

  register('shmemInspector.reconnectMaster', async (arg, options) => reconnect(sessionArg(arg), 'master', (options as Options) ?? {}));
  register('shmemInspector.reconnectPeer', async (arg, options) => reconnect(sessionArg(arg), 'peer', (options as Options) ?? {}));
  // From the report's own buttons the role is chosen there; these two differ only in the default.

  register('shmemInspector.simulatePeerDiscard', async (arg, script) => {
    const s = sessionArg(arg);
    const edits = (script as { edits?: { offset: number; bytes: number[] }[] } | undefined)?.edits;
    await disconnect(s, 'disconnected to simulate role=peer');
    if (!edits) {
      void vscode.window.showInformationMessage(
        `${path.basename(s.remote.source)} is disconnected. Edit the guest-side copy in the hex view as the guest would, then run "Reconnect as Peer" to see what role=peer throws away.`,
      );
      return undefined;
    }
    for (const e of edits) s.writeGuest(e.offset, Uint8Array.from(e.bytes));
    return reconnect(s, 'peer', { confirmed: true });
  });

  register('shmemInspector.loadSnapshotAsLoadvm', async (arg, snapArg) => {
    const s = sessionArg(arg);
    if (s.guest) throw new InputError(`${s.remote.source} is already disconnected`);
    const snap = typeof snapArg === 'string' ? snapArg : snapArg instanceof vscode.Uri ? snapArg.fsPath : (await vscode.window.showOpenDialog({ title: 'Load Snapshot as Loadvm', filters: { 'Shared memory snapshots': ['shmsnap'] } }))?.[0]?.fsPath;
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
    return s.view().state;
  });

  register('shmemInspector.saveSnapshotAsSavevm', async (arg, targetArg) => {
    const s = sessionArg(arg);
    let target = typeof targetArg === 'string' ? targetArg : targetArg instanceof vscode.Uri ? targetArg.fsPath : undefined;
    if (!target) target = (await vscode.window.showSaveDialog({ title: 'Save Snapshot As Savevm', filters: { 'Shared memory snapshots': ['shmsnap'] } }))?.fsPath;
    if (!target) return undefined;
    const force = typeof targetArg !== 'string' && !(targetArg instanceof vscode.Uri);
    await disconnect(s, `savevm to ${path.basename(target)}`);
    // The snapshot is the guest-side copy at the disconnect: exactly what reconnect compares with.
    await writeSnapshot(new MemorySource(s.guest!.base, s.remote.source, false, s.remote.info.identity), { target, force, layout: s.layout?.text, peerId: s.remote.info.peerId });
    return target;
  });
}
