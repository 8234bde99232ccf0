import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkTarget, discardTemp, openTemp, publish, tempPathFor } from '../core/atomic-file';
import { InputError } from '../core/errors';
import { formatBytes } from '../core/numbers';
import { looksLikeSnapshot } from '../core/snapshot/reader';
import { consistencyText } from '../core/snapshot/writer';
import { damagedMessage, describeRanges } from '../core/snapshot/integrity';
import type { Range } from '../core/numbers';
import type { Register } from './commands';
import { DiffPanel } from './diff-panel';
import { inert } from './outside-text';
import type { Log } from './log';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { SessionDocument } from './session-document';

export const SNAPSHOT_EDITOR = 'shmemInspector.snapshot';

/** The folder snapshots go to by default: snapshots/ in the first workspace folder. */
function snapshotsFolder(): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, 'snapshots') : undefined;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

export class SnapshotEditorProvider implements vscode.CustomReadonlyEditorProvider<SessionDocument> {
  constructor(
    private readonly manager: SessionManager,
    private readonly log: Log,
    private readonly view?: SnapshotsView,
  ) {}

  async openCustomDocument(uri: vscode.Uri): Promise<SessionDocument> {
    // Checked before an agent opens it as whatever it is: a *.shmsnap that is a socket would be
    // joined as an ivshmem server, a FIFO would be opened. Reading 8 bytes maps nothing.
    if (!looksLikeSnapshot(uri.fsPath)) throw new InputError(`${uri.fsPath} is not a snapshot (no SHMSNAP header, or not a regular file)`);
    const session = await this.manager.attach(uri.fsPath);
    if (session.remote.info.kind !== 'snapshot') {
      await this.manager.detach(session);
      throw new InputError(`${uri.fsPath} is not a snapshot`);
    }
    void this.checkData(uri.fsPath, session);
    return new SessionDocument(uri, session, this.manager);
  }

  /**
   * Checks every block in the agent (on its worker thread) while the view opens. A damaged snapshot
   * is said so, with its ranges; the view reads no byte of a bad block (the agent refuses them).
   */
  private async checkData(file: string, session: Session): Promise<void> {
    const result = await session.remote.verify().catch(() => undefined);
    if (!result) return;
    this.view?.markDamaged(file, result.damaged);
    if (result.damaged.length > 0) this.log.warn(`${damagedMessage(path.basename(file), result.damaged)}: the bytes there are not shown.`);
  }

  resolveCustomEditor(document: SessionDocument, panel: vscode.WebviewPanel): void {
    this.manager.openPanel(document.session, 0, panel);
  }
}

/** The Snapshots view: .shmsnap files in the workspace's snapshots/ folder and those taken here. */
export class SnapshotsView implements vscode.TreeDataProvider<vscode.Uri> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly taken = new Set<string>();
  /** Snapshots found damaged when they were opened, with their bad ranges. */
  private readonly damaged = new Map<string, Range[]>();

  refresh(): void {
    this.changed.fire();
  }

  markDamaged(file: string, ranges: Range[]): void {
    if (ranges.length > 0) this.damaged.set(file, ranges);
    else if (!this.damaged.delete(file)) return;
    this.refresh();
  }

  async getChildren(): Promise<vscode.Uri[]> {
    const found = new Set(this.taken);
    const folder = snapshotsFolder();
    if (folder) {
      try {
        for (const [name, type] of await vscode.workspace.fs.readDirectory(folder)) {
          if (type === vscode.FileType.File && name.endsWith('.shmsnap')) found.add(vscode.Uri.joinPath(folder, name).fsPath);
        }
      } catch {
        // no snapshots/ folder yet
      }
    }
    return [...found].filter((p) => fs.existsSync(p)).sort().map((p) => vscode.Uri.file(p));
  }

  getTreeItem(uri: vscode.Uri): vscode.TreeItem {
    const item = new vscode.TreeItem(inert(path.basename(uri.fsPath)));
    try {
      const st = fs.statSync(uri.fsPath);
      item.description = `${formatBytes(st.size)} · ${st.mtime.toLocaleString()}`;
    } catch {
      item.description = 'gone';
    }
    item.resourceUri = uri;
    item.tooltip = inert(uri.fsPath);
    const damaged = this.damaged.get(uri.fsPath);
    if (damaged) {
      item.description = inert(`damaged: ${describeRanges(damaged, 3)}`);
      item.tooltip = inert(damagedMessage(uri.fsPath, damaged));
    }
    item.contextValue = 'snapshot';
    item.iconPath = new vscode.ThemeIcon(damaged ? 'warning' : 'device-camera');
    item.command = { command: 'vscode.openWith', title: 'Open Snapshot', arguments: [uri, SNAPSHOT_EDITOR] };
    return item;
  }
}

