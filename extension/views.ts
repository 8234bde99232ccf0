import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../core/numbers';
import type { Session } from './session';
import type { SessionManager } from './session-manager';

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
    const item = new vscode.TreeItem(v.kind === 'ivshmem' ? `${name} (ivshmem)` : name, vscode.TreeItemCollapsibleState.None);
    const parts = [formatBytes(v.size), v.state, v.writable ? 'read-write' : 'read-only'];
    if (v.peerId !== undefined) parts.push(`peer ${v.peerId}`);
    parts.push(v.source);
    item.description = parts.join(' · ');
    item.tooltip = v.state === 'disconnected' ? `disconnected: ${v.reason}` : `${v.kind} ${v.source}`;
    if (v.guestCopy) item.description = `${item.description} · guest copy`;
    item.contextValue = v.guestCopy ? 'session-guest' : `session-${v.state}`;
    item.iconPath = new vscode.ThemeIcon(v.state === 'live' ? 'pulse' : v.state === 'paused' ? 'debug-pause' : 'debug-disconnect');
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
        item.description = `${p.interrupts.length} vector(s) · ${p.session.remote.source}`;
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
