/**
 * The extension's composition root: every object is created here and every subscription has an
 * owner that disposes it. The extension host never maps a segment: sessions run in agents.
 */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { VIEW_TYPE, panelTitle, type PanelState } from './hex-panel';
import { Log } from './log';
import { SessionManager } from './session-manager';
import { createStatusBar } from './status-bar';
import { PeersView, SessionsView } from './views';
import { RegionsView } from './regions-view';
import { registerLayoutDiagnostics } from './layouts';
import { SNAPSHOT_EDITOR, SnapshotEditorProvider, SnapshotsView } from './snapshots';
import { platformProblem } from '../core/sys/platform';

/** What activate() returns: used by the host tests, and by other extensions if they wish. */
export interface ShmemInspectorApi {
  manager: SessionManager;
  log: Log;
  regions: RegionsView;
}

export function activate(context: vscode.ExtensionContext): ShmemInspectorApi | undefined {
  // Not Linux (a .vsix installed by hand on another OS): one message, and nothing else starts.
  const problem = platformProblem();
  if (problem) {
    void vscode.window.showErrorMessage(problem);
    return undefined;
  }
  const log = new Log();
  const manager = new SessionManager(context.extensionUri, log);
  const regions = new RegionsView(manager);
  const regionsTree = vscode.window.createTreeView('shmemInspector.regions', { treeDataProvider: regions });
  const sessionsTree = vscode.window.createTreeView('shmemInspector.sessions', { treeDataProvider: new SessionsView(manager) });
  registerLayoutDiagnostics(context);
  context.subscriptions.push(
    log,
    manager,
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
    createStatusBar(manager),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('shmemInspector')) manager.settingsChanged();
    }),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      // After a window reload: attach the source again (read-only) and show it where it was.
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const s = state as Partial<PanelState> | undefined;
        if (!s || typeof s.source !== 'string' || s.source.length > 4096) {
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
  context.subscriptions.push(
    vscode.window.registerTreeDataProvider('shmemInspector.snapshots', snapshots),
    vscode.window.registerCustomEditorProvider(SNAPSHOT_EDITOR, new SnapshotEditorProvider(manager), { supportsMultipleEditorsPerDocument: false }),
  );
  registerCommands(context, manager, log, snapshots);
  void autoAttach(manager, log);
  return { manager, log, regions };
}

/**
 * Sources named in the `shmemInspector.autoAttach` setting are attached at start-up (npm start uses
 * it for the demo). Only in a trusted workspace: an untrusted folder must not make us open files.
 */
async function autoAttach(manager: SessionManager, log: Log): Promise<void> {
  if (!vscode.workspace.isTrusted) return;
  const sources = vscode.workspace.getConfiguration('shmemInspector').get<unknown>('autoAttach', []);
  if (!Array.isArray(sources)) return;
  // After a reload VS Code restores our views itself (a hidden tab only when it is shown): a source
  // whose tab is there gets its session but no second view.
  const restoring = new Set(
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(VIEW_TYPE)).map((t) => t.label),
  );
  for (const source of sources.filter((x): x is string => typeof x === 'string').slice(0, 8)) {
    try {
      const session = await manager.attachShared(source);
      if (!restoring.has(panelTitle(source))) manager.openPanel(session);
    } catch (err) {
      log.report(err, `attaching ${source}`);
    }
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