/** Take Snapshot, Open Snapshot, Compare Snapshots, Compare With Live, Export Raw Bytes. */
export function registerSnapshotCommands(
  context: vscode.ExtensionContext,
  manager: SessionManager,
  log: Log,
  view: SnapshotsView,
  register: Register,
): void {
  register('shmemInspector.takeSnapshot', async (args) => {
    const s = args.session(0);
    const consistent = args.option(2, 'consistent') ?? vscode.workspace.getConfiguration('shmemInspector').get<boolean>('checkedSnapshots', false);
    let target = args.uri(1);
    if (!target) {
      const folder = snapshotsFolder();
      const name = `${path.basename(s.remote.source.replace(/^unix:/, ''))}-${stamp()}.shmsnap`;
      if (folder) await vscode.workspace.fs.createDirectory(folder);
      target = await vscode.window.showSaveDialog({ title: 'Take Snapshot', defaultUri: folder ? vscode.Uri.joinPath(folder, name) : vscode.Uri.file(path.join(process.cwd(), name)), filters: { 'Shared memory snapshots': ['shmsnap'] } });
    }
    if (!target) return undefined;
    // The save dialog already asked about replacing an existing file.
    const force = !args.uri(1) && fs.existsSync(target.fsPath);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: inert(`Snapshot of ${path.basename(s.remote.source)}`), cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        return s.remote.takeSnapshot(target.fsPath, force, {
          signal: abort.signal,
          layout: s.layout?.text,
          consistent,
          onProgress: (done, total) => {
            const pct = Math.floor((done / total) * 100);
            progress.report({ increment: pct - reported, message: `${pct}%` });
            reported = pct;
          },
        });
      },
    );
    view.taken.add(result.path);
    view.refresh();
    const check = result.checked ? `checked: ${consistencyText(result)}` : 'plain copy (not checked for torn pages)';
    log.info(`snapshot ${result.path}: ${result.size} bytes, ${check}`);
    log.notify(`Snapshot saved: ${path.basename(result.path)} (${formatBytes(result.size)}; ${check}).`);
    return result;
  });

  register('shmemInspector.openSnapshot', async (args) => {
    let uri = args.uri(0);
    if (!uri) uri = (await vscode.window.showOpenDialog({ title: 'Open Snapshot', filters: { 'Shared memory snapshots': ['shmsnap'] }, defaultUri: snapshotsFolder() }))?.[0];
    if (!uri) return undefined;
    await vscode.commands.executeCommand('vscode.openWith', uri, SNAPSHOT_EDITOR);
    return uri;
  });

  const pickSnapshot = async (title: string): Promise<string | undefined> =>
    (await vscode.window.showOpenDialog({ title, filters: { 'Shared memory snapshots': ['shmsnap'] }, defaultUri: snapshotsFolder() }))?.[0]?.fsPath;
  const ctx = { manager, log, extensionUri: context.extensionUri };

  register('shmemInspector.compareSnapshots', async (args) => {
    const a = args.uri(0)?.fsPath ?? (await pickSnapshot('Compare Snapshots: the first (A)'));
    if (!a) return undefined;
    const b = args.uri(1)?.fsPath ?? (await pickSnapshot('Compare Snapshots: the second (B)'));
    if (!b) return undefined;
    const panel = await DiffPanel.open({ a, b }, ctx);
    context.subscriptions.push(panel);
    return panel.summary;
  });

  register('shmemInspector.compareWithLive', async (args) => {
    const s = args.session(0);
    const snap = args.uri(1)?.fsPath ?? (await pickSnapshot(`Compare ${path.basename(s.remote.source)} with a snapshot`));
    if (!snap) return undefined;
    // A: the snapshot (before), B: the live session (now).
    const panel = await DiffPanel.open({ a: snap, b: s }, ctx);
    context.subscriptions.push(panel);
    return panel.summary;
  });

  register('shmemInspector.exportRaw', async (args) => {
    const s = args.session(0);
    const range = args.range(2) ?? { offset: 0, length: s.remote.info.size };
    if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length <= 0 || range.offset + range.length > s.remote.info.size) {
      throw new InputError('the range to export lies outside the segment');
    }
    let target = args.uri(1);
    if (!target) target = await vscode.window.showSaveDialog({ title: 'Export Raw Bytes', defaultUri: vscode.Uri.file(path.join(snapshotsFolder()?.fsPath ?? process.cwd(), `${path.basename(s.remote.source)}.bin`)) });
    if (!target) return undefined;
    const force = !args.uri(1);
    checkTarget(target.fsPath, force, s.remote.info.identity);
    // Written whole or not at all: a temporary file, fsynced, then moved into place.
    const temp = tempPathFor(target.fsPath);
    const fd = openTemp(temp);
    try {
      const piece = 16 * 1024 * 1024;
      for (let done = 0; done < range.length; done += piece) {
        const bytes = await s.remote.read(range.offset + done, Math.min(piece, range.length - done));
        fs.writeSync(fd, bytes);
      }
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      publish(temp, target.fsPath, force, s.remote.info.identity);
    } catch (err) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed already
      }
      discardTemp(temp);
      throw err;
    }
    log.info(`exported ${range.length} bytes of ${s.remote.source} to ${target.fsPath}`);
    return target.fsPath;
  });
}
