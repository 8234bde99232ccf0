import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { serveWebview } from './webview-server';
import { inert } from './outside-text';
import { InputError } from '../core/errors';
import { resolveRange } from '../core/numbers';
import type { NoteBody, Server } from '../shared/messenger';
import { hexProtocol, type Bytes } from '../webview/hex-protocol';
import type { Log } from './log';
import { formatValue } from '../core/layout/decode';
import type { FieldType } from '../core/layout/model';
import { fieldAt } from '../core/layout/navigate';
import type { Session } from './session';
import { viewSettings } from './settings';

export const VIEW_TYPE = 'shmemInspector.hexView';

/** What a panel remembers across a window reload (VS Code keeps it with the webview). */
export interface PanelState {
  source: string;
  offset: number;
}

let panelCounter = 0;

/** A hex view's tab title (two sources may share it: start-up tells views apart by their source). */
export function panelTitle(source: string): string {
  return inert(`${path.basename(source.replace(/^unix:/, ''))} (hex)`);
}

/**
 * One hex view of one session: the webview panel, its messages (checked, each request answered
 * with a reply or an error), and its viewport registered with the session's watch.
 */
export class HexPanel implements vscode.Disposable {
  readonly key = `p${++panelCounter}`;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly server: Server<typeof hexProtocol>;
  private disposed = false;
  /** The webview's page is up (it said ready) and not hidden since. */
  private showing = false;
  cursor = 0;
  /** A selection asked for while the page was not up: given to its next init. */
  private selection: { offset: number; length: number } | undefined;
  /** The bytes the webview last showed; undefined until it reported them. */
  private viewport: { offset: number; length: number } | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: Session,
    extensionUri: vscode.Uri,
    log: Log,
    private initialOffset: number,
    private readonly onDispose: (panel: HexPanel) => void,
  ) {
    panel.title = panelTitle(session.remote.source);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    setWebviewPage(panel.webview, extensionUri, { script: 'main.js', style: 'hex.css', title: 'Shared Memory', images: true });
    const served = serveWebview(
      panel,
      'hex view',
      hexProtocol,
      log,
      {
        read: (r) => this.read(r.offset, r.length),
        write: (r) => this.write(r.offset, r.bytes),
        search: (r, context) => this.search(r.pattern, r.from, context),
        describe: (r) => this.describe(r.offset),
      },
      { ready: () => this.ready(), viewport: (v) => this.viewportChanged(v) },
    );
    this.server = served.server;
    this.disposables.push(
      served.subscription,
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (!e.webviewPanel.visible) this.hidden();
      }),
    );
    this.disposables.push(
      session.onDidChangeBytes((c) => this.server.notify('changes', { time: c.time, changes: c.changes })),
      session.onDidReadFresh(({ offset, bytes }) => {
        // Only what this view shows (the session also watches other views and layout regions).
        const view = this.viewport;
        if (!this.showing || !view) return;
        const from = Math.max(offset, view.offset);
        const to = Math.min(offset + bytes.length, view.offset + view.length);
        if (from < to) this.server.notify('fresh', { offset: from, bytes: bytes.slice(from - offset, to - offset) });
      }),
      session.onDidChangeState(() => {
        this.server.notify('session', session.view());
        this.postLayout();
      }),
      session.marks.onDidChangeStep(() => this.postMarks()),
      session.marks.onDidChangeHeat(() => this.postHeat()),
    );
  }

  /** Scrolls the view to offset and selects length bytes there (once the view is up, if it is not yet). */
  goto(offset: number, length = 1): void {
    if (this.showing) this.server.notify('goto', { offset, length });
    else {
      // The page is not up (hidden, or still loading): its init brings the place and the selection.
      this.initialOffset = offset;
      this.selection = { offset, length };
      this.viewport = undefined;
    }
  }

  settingsChanged(): void {
    this.server.notify('settings', viewSettings());
  }

  private postLayout(): void {
    const regions = (this.session.layout?.regions ?? []).map((r) => ({ name: r.name, offset: r.offset, size: r.size, color: r.color }));
    this.server.notify('layout', { regions });
  }

  private postMarks(): void {
    if (this.showing) this.server.notify('marks', { ranges: this.session.marks.step?.changed ?? [] });
  }

  private postHeat(): void {
    const heat = this.session.marks.heat;
    if (this.showing && heat) this.server.notify('heat', { sliceSize: heat.sliceSize, counts: [...heat.counts], of: this.session.remote.info.kind === 'recording' ? 'recording' : 'live' });
  }

  /** The webview's page is gone while its tab is hidden; 'ready' comes again when it is shown. */
  private hidden(): void {
    this.showing = false;
  }

  /**
   * The page is up: also after the webview was hidden and shown again (its page is rebuilt), and
   * then it comes back where it was, not where it started.
   */
  private async ready(): Promise<void> {
    // The old page's requests can never be answered to it; the new page's ids start again at 1.
    this.server.restart();
    this.showing = true;
    const top = this.viewport?.offset ?? this.initialOffset;
    // Changes posted while the first screen is read reach a page that is not ready yet and are
    // dropped there: they are laid over the bytes read instead.
    const during: Bytes[] = [];
    const stop = this.session.onDidChangeBytes((c) => during.push(...c.changes));
    const first = await this.firstScreen(top).finally(() => stop.dispose());
    if (first) for (const c of during) overlay(first, c);
    queueMicrotask(() => {
      this.postLayout();
      this.postMarks();
      this.postHeat();
    });
    const select = this.selection;
    this.selection = undefined;
    this.server.notify('init', { session: this.session.view(), settings: viewSettings(), top, cursor: this.viewport === undefined ? this.initialOffset : this.cursor, ...(first ? { first } : {}), ...(select ? { select } : {}) });
  }

  private viewportChanged(v: NoteBody<typeof hexProtocol.up, 'viewport'>): void {
    const size = this.session.remote.info.size;
    const offset = Math.min(v.offset, size);
    this.cursor = Math.min(v.cursor, Math.max(0, size - 1));
    this.viewport = { offset, length: Math.min(v.length, size - offset) };
    this.session.setViewport(this.key, this.viewport);
    if (v.anchor !== undefined && size > 0) {
      const anchor = Math.min(v.anchor, size - 1);
      const from = Math.min(anchor, this.cursor);
      this.session.marks.setSelection({ offset: from, length: Math.abs(this.cursor - anchor) + 1 });
    }
  }

  /**
   * The pages around `top` (enough for a tall window), read before init so that the view draws its
   * first rows without asking. Undefined when they cannot be read now: the view asks as usual.
   */
  private async firstScreen(top: number): Promise<Bytes | undefined> {
    const size = this.session.remote.info.size;
    const offset = Math.max(0, Math.floor(top / 4096) * 4096);
    const length = Math.min(16384, size - offset);
    if (length <= 0 || this.session.state.name === 'guest' || this.session.state.name === 'lost') return undefined;
    try {
      return { offset, bytes: await this.session.remote.read(offset, length) };
    } catch {
      return undefined;
    }
  }

  private async read(offset: number, length: number): Promise<{ bytes: Uint8Array }> {
    const remote = this.session.remote;
    const range = resolveRange(remote.info.size, offset, Math.min(length, remote.info.size - Math.min(offset, remote.info.size)));
    if (this.session.guest) return { bytes: this.session.guest.local.slice(range.offset, range.offset + range.length) };
    if (this.session.state.name === 'lost') {
      const kept = remote.lastBytes.get(range.offset, range.length);
      if (kept) return { bytes: kept };
    }
    return { bytes: await remote.read(range.offset, range.length) };
  }

  private async write(offset: number, bytes: Uint8Array): Promise<Record<string, never>> {
    if (this.session.guest) {
      this.session.writeGuest(offset, bytes);
      return {};
    }
    // Only a session the user made read-write accepts writes; the agent checks again.
    const remote = this.session.remote;
    if (!remote.info.writable) throw new InputError('this session is read-only: use "Make Session Read-Write" first');
    resolveRange(remote.info.size, offset, bytes.length);
    await remote.write(offset, bytes);
    return {};
  }

  /** Progress the VS Code way (a cancellable notification) and in the view's toolbar. */
  private search(pattern: Uint8Array, from: number, context: { signal: AbortSignal; progress(done: number, total: number): void }): Promise<{ offset: number | null }> {
    const remote = this.session.remote;
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: inert(`Searching ${path.basename(remote.source)}`), cancellable: true }, async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        const offset = await remote.search(pattern, from, {
          signal: AbortSignal.any([abort.signal, context.signal]),
          onProgress: (done, total) => {
            context.progress(done, total);
            const pct = Math.floor((done / total) * 100);
            progress.report({ increment: pct - reported, message: `${pct}%` });
            reported = pct;
          },
        });
        return { offset };
      }),
    );
  }

  private describe(offset: number): { label: string | null } {
    const layout = this.session.layout;
    const node = layout ? fieldAt(layout, offset) : undefined;
    if (!node?.field) return { label: null };
    const bytes = this.session.peek(node.offset, node.size);
    return { label: `${node.path} (${describeType(node.field.type)}) @0x${node.offset.toString(16)}${bytes ? ` = ${formatValue(node.field, bytes)}` : ''}` };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.session.setViewport(this.key, undefined);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.onDispose(this);
  }
}

function describeType(t: FieldType): string {
  if (t.kind === 'primitive') return t.name;
  if (t.kind === 'struct') return t.name ?? 'struct';
  return `${t.kind}[${t.size}]`;
}

/** Copies the part of `change` that falls inside `into` over it. */
function overlay(into: Bytes, change: Bytes): void {
  const from = Math.max(into.offset, change.offset);
  const to = Math.min(into.offset + into.bytes.length, change.offset + change.bytes.length);
  if (from < to) into.bytes.set(change.bytes.subarray(from - change.offset, to - change.offset), from - into.offset);
}
