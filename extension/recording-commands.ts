import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkTarget } from '../core/atomic-file';
import { InputError } from '../core/errors';
import { formatBytes, hex, type Range } from '../core/numbers';
import { MAX_RANGE_LENGTH } from '../core/record/header';
import { checkAgainstSegment } from '../core/layout/compile';
import type { Register } from './commands';
import type { Log } from './log';
import type { Recordings } from './recordings';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { recordingIntervalMs } from './settings';
import { TIMELINE_EDITOR, compareMoments, type TimelineEditorProvider } from './timeline-editor';

/** Where recordings go by default: recordings/ in the first workspace folder. */
function recordingsFolder(): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, 'recordings') : undefined;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/**
 * What Start Recording records: the whole segment up to 64 MiB (a recorder keeps two copies of
 * its range); of a larger one, the 64 MiB from the hex view's first row on.
 */
function rangeToRecord(manager: SessionManager, s: Session): Range {
  const size = s.remote.info.size;
  if (size <= MAX_RANGE_LENGTH) return { offset: 0, length: size };
  const top = manager.panels.find((p) => p.session === s)?.cursor ?? 0;
  const offset = Math.min(Math.floor(top / 4096) * 4096, size - MAX_RANGE_LENGTH);
  return { offset, length: MAX_RANGE_LENGTH };
}

/** Start Recording, Stop Recording, Open Recording, Compare Two Moments. */
export function registerRecordingCommands(manager: SessionManager, log: Log, recordings: Recordings, timelines: TimelineEditorProvider, context: { extensionUri: vscode.Uri; subscriptions: vscode.Disposable[] }, register: Register): void {
  register('shmemInspector.startRecording', async (args) => {
    const s = args.session(0);
    const kind = s.remote.info.kind;
    if (kind === 'snapshot' || kind === 'recording') throw new InputError(`${s.remote.source} is a ${kind}: it does not change, there is nothing to record`);
    if (s.state.name === 'lost') throw new InputError(`${s.remote.source} is disconnected (${s.state.reason}): Reattach it first`);
    if (recordings.of(s)) throw new InputError(`${s.remote.source} is being recorded already (into ${recordings.of(s)!.target})`);
    let target = args.uri(1);
    if (!target) {
      const folder = recordingsFolder();
      const name = `${path.basename(s.remote.source.replace(/^unix:/, ''))}-${stamp()}.shmrec`;
      if (folder) await vscode.workspace.fs.createDirectory(folder);
      target = await vscode.window.showSaveDialog({ title: 'Start Recording', defaultUri: folder ? vscode.Uri.joinPath(folder, name) : vscode.Uri.file(path.join(process.cwd(), name)), filters: { 'Shared memory recordings': ['shmrec'] } });
    }
    if (!target) return undefined;
    // The save dialog already asked about replacing an existing file; a target given by code is never replaced.
    const force = !args.uri(1) && fs.existsSync(target.fsPath);
    // Never the source itself (device and inode), never a device, FIFO or socket: as for snapshots.
    checkTarget(target.fsPath, force, s.remote.info.identity);
    const range = rangeToRecord(manager, s);
    // A layout is embedded when its regions lie in what is recorded (history --field, the timeline's fields).
    const layout = s.layout && checkAgainstSegment(s.layout, range.offset + range.length).length === 0 ? s.layout.text : undefined;
    const rec = await recordings.start(s, target.fsPath, { force, range, intervalMs: recordingIntervalMs(), ...(layout === undefined ? {} : { layout }) });
    const part = range.length === s.remote.info.size ? '' : ` (${hex(range.offset)}..${hex(range.offset + range.length)}: a recording holds at most ${formatBytes(MAX_RANGE_LENGTH)})`;
    log.info(`recording ${s.remote.source}${part} into ${rec.target}`);
    return { target: rec.target, range };
  });

  register('shmemInspector.stopRecording', async (args) => {
    const given = args.session(0);
    let s: Session | undefined = recordings.of(given) ? given : undefined;
    if (!s) {
      const all = recordings.all;
      if (all.length === 1) s = all[0]!.session;
      else if (all.length > 1) {
        const pick = await vscode.window.showQuickPick(
          all.map((r) => ({ label: path.basename(r.target), description: r.session.remote.source, session: r.session })),
          { title: 'Stop Recording' },
        );
        s = pick?.session;
        if (!s) return undefined;
      }
    }
    if (!s) throw new InputError('nothing is being recorded');
    return recordings.stop(s);
  });

  register('shmemInspector.openRecording', async (args) => {
    let uri = args.uri(0);
    if (!uri) uri = (await vscode.window.showOpenDialog({ title: 'Open Recording', filters: { 'Shared memory recordings': ['shmrec'] }, defaultUri: recordingsFolder() }))?.[0];
    if (!uri) return undefined;
    await vscode.commands.executeCommand('vscode.openWith', uri, TIMELINE_EDITOR);
    return uri;
  });

  register('shmemInspector.compareMoments', async (args) => {
    const s = args.session(0);
    if (s.remote.info.kind !== 'recording') throw new InputError(`${s.remote.source} is not a recording: open a .shmrec, then compare two of its moments`);
    const duration = s.remote.recording?.summary.durationMs ?? 0;
    const ask = async (what: string, value: number): Promise<number | undefined> => {
      const text = await vscode.window.showInputBox({
        title: 'Compare Two Moments',
        prompt: `${what}: ms since the recording started (0 .. ${duration})`,
        value: String(value),
        validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? undefined : 'a time in ms, 0 or more'),
      });
      return text === undefined ? undefined : Number(text);
    };
    const a = args.number(1) ?? (await ask('The first moment (A)', 0));
    if (a === undefined) return undefined;
    const b = args.number(2) ?? (await ask('The second moment (B)', s.marks.step?.timeMs ?? duration));
    if (b === undefined) return undefined;
    const panel = await compareMoments(s, a, b, { manager, log, extensionUri: context.extensionUri });
    context.subscriptions.push(panel);
    return panel.summary;
  });

  register('shmemInspector.goToTime', async (args) => {
    const s = args.session(0);
    const timeline = timelines.timelineOf(s);
    if (!timeline) throw new InputError(`${s.remote.source} has no open timeline: open a .shmrec first`);
    let t = args.number(1);
    if (t === undefined) {
      const text = await vscode.window.showInputBox({ title: 'Go to Time', prompt: 'ms since the recording started', validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? undefined : 'a time in ms, 0 or more') });
      if (text === undefined) return undefined;
      t = Number(text);
    }
    return timeline.seek(t);
  });
}
