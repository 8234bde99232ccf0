import * as vscode from 'vscode';
import * as path from 'node:path';
import type { SessionManager } from './session-manager';
import { stateLabel, stateSentence } from '../webview/session-state';
import { inert } from './outside-text';
import { formatBytes } from '../core/numbers';
import { recordingStatusText, type Recordings } from './recordings';

/** Shows the active session's state (a click pauses or resumes its live view), and the running recordings (a click stops one). */
export function createStatusBar(manager: SessionManager, recordings: Recordings): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  item.command = 'shmemInspector.togglePause';
  const update = (): void => {
    const s = manager.active;
    if (!s) {
      item.hide();
      return;
    }
    const v = s.view();
    const state = v.state.name;
    if (v.kind === 'recording') {
      // A recording replayed: its time, not a live state; nothing to pause.
      const step = s.marks.step;
      item.text = `$(history) shm: replay${step ? ` at ${(step.timeMs / 1000).toFixed(3)} s` : ''}`;
      item.tooltip = inert(`${v.source}: a recording, shown at the timeline's time`);
      item.command = undefined;
      item.backgroundColor = undefined;
      item.show();
      return;
    }
    item.command = 'shmemInspector.togglePause';
    const icon = state === 'live' ? '$(pulse)' : state === 'paused' ? '$(debug-pause)' : '$(debug-disconnect)';
    item.text = `${icon} shm: ${stateLabel(v.state)}${v.writable ? ' (rw)' : ''}`;
    item.tooltip = inert(state === 'live' || (state === 'paused' && !v.state.reason) ? `${v.source}: ${state}; click to ${state === 'live' ? 'pause' : 'resume'}` : `${v.source}: ${stateSentence(v.state)}`);
    item.backgroundColor = state === 'lost' || state === 'guest' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  const recording = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 49);
  recording.command = 'shmemInspector.stopRecording';
  recording.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
  const updateRecording = (): void => {
    const all = recordings.all;
    const text = recordingStatusText(all);
    if (text === undefined) {
      recording.hide();
      return;
    }
    recording.text = text;
    recording.tooltip = inert(
      all.map((r) => `Recording ${r.session.remote.source} into ${r.target}${r.stats ? `: ${(r.stats.elapsedMs / 1000).toFixed(1)} s, ${r.stats.changeSamples} samples with changes, ${formatBytes(r.stats.fileBytes)}` : ''}`).join('\n') + `\nClick to stop${all.length > 1 ? ' one' : ''} (${all.map((r) => path.basename(r.target)).join(', ')}).`,
    );
    recording.show();
  };
  const subs = [manager.onDidChange(update), recordings.onDidChange(updateRecording)];
  // A replayed session's time moves without a session change.
  let stepSub: vscode.Disposable | undefined;
  subs.push(
    manager.onDidChange(() => {
      stepSub?.dispose();
      stepSub = manager.active?.marks.onDidChangeStep(update);
    }),
  );
  update();
  updateRecording();
  return vscode.Disposable.from(item, recording, ...subs, { dispose: () => stepSub?.dispose() });
}
