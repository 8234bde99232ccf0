import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../core/numbers';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { stateLabel, stateSentence } from '../webview/session-state';
import { inert } from './outside-text';

/** The Sessions view: one item per session, with its source, size, state and peer ID. */
export class SessionsView implements vscode.TreeDataProvider<Session> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly manager: SessionManager) {
    manager.onDidChange(() => this.changed.fire());
  }

  getChildren(element?: Session): Session[] {
    return element ? [] : [...this.manager.sessions];
  }

  getTreeItem(s: Session): vscode.TreeItem {
    const v = s.view();
    const name = path.basename(v.source.replace(/^unix:/, ''));
    const item = new vscode.TreeItem(inert(v.kind === 'ivshmem' ? `${name} (ivshmem)` : name), vscode.TreeItemCollapsibleState.None);
    const state = v.state.name;
    const parts = [formatBytes(v.size), stateLabel(v.state), v.writable ? 'read-write' : 'read-only'];
    if (v.peerId !== undefined) parts.push(`peer ${v.peerId}`);
    parts.push(v.source);
    item.description = inert(parts.join(' · '));
    item.tooltip = inert(state === 'live' ? `${v.kind} ${v.source}` : stateSentence(v.state));
    // session-live, session-paused, session-lost, session-guest (package.json menus use them).
    item.contextValue = `session-${state}`;
    item.iconPath = new vscode.ThemeIcon(state === 'live' ? 'pulse' : state === 'paused' ? 'debug-pause' : 'debug-disconnect');
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
