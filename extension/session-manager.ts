import * as vscode from 'vscode';
import { RemoteSession } from '../agent/remote-session';
import { HexPanel, VIEW_TYPE, panelTitle } from './hex-panel';
import type { Log } from './log';
import { Session } from './session';
import { tickIntervalMs } from './settings';
import { setPlaceholderPage } from './webview-page';
import { fromText, loadLayout } from './layouts';
import * as path from 'node:path';

/**
 * All sessions and their hex panels. Everything that touches a segment goes through a session's
 * agent: the extension host never maps one.
 */
export class SessionManager implements vscode.Disposable {
  private readonly all: Session[] = [];
  private readonly hexViews = new Set<HexPanel>();
  private activePanel: HexPanel | undefined;
  private readonly pendingAttach = new Map<string, Promise<Session>>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    /** Told when a source's view opens and closes (stillOpen: another view of it remains). */
    private readonly views: { opened(source: string): void; closed(source: string, stillOpen: boolean): void } = { opened: () => undefined, closed: () => undefined },
  ) {}

  /** The sessions now, in the order they were attached (a copy). */
  get sessions(): readonly Session[] {
    return [...this.all];
  }

  /** The hex views now (a copy). */
  get panels(): readonly HexPanel[] {
    return [...this.hexViews];
  }

  /** Attaches a source (path, unix:/socket, snapshot) in a new agent. */
  async attach(source: string, options: { writable?: boolean; recording?: boolean; token?: vscode.CancellationToken } = {}): Promise<Session> {
    const remote = await RemoteSession.attach(source, { writable: options.writable ?? false, ...(options.recording ? { recording: true } : {}) });
    if (options.token?.isCancellationRequested) {
      await remote.close();
      throw new vscode.CancellationError();
    }
    const session = new Session(remote, tickIntervalMs, (err, context) => this.log.report(err, context));
    session.onDidChangeState((state) => {
      if (state.name === 'lost') this.log.info(`${session.remote.source}: disconnected: ${state.reason}`);
      this.changed.fire();
    });
    this.all.push(session);
    this.log.info(`attached ${source} (${remote.info.size} bytes, ${remote.info.writable ? 'read-write' : 'read-only'})`);
    await this.applyDefaultLayout(session);
    this.changed.fire();
    return session;
  }

  /**
   * Attaches and shows a hex view. The panel is created first: VS Code takes most of a second to
   * ready a webview, and that overlaps the agent's start instead of following it. A panel the user
   * closed meanwhile is not brought back; a failed attach closes it.
   */
  async attachAndShow(source: string, options: { token?: vscode.CancellationToken } = {}): Promise<Session> {
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, panelTitle(source), vscode.ViewColumn.Active, { enableScripts: false });
    // A static page so that VS Code readies the webview now.
    setPlaceholderPage(panel.webview, 'Attaching…');
    let closed = false;
    const watch = panel.onDidDispose(() => (closed = true));
    try {
      const session = await this.attach(source, options);
      if (!closed) this.openPanel(session, 0, panel);
      return session;
    } catch (err) {
      panel.dispose();
      throw err;
    } finally {
      watch.dispose();
    }
  }

  /**
   * The live session on this source if there is one (or one being attached), else a new one. Used
   * where two paths may ask for the same source at once (start-up attach and restored views).
   */
  attachShared(source: string): Promise<Session> {
    const live = this.all.find((s) => s.remote.source === source && s.state.name !== 'lost');
    if (live) return Promise.resolve(live);
    let pending = this.pendingAttach.get(source);
    if (!pending) {
      pending = this.attach(source).finally(() => this.pendingAttach.delete(source));
      this.pendingAttach.set(source, pending);
    }
    return pending;
  }

  /** Opens a hex view of the session (or reveals an existing one); `show`: where (default: the active column, focused). */
  openPanel(session: Session, offset = 0, existing?: vscode.WebviewPanel, show?: { viewColumn: vscode.ViewColumn; preserveFocus: boolean }): HexPanel {
    const open = [...this.hexViews].find((p) => p.session === session);
    if (open && !existing) {
      open.panel.reveal(undefined, show?.preserveFocus);
      if (offset) open.goto(offset);
      return open;
    }
    // A restored view wins over one opened meanwhile (at start-up): it knows where the user was.
    open?.dispose();
    const panel = existing ?? vscode.window.createWebviewPanel(VIEW_TYPE, 'Shared Memory', show ?? vscode.ViewColumn.Active, { enableScripts: true });
    const source = session.remote.source;
    const hex = new HexPanel(panel, session, this.extensionUri, this.log, offset, (p) => {
      this.hexViews.delete(p);
      if (this.activePanel === p) this.activePanel = undefined;
      this.views.closed(source, [...this.hexViews].some((v) => v.session.remote.source === source));
      this.changed.fire();
    });
    this.views.opened(source);
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) {
        this.activePanel = hex;
        this.changed.fire();
      }
    });
    this.hexViews.add(hex);
    this.activePanel = hex;
    this.changed.fire();
    return hex;
  }

  /** The session of the focused hex view, or the only session there is. */
  get active(): Session | undefined {
    return this.activePanel?.session ?? (this.all.length === 1 ? this.all[0] : undefined);
  }

  get activeHexPanel(): HexPanel | undefined {
    return this.activePanel;
  }

  async detach(session: Session): Promise<void> {
    for (const p of [...this.hexViews]) if (p.session === session) p.dispose();
    const i = this.all.indexOf(session);
    if (i >= 0) this.all.splice(i, 1);
    await session.close();
    this.log.info(`detached ${session.remote.source}`);
    this.changed.fire();
  }

  /** A new agent for the session: read-write on request, or after a disconnect. */
  async reattach(session: Session, writable: boolean): Promise<void> {
    const next = await RemoteSession.attach(session.remote.source, { writable, ...(session.remote.info.kind === 'recording' ? { recording: true } : {}) });
    session.attached(next);
    this.log.info(`${session.remote.source}: attached again (${writable ? 'read-write' : 'read-only'})`);
    this.changed.fire();
  }

  /** A snapshot's embedded layout, else the shmemInspector.defaultLayout setting (when it fits). */
  private async applyDefaultLayout(session: Session): Promise<void> {
    try {
      const embedded = session.remote.snapshot?.layout ?? session.remote.recording?.header.layout;
      if (embedded) {
        session.setLayout(fromText(embedded, `the layout embedded in ${session.remote.source}`, session), 'embedded');
        return;
      }
      const setting = vscode.workspace.getConfiguration('shmemInspector').get<string>('defaultLayout', '');
      if (!setting || !vscode.workspace.isTrusted) return;
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
      const uri = path.isAbsolute(setting) || !folder ? vscode.Uri.file(setting) : vscode.Uri.joinPath(folder, setting);
      session.setLayout(await loadLayout(uri, session), uri.fsPath);
    } catch (err) {
      this.log.report(err, 'applying the layout');
    }
  }

  /** Selects bytes in the session's hex view, opening one if needed. */
  revealBytes(session: Session, offset: number, length: number): void {
    const panel = [...this.hexViews].find((p) => p.session === session) ?? this.openPanel(session);
    panel.panel.reveal(undefined, true);
    panel.goto(offset, length);
  }

  settingsChanged(): void {
    for (const p of this.hexViews) p.settingsChanged();
  }

  dispose(): void {
    for (const p of [...this.hexViews]) p.dispose();
    for (const s of this.all.splice(0)) void s.close();
    this.changed.dispose();
  }
}
