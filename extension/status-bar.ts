import * as vscode from 'vscode';
import type { SessionManager } from './session-manager';
import { stateLabel, stateSentence } from '../webview/session-state';
import { inert } from './outside-text';

/** Shows the active session's state; a click pauses or resumes its live view. */
export function createStatusBar(manager: SessionManager): vscode.Disposable {
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
    const icon = state === 'live' ? '$(pulse)' : state === 'paused' ? '$(debug-pause)' : '$(debug-disconnect)';
    item.text = `${icon} shm: ${stateLabel(v.state)}${v.writable ? ' (rw)' : ''}`;
    item.tooltip = inert(state === 'live' || (state === 'paused' && !v.state.reason) ? `${v.source}: ${state}; click to ${state === 'live' ? 'pause' : 'resume'}` : `${v.source}: ${stateSentence(v.state)}`);
    item.backgroundColor = state === 'lost' || state === 'guest' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  const sub = manager.onDidChange(update);
  update();
  return vscode.Disposable.from(item, sub);
}
