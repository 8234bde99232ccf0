import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import { parseOffset } from '../core/numbers';
import { CommandArgs } from './command-args';
import { inert } from './outside-text';
import type { Log } from './log';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { loadLayout } from './layouts';
import { registerSnapshotCommands, type SnapshotsView } from './snapshots';
import { registerReconnectCommands } from './reconnect-commands';
import { registerRecordingCommands } from './recording-commands';
import type { Recordings } from './recordings';
import type { TimelineEditorProvider } from './timeline-editor';

/** Registers a command whose body reads its arguments through CommandArgs (typed and checked). */
export type Register = (id: string, run: (args: CommandArgs) => Promise<unknown>) => void;

/** The commands of the "Shared Memory" category; each reports errors through the log. */
export function registerCommands(context: vscode.ExtensionContext, manager: SessionManager, log: Log, snapshots: SnapshotsView, recordings: Recordings, timelines: TimelineEditorProvider): void {
  const guarded =
    (name: string, run: (args: CommandArgs) => Promise<unknown>) =>
    async (...values: unknown[]): Promise<unknown> => {
      try {
        return await run(new CommandArgs(values, manager));
      } catch (err) {
        if (err instanceof vscode.CancellationError) return undefined;
        log.report(err, name);
        return undefined;
      }
    };

  const attach = async (source: string, title: string): Promise<Session> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: inert(title), cancellable: true }, async (_progress, token) => {
      return manager.attachAndShow(source, { token });
    });

  const register: Register = (id, run) => {
    context.subscriptions.push(vscode.commands.registerCommand(id, guarded(id.replace('shmemInspector.', ''), run)));
  };

  register('shmemInspector.attachFile', async (args) => {
    let file = args.path(0);
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ title: 'Attach Backing File', canSelectMany: false, defaultUri: vscode.Uri.file('/dev/shm'), openLabel: 'Attach' });
      file = picked?.[0]?.fsPath;
    }
    if (!file) return undefined;
    return attach(file, `Attaching ${file}`);
  });

  register('shmemInspector.attachServer', async (args) => {
    let socket = args.path(0);
    if (!socket) {
      socket = await vscode.window.showInputBox({
        title: 'Attach ivshmem Server',
        prompt: 'Path of the ivshmem server socket (joined as a peer)',
        placeHolder: '/tmp/ivshmem_socket',
        validateInput: (v) => (v.trim() === '' ? 'give the path of a UNIX socket' : undefined),
      });
    }
    if (!socket) return undefined;
    const source = socket.startsWith('unix:') ? socket : `unix:${socket}`;
    return attach(source, `Joining ${socket}`);
  });

  register('shmemInspector.openView', async (args) => manager.openPanel(args.session(0)));

  register('shmemInspector.detach', async (args) => manager.detach(args.session(0)));

  register('shmemInspector.goToOffset', async (args) => {
    const panel = manager.activeHexPanel ?? [...manager.panels].find((p) => p.session === manager.active);
    if (!panel) throw new InputError('open a hex view first');
    const size = panel.session.remote.info.size;
    let text = args.text(0);
    if (text === undefined) {
      text = await vscode.window.showInputBox({
        title: 'Go to Offset',
        prompt: `Offset in the segment (0 .. 0x${(size - 1).toString(16)}), decimal or 0x-hex`,
        validateInput: (v) => {
          try {
            if (parseOffset(v.trim(), 'the offset') >= size) return `past the end of the segment (size 0x${size.toString(16)})`;
            return undefined;
          } catch (err) {
            return (err as Error).message;
          }
        },
      });
    }
    if (text === undefined) return undefined;
    const offset = parseOffset(text.trim(), 'the offset');
    if (offset >= size) throw new InputError(`offset 0x${offset.toString(16)} is past the end of the segment (size 0x${size.toString(16)})`);
    panel.goto(offset);
    return offset;
  });

  register('shmemInspector.togglePause', async (args) => {
    const s = args.session(0);
    const state = s.state;
    if (state.name === 'live') s.pause();
    else if (state.name === 'paused') s.resume();
    else if (state.name === 'lost') throw new InputError(`${s.remote.source} is disconnected (${state.reason}); use Reattach`);
    else throw new InputError(`${s.remote.source} shows its guest-side copy; reconnect it first`);
    return s.state.name;
  });

  // Always asked, whoever calls: there is no argument that skips it (tests answer the dialog).
  register('shmemInspector.makeReadWrite', async (args) => {
    const s = args.session(0);
    if (s.remote.info.writable) return true;
    if (s.remote.info.kind === 'snapshot') throw new InputError('snapshots are read-only');
    if (!(await log.confirm(`Make ${s.remote.source} read-write? Edits in the hex view are then written into the live segment, in place, where the guest and every peer see them at once.`, 'Make Read-Write'))) return false;
    await manager.reattach(s, true);
    return true;
  });

  register('shmemInspector.reattach', async (args) => {
    const s = args.session(0);
    await manager.reattach(s, s.remote.info.writable);
  });

  register('shmemInspector.ring', async (args) => {
    const item = args.peer(0);
    const given = args.count(1);
    let vector = given ?? 0;
    if (given === undefined && item.vectors > 1) {
      const pick = await vscode.window.showQuickPick(
        Array.from({ length: item.vectors }, (_, v) => ({ label: `vector ${v}`, vector: v })),
        { title: `Ring peer ${item.id}` },
      );
      if (!pick) return undefined;
      vector = pick.vector;
    }
    await item.session.remote.ring(item.id, vector);
    log.info(`rang peer ${item.id} vector ${vector}`);
    return vector;
  });

  register('shmemInspector.applyLayout', async (args) => {
    const s = args.session(0);
    let uri = args.uri(1);
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({ title: 'Apply Layout', canSelectMany: false, filters: { 'Shared memory layouts': ['json'] }, openLabel: 'Apply' });
      uri = picked?.[0];
    }
    if (!uri) return undefined;
    const layout = await loadLayout(uri, s);
    s.setLayout(layout, uri.fsPath);
    log.info(`${s.remote.source}: layout ${uri.fsPath} (${layout.regions.length} regions)`);
    return layout.regions.length;
  });

  register('shmemInspector.revealBytes', async (args) => {
    const s = args.session(0);
    const offset = args.count(1);
    const length = args.count(2);
    if (offset === undefined || length === undefined) throw new InputError('no bytes to select');
    manager.revealBytes(s, offset, length);
  });

  register('shmemInspector.showLog', async () => log.channel.show());

  registerSnapshotCommands(context, manager, log, snapshots, register);
  registerReconnectCommands(context, manager, log, register);
  registerRecordingCommands(manager, log, recordings, timelines, context, register);
}
