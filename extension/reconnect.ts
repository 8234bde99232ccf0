import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { serveWebview } from './webview-server';
import { inert } from './outside-text';
import { InputError } from '../core/errors';
import { fieldVerdicts, plan, writeBack, type Role, type RolePlan } from '../core/reconnect/roles';
import { threeWay, type ThreeWayResult } from '../core/reconnect/three-way';
import { MemorySource } from '../core/sources/memory-source';
import type { Server } from '../shared/messenger';
import { reportProtocol, type ReconnectModel } from '../webview/report-protocol';
import type { Log } from './log';
import type { GuestCopy, Session } from './session';

export const REPORT_VIEW_TYPE = 'shmemInspector.reconnectReport';

export interface Preview {
  threeWay: ThreeWayResult;
  master: RolePlan;
  peer: RolePlan;
  model: ReconnectModel;
  remote: Uint8Array;
  /** What the preview was made from: an Apply holds only while all of it still is. */
  basis: { guest: GuestCopy; version: number; identity: string };
}

let previews = 0;

/** The three-way diff between the guest copy's base, the guest copy now and the segment now. */
export async function preview(session: Session): Promise<Preview> {
  const state = session.state;
  const guest = session.guest;
  if (state.name !== 'guest' || !guest) throw new InputError(`${session.remote.source} is not disconnected: Disconnect first`);
  const version = guest.version;
  const remoteBytes = await session.readAll();
  const base = new MemorySource(guest.base, 'at disconnect', false);
  const local = new MemorySource(guest.local, 'guest copy', false);
  const remote = new MemorySource(remoteBytes, 'segment now', false);
  const t = await threeWay(base, local, remote);
  const master = plan(t, 'master');
  const peer = plan(t, 'peer');
  const sum = (rs: { length: number }[]): number => rs.reduce((s, r) => s + r.length, 0);
  const model: ReconnectModel = {
    preview: ++previews,
    source: session.remote.source,
    cause: state.cause,
    size: guest.base.length,
    bytes: t.bytes,
    ranges: t.ranges,
    truncated: t.truncated,
    fields: session.layout ? fieldVerdicts(session.layout, t.ranges, base, local, remote) : [],
    master: { writeBytes: sum(master.writes), lostBytes: sum(master.lost) },
    peer: { lostBytes: sum(peer.lost) },
  };
  return { threeWay: t, master, peer, model, remote: remoteBytes, basis: { guest, version, identity: session.remote.identity } };
}

/**
 * Why an Apply of `role` made on `previewed` must not go ahead now (`now` is a preview made just
 * before writing), or undefined when it still holds: the same guest copy, unedited; the same
 * segment (device and inode, or server session), not another one now at the same place; the same
 * plan (what the role writes and what it throws away).
 */
export function changedSince(previewed: Preview, now: Preview, role: Role): string | undefined {
  if (now.basis.guest !== previewed.basis.guest) return 'the session was reconnected and disconnected again since the preview';
  if (now.basis.version !== previewed.basis.version) return 'the guest-side copy was edited since the preview';
  if (now.basis.identity !== previewed.basis.identity) return 'the segment is another one now (another file or server session at the same place)';
  const a = role === 'master' ? previewed.master : previewed.peer;
  const b = role === 'master' ? now.master : now.peer;
  if (JSON.stringify([a.writes, a.lost]) !== JSON.stringify([b.writes, b.lost])) return `the segment changed since the preview: role=${role} would now write or throw away other bytes`;
  return undefined;
}

export interface RoleOutcome {
  role: Role;
  written: { offset: number; length: number }[];
  verified: boolean;
  discarded: { offset: number; length: number; kind: string }[];
  error?: string;
}

/**
 * Applies a role and leaves the guest copy. Master writes the differing ranges into the segment in
 * place (through the session's agent) and reads them back; peer writes nothing and reports what it
 * discarded. A segment lost midway is reported with the ranges written so far.
 */
export async function applyRole(session: Session, p: Preview, role: Role): Promise<RoleOutcome> {
  if (role === 'peer') {
    session.leaveGuestCopy();
    return { role, written: [], verified: true, discarded: p.peer.lost };
  }
  // The bytes as previewed, taken now: an edit arriving while the write-back awaits the agent
  // cannot slip into it.
  const local = p.basis.guest.local;
  const bytes = new Map(p.master.writes.map((r) => [r.offset, local.slice(r.offset, r.offset + r.length)]));
  const report = await writeBack(p.master.writes, (offset, length) => bytes.get(offset)?.subarray(0, length) ?? local.slice(offset, offset + length), session.remote);
  // A segment lost midway leaves the session disconnected, with its guest copy.
  if (!report.error) session.leaveGuestCopy();
  return { role, ...report, discarded: p.master.lost };
}

/** The report: what changed on each side, what each role keeps and throws away, and the choice. */
export class ReportPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly server: Server<typeof reportProtocol>;
  private disposed = false;
  private choice: ((choice: { role: Role; preview: number } | undefined) => void) | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private model: ReconnectModel,
    log: Log,
    extensionUri: vscode.Uri,
  ) {
    setWebviewPage(panel.webview, extensionUri, { script: 'report.js', style: 'report.css', title: 'Reconnect' });
    const served = serveWebview(panel, 'reconnect report', reportProtocol, log, {}, {
      ready: () => this.server.notify('model', this.model),
      apply: (m) => this.chosen(m),
      cancel: () => this.chosen(undefined),
    });
    this.server = served.server;
    this.disposables.push(served.subscription, panel.onDidDispose(() => this.dispose()));
  }

  static open(model: ReconnectModel, log: Log, extensionUri: vscode.Uri): ReportPanel {
    const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, inert(`Reconnect ${path.basename(model.source.replace(/^unix:/, ''))}`), vscode.ViewColumn.Active, { enableScripts: true });
    return new ReportPanel(panel, model, log, extensionUri);
  }

  /**
   * Waits for the user's choice in the report: the role, and the preview it was pressed on
   * (undefined: cancelled, stay disconnected).
   */
  choose(): Promise<{ role: Role; preview: number } | undefined> {
    return new Promise((resolve) => (this.choice = resolve));
  }

  show(model: ReconnectModel): void {
    this.model = model;
    this.server.notify('model', model);
  }

  private chosen(choice: { role: Role; preview: number } | undefined): void {
    const resolve = this.choice;
    this.choice = undefined;
    resolve?.(choice);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.choice?.(undefined);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
