import * as vscode from 'vscode';
import type { ViewSettings } from '../webview/hex-protocol';

/** package.json's default for shmemInspector.tickInterval. */
const DEFAULT_TICK_MS = 20;

/** The extension's settings, read fresh each time, clamped to their documented ranges. */
export function tickIntervalMs(): number {
  const v = vscode.workspace.getConfiguration('shmemInspector').get<number>('tickInterval', DEFAULT_TICK_MS);
  return Math.min(5000, Math.max(5, Math.round(Number(v) || DEFAULT_TICK_MS)));
}

export function viewSettings(): ViewSettings {
  const c = vscode.workspace.getConfiguration('shmemInspector');
  const row = Number(c.get<number>('bytesPerRow', 16));
  const fade = Number(c.get<number>('highlightFade', 1500));
  return {
    bytesPerRow: [8, 16, 32].includes(row) ? row : 16,
    highlightFadeMs: Math.min(10_000, Math.max(0, Number.isFinite(fade) ? fade : 1500)),
  };
}

/** package.json's default for shmemInspector.recordingInterval. */
const DEFAULT_RECORDING_MS = 10;

/** ms between two samples of a recording (Start Recording). */
export function recordingIntervalMs(): number {
  const v = vscode.workspace.getConfiguration('shmemInspector').get<number>('recordingInterval', DEFAULT_RECORDING_MS);
  return Math.min(60_000, Math.max(5, Math.round(Number(v) || DEFAULT_RECORDING_MS)));
}
