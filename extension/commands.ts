import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import { parseOffset } from '../core/numbers';
import type { Log } from './log';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import type { PeerItem } from './views';
import { loadLayout } from './layouts';
import { registerSnapshotCommands, type SnapshotsView } from './snapshots';
import { registerReconnectCommands } from './reconnect-commands';

/** A path or URI given to a command by code (tests, other commands), or undefined. */
function pathArg(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'string' && arg.length > 0) return arg;
  return undefined;
}

/** The commands of the "Shared Memory" category; each reports errors through the log. */
export function registerCommands(context: vscode.ExtensionContext, manager: SessionManager, log: Log, snapshots: SnapshotsView): void {
  const guarded =
    (name: string, fn: (...args: unknown[]) => Promise<unknown>) =>
    async (...args: unknown[]): Promise<unknown> => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof vscode.CancellationError) return undefined;
        log.report(err, name);
        return undefined;
      }
    };
  const sessionArg = (arg: unknown): Session => {
    const s = manager.sessions.find((x) => x === arg || x.id === arg) ?? manager.active;
    if (!s) throw new InputError('no session is selected: attach a backing file or an ivshmem server first');
    return s;
  };

  const attach = async (source: string, title: string): Promise<Session> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (_progress, token) => {
      return manager.attachAndShow(source, { token });
    });

  const register = (id: string, fn: (...args: unknown[]) => Promise<unknown>): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, guarded(id.replace('shmemInspector.', ''), fn)));
  };

  register('shmemInspector.attachFile', async (arg) => {
    let file = pathArg(arg);
    if (!file) {
      const picked = await vscode.window.showOpenDialog({ title: 'Attach Backing File', canSelectMany: false, defaultUri: vscode.Uri.file('/dev/shm'), openLabel: 'Attach' });
      file = picked?.[0]?.fsPath;
    }
    if (!file) return undefined;
    return attach(file, `Attaching ${file}`);
  });

  register('shmemInspector.attachServer', async (arg) => {
    let socket = pathArg(arg);
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

  register('shmemInspector.openView', async (arg) => manager.openPanel(sessionArg(arg)));

  register('shmemInspector.detach', async (arg) => manager.detach(sessionArg(arg)));

  register('shmemInspector.goToOffset', async (arg) => {
    const panel = manager.activeHexPanel ?? [...manager.panels].find((p) => p.session === manager.active);
    if (!panel) throw new InputError('open a hex view first');
    const size = panel.session.remote.info.size;
    let text = typeof arg === 'string' || typeof arg === 'number' ? String(arg) : undefined;
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

  register('shmemInspector.togglePause', async (arg) => {
    const s = sessionArg(arg);
    if (s.state === 'live') s.pause();
    else if (s.state === 'paused') s.resume();
    else throw new InputError(`${s.remote.source} is disconnected (${s.reason}); use Reattach`);
    return s.state;
  });

  register('shmemInspector.makeReadWrite', async (arg, options) => {
    const s = sessionArg(arg);
    if (s.remote.info.writable) return true;
    if (s.remote.info.kind === 'snapshot') throw new InputError('snapshots are read-only');
    const skip = (options as { confirmed?: boolean } | undefined)?.confirmed === true;
    if (!skip) {
      const answer = await vscode.window.showWarningMessage(
        `Make ${s.remote.source} read-write? Edits in the hex view are then written into the live segment, in place, where the guest and every peer see them at once.`,
        { modal: true },
        'Make Read-Write',
      );
      if (answer !== 'Make Read-Write') return false;
    }
    await manager.reattach(s, true);
    return true;
  });

  register('shmemInspector.reattach', async (arg) => {
    const s = sessionArg(arg);
    await manager.reattach(s, s.remote.info.writable);
  });

  register('shmemInspector.ring', async (arg, vectorArg) => {
    const item = arg as PeerItem | undefined;
    if (!item || item.kind !== 'peer') throw new InputError('choose a peer in the Peers view to ring');
    let vector = typeof vectorArg === 'number' ? vectorArg : 0;
    if (typeof vectorArg !== 'number' && item.vectors > 1) {
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

  register('shmemInspector.applyLayout', async (arg, fileArg) => {
    const s = sessionArg(arg);
    let uri = fileArg instanceof vscode.Uri ? fileArg : typeof fileArg === 'string' ? vscode.Uri.file(fileArg) : undefined;
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

  register('shmemInspector.revealBytes', async (arg, offset, length) => {
    const s = sessionArg(arg);
    if (typeof offset !== 'number' || typeof length !== 'number') throw new InputError('no bytes to select');
    manager.revealBytes(s, offset, length);
  });

  register('shmemInspector.showLog', async () => log.channel.show());

  registerSnapshotCommands(context, manager, log, snapshots, register, sessionArg);
  registerReconnectCommands(context, manager, log, register, sessionArg);
}
