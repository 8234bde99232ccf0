/**
 * The extension's composition root: every object is created here and every subscription has an
 * owner that disposes it. The extension host never maps a segment: sessions run in agents.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { VIEW_TYPE, type HexPanel, type PanelState } from './hex-panel';
import { Log } from './log';
import { SessionManager } from './session-manager';
import { createStatusBar } from './status-bar';
import { PeersView, SessionsView } from './views';
import { RegionsView } from './regions-view';
import { registerLayoutDiagnostics } from './layouts';
import { SNAPSHOT_EDITOR, SnapshotEditorProvider, SnapshotsView } from './snapshots';
import { Recordings, recordingStatusText } from './recordings';
import { TIMELINE_EDITOR, TimelineEditorProvider } from './timeline-editor';
import { looksLikeRecording } from '../core/record/reader';
import { platformProblem } from '../core/sys/platform';
import { InputError } from '../core/errors';

import type { Session } from './session';

/**
 * What activate() returns (the host tests use it; so may other extensions): what the extension
 * holds, to read, as of the call. Nothing here changes state or skips a confirmation: that is
 * what the commands are for, and they always ask.
 */
export interface ShmemInspectorApi {
  /** The attached sessions (a copy). */
  readonly sessions: readonly Session[];
  /** The open hex views (a copy). */
  readonly hexViews: readonly HexPanel[];
  /** Fires when a session is attached or detached, or changes state. */
  readonly onDidChange: vscode.Event<void>;
  /** The Regions view's tree, as it shows it. */
  readonly regions: Pick<RegionsView, 'getChildren' | 'getTreeItem'>;
  /** What the status bar says about running recordings (undefined: none runs). */
  readonly recordingStatus: string | undefined;
  /** Attaches a source read-only in a new session, without a view; detach it with the Detach command. */
  attach(source: string): Promise<Session>;
}

/** Sources whose hex views are open, kept with the workspace: a reload restores them. */
const OPEN_VIEWS = 'shmemInspector.openViews';
let deactivating = false;

export function activate(context: vscode.ExtensionContext): ShmemInspectorApi | undefined {
  deactivating = false;
  const log = new Log();
  context.subscriptions.push(log);
  // Not Linux (a .vsix installed by hand on another OS): one message, and nothing else starts.
  const problem = platformProblem();
  if (problem) {
    log.report(new InputError(problem));
    return undefined;
  }
  const manager = new SessionManager(context.extensionUri, log, {
    // Which sources have views, by their full source (two files named ivshmem in different folders
    // are two sources): what start-up compares with, not a tab's label. A view closed while the
    // window shuts down is still open for the next start.
    opened: (source) => void context.workspaceState.update(OPEN_VIEWS, [...new Set([...openViews(context), source])]),
    closed: (source, stillOpen) => {
      if (!deactivating && !stillOpen) void context.workspaceState.update(OPEN_VIEWS, openViews(context).filter((s) => s !== source));
    },
  });
  const regions = new RegionsView(manager);
  const regionsTree = vscode.window.createTreeView('shmemInspector.regions', { treeDataProvider: regions });
  const recordings = new Recordings(log, (file) => vscode.commands.executeCommand('vscode.openWith', file, TIMELINE_EDITOR));
  const sessionsTree = vscode.window.createTreeView('shmemInspector.sessions', { treeDataProvider: new SessionsView(manager, recordings) });
  registerLayoutDiagnostics(context);
  context.subscriptions.push(
    manager,
    recordings,
    // Selection, not item commands: these trees refresh with every tick, and VS Code drops the
    // commands of a refreshed item ("Actual command not found") when it is clicked.
    sessionsTree,
    sessionsTree.onDidChangeSelection((e) => {
      const s = e.selection[0];
      if (s) manager.openPanel(s);
    }),
    vscode.window.registerTreeDataProvider('shmemInspector.peers', new PeersView(manager)),
    regions,
    regionsTree,
    regionsTree.onDidChangeSelection((e) => {
      const item = e.selection[0];
      if (item?.kind === 'node') manager.revealBytes(item.session, item.node.offset, item.node.size);
    }),
    createStatusBar(manager, recordings),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('shmemInspector')) manager.settingsChanged();
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      // After a window reload: attach the source again (read-only) and show it where it was.
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const s = state as Partial<PanelState> | undefined;
        // A recording's hex view comes back with its timeline editor (VS Code restores that one).
        if (!s || typeof s.source !== 'string' || s.source.length > 4096 || looksLikeRecording(s.source)) {
          panel.dispose();
          return;
        }
        try {
          log.info(`restoring the view of ${s.source} at ${s.offset}`);
          const session = await manager.attachShared(s.source);
          manager.openPanel(session, Number.isSafeInteger(s.offset) ? (s.offset as number) : 0, panel);
        } catch (err) {
          log.report(err, `restoring the view of ${s.source}`);
          panel.dispose();
        }
      },
    }),
  );
  const snapshots = new SnapshotsView();
  const timelines = new TimelineEditorProvider(manager, log, context.extensionUri, context.subscriptions);
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('shmemInspector.snapshots', snapshots),
    vscode.window.registerCustomEditorProvider(SNAPSHOT_EDITOR, new SnapshotEditorProvider(manager, log, snapshots), { supportsMultipleEditorsPerDocument: false }),
    vscode.window.registerCustomEditorProvider(TIMELINE_EDITOR, timelines, { supportsMultipleEditorsPerDocument: false, webviewOptions: { retainContextWhenHidden: false } }),
  );
  registerCommands(context, manager, log, snapshots, recordings, timelines);
  void autoAttach(manager, log, new Set(openViews(context)));
  return Object.freeze({
    get sessions() {
      return manager.sessions;
    },
    get hexViews() {
      return manager.panels;
    },
    onDidChange: manager.onDidChange,
    get recordingStatus() {
      return recordingStatusText(recordings.all);
    },
    regions: Object.freeze({ getChildren: (item?: Parameters<RegionsView['getChildren']>[0]) => regions.getChildren(item), getTreeItem: (item: Parameters<RegionsView['getTreeItem']>[0]) => regions.getTreeItem(item) }),
    attach: (source: string) => manager.attach(source),
  });
}

function openViews(context: vscode.ExtensionContext): string[] {
  const v = context.workspaceState.get<unknown>(OPEN_VIEWS, []);
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string').slice(0, 64) : [];
}

/**
 * Sources named in the `shmemInspector.autoAttach` setting are attached at start-up (npm start uses
 * it for the demo). Only in a trusted workspace: an untrusted folder must not make us open files.
 */
async function autoAttach(manager: SessionManager, log: Log, hadViews: Set<string>): Promise<void> {
  if (!vscode.workspace.isTrusted) return;
  const sources = vscode.workspace.getConfiguration('shmemInspector').get<unknown>('autoAttach', []);
  if (!Array.isArray(sources)) return;
  // After a reload VS Code restores our views itself (a hidden tab only when it is shown): a source
  // that had a view (by its full source, not its tab's label) gets its session but no second view,
  // as long as a view of ours is there to be restored.
  const restoring = vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(VIEW_TYPE));
  for (const source of sources.filter((x): x is string => typeof x === 'string').slice(0, 8)) {
    try {
      const session = await manager.attachShared(source);
      if (!(restoring && hadViews.has(source))) manager.openPanel(session);
    } catch (err) {
      log.report(err, `attaching ${source}`);
    }
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions; views closed from now on stay restorable.
  deactivating = true;
}
