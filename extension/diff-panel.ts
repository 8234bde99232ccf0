import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { serveWebview } from './webview-server';
import { inert } from './outside-text';
import { InputError } from '../core/errors';
import { resolveRange } from '../core/numbers';
import { damagedMessage } from '../core/snapshot/integrity';
import { RemoteSession } from '../agent/remote-session';
import type { Server } from '../shared/messenger';
import { diffProtocol, type DiffModel } from '../webview/diff-protocol';
import type { Layout } from '../core/layout/model';
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
  private readonly server: Server<typeof diffProtocol>;
  private disposed = false;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly a: RemoteSession,
    private readonly b: RemoteSession,
    private readonly live: { a?: Session; b?: Session },
    private readonly owned: RemoteSession[],
    private readonly manager: SessionManager,
    log: Log,
    extensionUri: vscode.Uri,
  ) {
    setWebviewPage(panel.webview, extensionUri, { script: 'diff.js', style: 'diff.css', title: 'Shared Memory diff' });
    const served = serveWebview(
      panel,
      'diff view',
      diffProtocol,
      log,
      {
        pair: async (r) => ({ a: await this.bytesOf(this.a, r.offset, r.length), b: await this.bytesOf(this.b, r.offset, r.length) }),
        reveal: (r) => {
          const session = r.side === 'a' ? this.live.a : this.live.b;
          // The webview offers Show only for live sides; a request for a snapshot side is refused.
          if (!session) throw new InputError(`side ${r.side.toUpperCase()} is a snapshot, not a live session: it has no hex view to show`);
          this.manager.revealBytes(session, r.offset, r.length);
          return {};
        },
      },
      {
        ready: () => {
          if (this.model) this.server.notify('model', this.model);
        },
      },
    );
    this.server = served.server;
    this.disposables.push(served.subscription, panel.onDidDispose(() => this.dispose()));
  }

  /** Compares two sources; either may be a live session. Shows progress and can be cancelled. */
  static async open(
    /** layout: names the bytes of two snapshot sides (a live side brings its session's). */
    sides: { a: string | Session; b: string | Session; layout?: Layout },
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
        { location: vscode.ProgressLocation.Notification, title: inert(`Comparing ${path.basename(a.source)} with ${path.basename(b.source)}`), cancellable: true },
        async (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let reported = 0;
          const layout = (typeof sides.a !== 'string' ? sides.a.layout : undefined) ?? (typeof sides.b !== 'string' ? sides.b.layout : undefined) ?? sides.layout;
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
      for (const d of result.damaged ?? []) context.log.warn(`${damagedMessage(path.basename(d.source), d.ranges)}: the comparison there cannot be trusted.`);
      const panel = vscode.window.createWebviewPanel(DIFF_VIEW_TYPE, inert(`${path.basename(a.source)} ↔ ${path.basename(b.source)}`), vscode.ViewColumn.Active, { enableScripts: true });
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

  /** A side's bytes of a range: fewer when the side is shorter, its last bytes when disconnected. */
  private async bytesOf(s: RemoteSession, offset: number, length: number): Promise<Uint8Array> {
    if (offset >= s.info.size) return new Uint8Array(0);
    const range = resolveRange(s.info.size, offset, Math.min(length, s.info.size - offset));
    return s.state === 'connected' ? s.read(range.offset, range.length) : (s.lastBytes.get(range.offset, range.length) ?? new Uint8Array(0));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    for (const s of this.owned) void s.close();
    this.panel.dispose();
  }
}
