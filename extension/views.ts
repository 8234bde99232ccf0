import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../core/numbers';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { stateLabel, stateSentence } from '../webview/session-state';
import { inert } from './outside-text';
import type { Recordings } from './recordings';

/** The Sessions view: one item per session, with its source, size, state and peer ID. */
export class SessionsView implements vscode.TreeDataProvider<Session> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly manager: SessionManager,
    private readonly recordings: Recordings,
  ) {
    manager.onDidChange(() => this.changed.fire());
    recordings.onDidChange(() => this.changed.fire());
  }

  getChildren(element?: Session): Session[] {
    return element ? [] : [...this.manager.sessions];
  }

  getTreeItem(s: Session): vscode.TreeItem {
    const v = s.view();
    const name = path.basename(v.source.replace(/^unix:/, ''));
    const item = new vscode.TreeItem(inert(v.kind === 'ivshmem' ? `${name} (ivshmem)` : v.kind === 'recording' ? `${name} (recording)` : name), vscode.TreeItemCollapsibleState.None);
    const state = v.state.name;
    const rec = this.recordings.of(s);
    const parts = [formatBytes(v.size), v.kind === 'recording' ? `recorded for ${((s.remote.recording?.summary.durationMs ?? 0) / 1000).toFixed(1)} s` : stateLabel(v.state), v.writable ? 'read-write' : 'read-only'];
    if (rec) parts.unshift(`● recording ${formatBytes(rec.stats?.fileBytes ?? 0)}`);
    if (v.peerId !== undefined) parts.push(`peer ${v.peerId}`);
    parts.push(v.source);
    item.description = inert(parts.join(' · '));
    item.tooltip = inert(rec ? `recording into ${rec.target}` : state === 'live' ? `${v.kind} ${v.source}` : stateSentence(v.state));
    // session-live, session-paused, session-lost, session-guest, with -recording while one runs;
    // replay-<state> for a recording shown in its timeline (package.json menus use them).
    item.contextValue = v.kind === 'recording' ? `replay-${state}` : `session-${state}${rec ? '-recording' : ''}`;
    item.iconPath = new vscode.ThemeIcon(rec ? 'record' : v.kind === 'recording' ? 'history' : state === 'live' ? 'pulse' : state === 'paused' ? 'debug-pause' : 'debug-disconnect');
    return item;
  }
}

export type PeerItem =
  | { kind: 'own'; session: Session; id: number; interrupts: number[] }
  | { kind: 'peer'; session: Session; id: number; vectors: number }
  | { kind: 'vector'; session: Session; vector: number; count: number };

/** The Peers view: for each ivshmem session, our ID with interrupt counters, and the other peers. */
export class PeersView implements vscode.TreeDataProvider<PeerItem> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly manager: SessionManager) {
    manager.onDidChange(() => this.changed.fire());
  }

  getChildren(element?: PeerItem): PeerItem[] {
    if (!element) {
      return this.manager.sessions.flatMap((session) => {
        const t = session.table;
        if (!t) return [];
        const own: PeerItem = { kind: 'own', session, id: t.ownId, interrupts: t.interrupts };
        return [own, ...t.peers.map((p): PeerItem => ({ kind: 'peer', session, id: p.id, vectors: p.vectors }))];
      });
    }
    if (element.kind === 'own') return element.interrupts.map((count, vector) => ({ kind: 'vector', session: element.session, vector, count }));
    return [];
  }

  getTreeItem(p: PeerItem): vscode.TreeItem {
    switch (p.kind) {
      case 'own': {
        const item = new vscode.TreeItem(`peer ${p.id} (this session)`, p.interrupts.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.description = inert(`${p.interrupts.length} vector(s) · ${p.session.remote.source}`);
        item.iconPath = new vscode.ThemeIcon('account');
        return item;
      }
      case 'peer': {
        const item = new vscode.TreeItem(`peer ${p.id}`);
        item.description = `${p.vectors} vector(s)`;
        item.contextValue = 'peer';
        item.iconPath = new vscode.ThemeIcon('vm');
        return item;
      }
      case 'vector': {
        const item = new vscode.TreeItem(`vector ${p.vector}`);
        item.description = `${p.count} interrupt(s) received`;
        item.iconPath = new vscode.ThemeIcon('bell');
        return item;
      }
    }
  }
}
