import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { errorCode } from '../core/errors';
import { resolveRange } from '../core/numbers';
import { damagedMessage } from '../core/snapshot/integrity';
import { RemoteSession } from '../agent/remote-session';
import { parseDiffWebviewMessage, type DiffHostMessage, type DiffModel, type DiffRequest, type DiffReplies } from '../webview/protocol';
import type { Log } from './log';
import type { Session } from './session';
import type { SessionManager } from './session-manager';

export const DIFF_VIEW_TYPE = 'shmemInspector.diffView';

/**
 * A comparison of two sides (snapshots, or a live session and a snapshot): the diff runs in side
 * A's agent; side-by-side bytes come from each side's own session. Sides it opened itself (the
 * snapshots) are closed with the panel; a live session stays.
 */
export class DiffPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private model: DiffModel | undefined;
  private disposed = false;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly a: RemoteSession,
    private readonly b: RemoteSession,
    private readonly live: { a?: Session; b?: Session },
    private readonly owned: RemoteSession[],
    private readonly manager: SessionManager,
    private readonly log: Log,
    extensionUri: vscode.Uri,
  ) {
    setWebviewPage(panel.webview, extensionUri, { script: 'diff.js', style: 'diff.css', title: 'Shared Memory diff' });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Compares two sources; either may be a live session. Shows progress and can be cancelled. */
  static async open(
    sides: { a: string | Session; b: string | Session },
    context: { manager: SessionManager; log: Log; extensionUri: vscode.Uri },
  ): Promise<DiffPanel> {
    const owned: RemoteSession[] = [];
    const sessionFor = async (side: string | Session): Promise<RemoteSession> => {
      if (typeof side !== 'string') return side.remote;
      const s = await RemoteSession.attach(side);
      owned.push(s);
      return s;
    };
    try {
      const a = await sessionFor(sides.a);
      const b = await sessionFor(sides.b);
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Comparing ${path.basename(a.source)} with ${path.basename(b.source)}`, cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          const layout = (typeof sides.a !== 'string' ? sides.a.layout : undefined) ?? (typeof sides.b !== 'string' ? sides.b.layout : undefined);
          return a.diff(b.source, {
            signal: abort.signal,
            layout: layout?.text,
            onProgress: (done, total) => {
              const pct = Math.floor((done / total) * 100);
              progress.report({ increment: pct - reported, message: `${pct}%` });
              reported = pct;
            },
          });
        },
      );
      // Never silently: a snapshot side whose blocks fail their checksum is named with its ranges.
      for (const d of result.damaged ?? []) void vscode.window.showWarningMessage(`${damagedMessage(path.basename(d.source), d.ranges)}: the comparison there cannot be trusted.`);
      const panel = vscode.window.createWebviewPanel(DIFF_VIEW_TYPE, `${path.basename(a.source)} ↔ ${path.basename(b.source)}`, vscode.ViewColumn.Active, { enableScripts: true });
      const live = { a: typeof sides.a === 'string' ? undefined : sides.a, b: typeof sides.b === 'string' ? undefined : sides.b };
      const diff = new DiffPanel(panel, a, b, live, owned, context.manager, context.log, context.extensionUri);
      diff.model = {
        a: { source: a.source, size: a.info.size, live: a.info.kind !== 'snapshot' },
        b: { source: b.source, size: b.info.size, live: b.info.kind !== 'snapshot' },
        compared: result.compared,
        changedBytes: result.changedBytes,
        ranges: result.ranges,
        rangesTruncated: result.truncated,
        tail: result.tail ?? null,
        regions: result.regions ?? [],
        fields: result.fields ?? [],
      };
      return diff;
    } catch (err) {
      for (const s of owned) await s.close();
      throw err;
    }
  }

  get summary(): DiffModel | undefined {
    return this.model;
  }

  private post(m: DiffHostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(m);
  }

  private async receive(raw: unknown): Promise<void> {
    let m;
    try {
      m = parseDiffWebviewMessage(raw);
    } catch (err) {
      this.log.channel.warn(`dropped a malformed message from the diff view: ${(err as Error).message}`);
      return;
    }
    if (m.type === 'ready') {
      if (this.model) this.post({ type: 'model', model: this.model });
      return;
    }
    try {
      this.post({ type: 'reply', id: m.id, ok: true, body: await this.perform(m.request) });
    } catch (err) {
      this.post({ type: 'reply', id: m.id, ok: false, error: errorCode(err) === 'internal' ? 'internal error (details in the log)' : (err as Error).message });
      if (errorCode(err) === 'internal') this.log.channel.error(String((err as Error).stack));
    }
  }

  private async perform(r: DiffRequest): Promise<DiffReplies[keyof DiffReplies]> {
    if (r.type === 'pair') {
      const read = async (s: RemoteSession): Promise<Uint8Array> => {
        if (r.offset >= s.info.size) return new Uint8Array(0);
        const range = resolveRange(s.info.size, r.offset, Math.min(r.length, s.info.size - r.offset));
        return s.state === 'connected' ? s.read(range.offset, range.length) : (s.lastBytes.get(range.offset, range.length) ?? new Uint8Array(0));
      };
      return { a: await read(this.a), b: await read(this.b) };
    }
    const session = r.side === 'a' ? this.live.a : this.live.b;
    if (!session) throw new Error('that side is a snapshot, not a live session');
    this.manager.revealBytes(session, r.offset, r.length);
    return {};
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const s of this.owned) void s.close();
    this.panel.dispose();
  }
}
