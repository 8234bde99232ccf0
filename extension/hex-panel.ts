import * as path from 'node:path';
import * as vscode from 'vscode';
import { setWebviewPage } from './webview-page';
import { InputError, errorCode } from '../core/errors';
import { resolveRange } from '../core/numbers';
import { parseWebviewMessage, type HostMessage, type WebviewMessage, type WebviewRequest, type WebviewReplies } from '../webview/protocol';
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

/** A hex view's tab title; also how start-up recognises a view VS Code is about to restore. */
export function panelTitle(source: string): string {
  return `${path.basename(source.replace(/^unix:/, ''))} (hex)`;
}

/**
 * One hex view of one session: the webview panel, its messages (checked, each request answered
 * with a reply or an error), and its viewport registered with the session's watch.
 */
export class HexPanel implements vscode.Disposable {
  readonly key = `p${++panelCounter}`;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private readonly running = new Map<number, AbortController>();
  private disposed = false;
  private ready = false;
  cursor = 0;
  /** The bytes the webview last showed; undefined until it reported them. */
  private viewport: { offset: number; length: number } | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: Session,
    extensionUri: vscode.Uri,
    private readonly log: Log,
    private initialOffset: number,
    private readonly onDispose: (panel: HexPanel) => void,
  ) {
    panel.title = panelTitle(session.remote.source);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    setWebviewPage(panel.webview, extensionUri, { script: 'main.js', style: 'hex.css', title: 'Shared Memory', images: true });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState((e) => {
        if (!e.webviewPanel.visible) this.hidden();
      }),
    );
    this.unsubscribe.push(
      session.onChanges((c) => this.post({ type: 'changes', time: c.time, changes: c.changes })),
      session.onFresh((offset, bytes) => {
        // Only what this view shows (the session also watches other views and layout regions).
        const view = this.viewport;
        if (!this.ready || !view) return;
        const from = Math.max(offset, view.offset);
        const to = Math.min(offset + bytes.length, view.offset + view.length);
        if (from < to) this.post({ type: 'fresh', offset: from, bytes: bytes.slice(from - offset, to - offset) });
      }),
      session.onState(() => {
        this.post({ type: 'session', session: session.view() });
        this.postLayout();
      }),
    );
  }

  /** Scrolls the view to offset and selects length bytes there (once the view is up, if it is not yet). */
  goto(offset: number, length = 1): void {
    if (this.ready) this.post({ type: 'goto', offset, length });
    else {
      this.initialOffset = offset;
      this.viewport = undefined;
    }
  }

  settingsChanged(): void {
    this.post({ type: 'settings', settings: viewSettings() });
  }

  private post(message: HostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  private postLayout(): void {
    const regions = (this.session.layout?.regions ?? []).map((r) => ({ name: r.name, offset: r.offset, size: r.size, color: r.color }));
    this.post({ type: 'layout', regions });
  }

  /** The webview's page is gone while its tab is hidden; 'ready' comes again when it is shown. */
  private hidden(): void {
    this.ready = false;
  }

  private async receive(raw: unknown): Promise<void> {
    let message: WebviewMessage;
    try {
      message = parseWebviewMessage(raw);
    } catch (err) {
      // The webview is untrusted input: log and drop; a request with a readable id gets an error reply.
      this.log.channel.warn(`dropped a malformed message from the hex view: ${(err as Error).message}`);
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && Number.isSafeInteger(id)) this.post({ type: 'reply', id, ok: false, error: `malformed request: ${(err as Error).message}` });
      return;
    }
    switch (message.type) {
      case 'ready': {
        // Also after the webview was hidden and shown again (its page is rebuilt): it comes back
        // where it was, not where it started.
        this.ready = true;
        const top = this.viewport?.offset ?? this.initialOffset;
        // Changes posted while the first screen is read reach a page that is not ready yet and are
        // dropped there: they are laid over the bytes read instead.
        const during: { offset: number; bytes: Uint8Array }[] = [];
        const stop = this.session.onChanges((c) => during.push(...c.changes));
        const first = await this.firstScreen(top).finally(stop);
        if (first) for (const c of during) overlay(first, c);
        queueMicrotask(() => this.postLayout());
        this.post({ type: 'init', session: this.session.view(), settings: viewSettings(), top, cursor: this.viewport === undefined ? this.initialOffset : this.cursor, ...(first ? { first } : {}) });
        return;
      }
      case 'viewport': {
        const size = this.session.remote.info.size;
        const offset = Math.min(message.offset, size);
        this.cursor = Math.min(message.cursor, Math.max(0, size - 1));
        this.viewport = { offset, length: Math.min(message.length, size - offset) };
        this.session.setViewport(this.key, this.viewport);
        return;
      }
      case 'request':
        await this.answer(message.id, message.request);
        return;
    }
  }

  /**
   * The pages around `top` (enough for a tall window), read before init so that the view draws its
   * first rows without asking. Undefined when they cannot be read now: the view asks as usual.
   */
  private async firstScreen(top: number): Promise<{ offset: number; bytes: Uint8Array } | undefined> {
    const size = this.session.remote.info.size;
    const offset = Math.max(0, Math.floor(top / 4096) * 4096);
    const length = Math.min(16384, size - offset);
    if (length <= 0 || this.session.guest || this.session.state === 'disconnected') return undefined;
    try {
      return { offset, bytes: await this.session.remote.read(offset, length) };
    } catch {
      return undefined;
    }
  }

  private async answer(id: number, request: WebviewRequest): Promise<void> {
    try {
      const body = await this.perform(id, request);
      this.post({ type: 'reply', id, ok: true, body });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'internal') this.log.channel.error(`hex view ${request.type} failed: ${(err as Error).stack ?? String(err)}`);
      this.post({ type: 'reply', id, ok: false, error: code === 'internal' ? 'internal error (details in the log)' : (err as Error).message });
    }
  }

  private async perform(id: number, request: WebviewRequest): Promise<WebviewReplies[keyof WebviewReplies]> {
    const remote = this.session.remote;
    switch (request.type) {
      case 'read': {
        const range = resolveRange(remote.info.size, request.offset, Math.min(request.length, remote.info.size - Math.min(request.offset, remote.info.size)));
        if (this.session.guest) return { bytes: this.session.guest.local.slice(range.offset, range.offset + range.length) };
        if (this.session.state === 'disconnected') {
          const kept = remote.lastBytes.get(range.offset, range.length);
          if (kept) return { bytes: kept };
        }
        return { bytes: await remote.read(range.offset, range.length) };
      }
      case 'write': {
        if (this.session.guest) {
          this.session.writeGuest(request.offset, request.bytes);
          return {};
        }
        // Only a session the user made read-write accepts writes; the agent checks again.
        if (!remote.info.writable) throw new InputError('this session is read-only: use "Make Session Read-Write" first');
        resolveRange(remote.info.size, request.offset, request.bytes.length);
        await remote.write(request.offset, request.bytes);
        return {};
      }
      case 'search': {
        // Progress the VS Code way (a cancellable notification) and in the view's toolbar.
        const abort = new AbortController();
        this.running.set(id, abort);
        try {
          return await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `Searching ${path.basename(remote.source)}`, cancellable: true },
            async (progress, token) => {
              token.onCancellationRequested(() => abort.abort());
              let reported = 0;
              const offset = await remote.search(request.pattern, request.from, {
                signal: abort.signal,
                onProgress: (done, total) => {
                  this.post({ type: 'progress', id, done, total });
                  const pct = Math.floor((done / total) * 100);
                  progress.report({ increment: pct - reported, message: `${pct}%` });
                  reported = pct;
                },
              });
              return { offset };
            },
          );
        } finally {
          this.running.delete(id);
        }
      }
      case 'cancel':
        this.running.get(request.request)?.abort();
        return {};
      case 'describe': {
        const layout = this.session.layout;
        const node = layout ? fieldAt(layout, request.offset) : undefined;
        if (!node?.field) return { label: null };
        const bytes = this.session.peek(node.offset, node.size);
        return { label: `${node.path} (${describeType(node.field.type)}) @0x${node.offset.toString(16)}${bytes ? ` = ${formatValue(node.field, bytes)}` : ''}` };
      }
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const abort of this.running.values()) abort.abort();
    this.session.setViewport(this.key, undefined);
    for (const u of this.unsubscribe.splice(0)) u();
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
function overlay(into: { offset: number; bytes: Uint8Array }, change: { offset: number; bytes: Uint8Array }): void {
  const from = Math.max(into.offset, change.offset);
  const to = Math.min(into.offset + into.bytes.length, change.offset + change.bytes.length);
  if (from < to) into.bytes.set(change.bytes.subarray(from - change.offset, to - change.offset), from - into.offset);
}
