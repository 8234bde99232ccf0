import * as vscode from 'vscode';
import type { SessionManager } from './session-manager';

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
    const icon = v.state === 'live' ? '$(pulse)' : v.state === 'paused' ? '$(debug-pause)' : '$(debug-disconnect)';
    item.text = `${icon} shm: ${v.state}${v.writable ? ' (rw)' : ''}`;
    item.tooltip = v.state === 'disconnected' ? `${v.source}: disconnected: ${v.reason}` : `${v.source}: ${v.state}; click to ${v.state === 'live' ? 'pause' : 'resume'}`;
    item.backgroundColor = v.state === 'disconnected' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    item.show();
  };
  const sub = manager.onDidChange(update);
  update();
  return vscode.Disposable.from(item, sub);
}
