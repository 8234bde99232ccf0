import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { serveWebview } from './webview-server';
import { InputError } from '../core/errors';
import { fieldVerdicts, plan, writeBack, type Role, type RolePlan } from '../core/reconnect/roles';
import { threeWay, type ThreeWayResult } from '../core/reconnect/three-way';
import { MemorySource } from '../core/sources/memory-source';
import type { Server } from '../shared/messenger';
import { reportProtocol, type ReconnectModel } from '../webview/report-protocol';
import type { Log } from './log';
import type { Session } from './session';

export const REPORT_VIEW_TYPE = 'shmemInspector.reconnectReport';

export interface Preview {
  threeWay: ThreeWayResult;
  master: RolePlan;
  peer: RolePlan;
  model: ReconnectModel;
  remote: Uint8Array;
}

let previews = 0;

/** The three-way diff between the guest copy's base, the guest copy now and the segment now. */
export async function preview(session: Session): Promise<Preview> {
  const guest = session.guest;
  if (!guest) throw new InputError(`${session.remote.source} is not disconnected: Disconnect first`);
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
    cause: guest.cause,
    size: guest.base.length,
    bytes: t.bytes,
    ranges: t.ranges,
    truncated: t.truncated,
    fields: session.layout ? fieldVerdicts(session.layout, t.ranges, base, local, remote) : [],
    master: { writeBytes: sum(master.writes), lostBytes: sum(master.lost) },
    peer: { lostBytes: sum(peer.lost) },
  };
  return { threeWay: t, master, peer, model, remote: remoteBytes };
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
  const guest = session.guest!;
  if (role === 'peer') {
    session.leaveGuestCopy();
    return { role, written: [], verified: true, discarded: p.peer.lost };
  }
  const report = await writeBack(p.master.writes, (offset, length) => guest.local.slice(offset, offset + length), session.remote);
  // A segment lost midway leaves the session disconnected, with its guest copy.
  if (!report.error) session.leaveGuestCopy();
  return { role, ...report, discarded: p.master.lost };
}

/** The report: what changed on each side, what each role keeps and throws away, and the choice. */
export class ReportPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly server: Server<typeof reportProtocol>;
  private disposed = false;
  private choice: ((role: Role | undefined) => void) | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private model: ReconnectModel,
    log: Log,
    extensionUri: vscode.Uri,
  ) {
    setWebviewPage(panel.webview, extensionUri, { script: 'report.js', style: 'report.css', title: 'Reconnect' });
    const served = serveWebview(panel, 'reconnect report', reportProtocol, log, {}, {
      ready: () => this.server.notify('model', this.model),
      apply: (m) => this.chosen(m.role),
      cancel: () => this.chosen(undefined),
    });
    this.server = served.server;
    this.disposables.push(served.subscription, panel.onDidDispose(() => this.dispose()));
  }

  static open(model: ReconnectModel, log: Log, extensionUri: vscode.Uri): ReportPanel {
    const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, `Reconnect ${path.basename(model.source.replace(/^unix:/, ''))}`, vscode.ViewColumn.Active, { enableScripts: true });
    return new ReportPanel(panel, model, log, extensionUri);
  }

  /** Waits for the user's choice in the report (undefined: cancelled, stay disconnected). */
  choose(): Promise<Role | undefined> {
    return new Promise((resolve) => (this.choice = resolve));
  }

  show(model: ReconnectModel): void {
    this.model = model;
    this.server.notify('model', model);
  }

  private chosen(role: Role | undefined): void {
    const resolve = this.choice;
    this.choice = undefined;
    resolve?.(role);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.choice?.(undefined);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
