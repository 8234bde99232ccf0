import * as vscode from 'vscode';
import { formatValue } from '../core/layout/decode';
import { children, regionNodes, type LayoutNode } from '../core/layout/navigate';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { inert, markdown } from './outside-text';
import { viewSettings } from './settings';

export type RegionItem =
  | { kind: 'node'; session: Session; node: LayoutNode }
  | { kind: 'more'; session: Session; node: LayoutNode; from: number }
  | { kind: 'bar0'; session: Session }
  | { kind: 'info'; session: Session; label: string; value: string; tooltip?: string };

const PAGE = 500;

function typeText(node: LayoutNode): string {
  const t = node.field?.type;
  if (!t) return node.region.isArray ? `${node.region.count} × ${node.region.struct.name ?? 'struct'}` : 'struct';
  const base = t.kind === 'primitive' ? t.name : t.kind === 'struct' ? (t.name ?? 'struct') : `${t.kind}[${t.size}]`;
  return node.kind === 'array' ? `${base}[${node.field!.count}]` : base;
}

/**
 * The Regions view: the active session's layout as a tree of regions and fields with their values,
 * decoded from the bytes the session keeps current with each tick. A value that changed shows a
 * dot for the highlight's fade time. Selecting a field selects its bytes in the hex view.
 */
export class RegionsView implements vscode.TreeDataProvider<RegionItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RegionItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly last = new Map<string, { value: string; changedAt: number }>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];
  private watched: Session | undefined;

  constructor(private readonly manager: SessionManager) {
    manager.onDidChange(() => this.follow());
  }

  /** Follows the active session's ticks (refreshing at most ten times a second). */
  private follow(): void {
    const s = this.manager.active;
    if (s !== this.watched) {
      for (const d of this.subscriptions.splice(0)) d.dispose();
      this.watched = s;
      if (s) this.subscriptions.push(s.onDidChangeBytes(() => this.refreshSoon()));
    }
    this.refreshSoon();
  }

  private refreshSoon(delay = 100): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.changed.fire(undefined);
    }, delay);
  }

  async getChildren(item?: RegionItem): Promise<RegionItem[]> {
    if (!item) {
      const s = this.manager.active;
      if (!s) return [];
      const out: RegionItem[] = [];
      if (s.remote.info.kind === 'ivshmem') out.push({ kind: 'bar0', session: s });
      if (s.layout) out.push(...regionNodes(s.layout).map((node): RegionItem => ({ kind: 'node', session: s, node })));
      return out;
    }
    if (item.kind === 'bar0') return bar0(item.session);
    if (item.kind === 'info') return [];
    const from = item.kind === 'more' ? item.from : 0;
    const kids = children(item.node, from, PAGE);
    await this.ensureBytes(item.session, kids);
    const out: RegionItem[] = kids.map((node) => ({ kind: 'node', session: item.session, node }));
    const total = item.node.kind === 'array' ? (item.node.field ? item.node.field.count : item.node.region.count) : 0;
    if (total > from + PAGE) out.push({ kind: 'more', session: item.session, node: item.node, from: from + PAGE });
    return out;
  }

  /** Values outside the watched part of a region are read once, when the node is expanded. */
  private async ensureBytes(session: Session, nodes: LayoutNode[]): Promise<void> {
    const first = nodes[0];
    const last = nodes.at(-1);
    if (!first || !last || session.state.name === 'lost') return;
    const from = first.offset;
    const to = Math.min(last.offset + last.size, from + 64 * 1024);
    if (session.peek(from, to - from)) return;
    try {
      await session.remote.read(from, to - from);
    } catch {
      // shown as unknown values
    }
  }

  getTreeItem(item: RegionItem): vscode.TreeItem {
    switch (item.kind) {
      case 'bar0': {
        const t = new vscode.TreeItem('BAR0 (ivshmem registers, as the guest sees them)', vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `${item.session.id}:bar0`;
        t.iconPath = new vscode.ThemeIcon('circuit-board');
        return t;
      }
      case 'info': {
        const t = new vscode.TreeItem(item.label);
        t.description = item.value;
        if (item.tooltip) t.tooltip = item.tooltip;
        return t;
      }
      case 'more': {
        const total = item.node.field ? item.node.field.count : item.node.region.count;
        const t = new vscode.TreeItem(`[${item.from}..${Math.min(total, item.from + PAGE) - 1}] …`, vscode.TreeItemCollapsibleState.Collapsed);
        t.id = `${item.session.id}:${item.node.path}:more:${item.from}`;
        return t;
      }
      case 'node':
        return this.nodeItem(item.session, item.node);
    }
  }

  private nodeItem(session: Session, node: LayoutNode): vscode.TreeItem {
    const leaf = node.kind === 'value';
    // Names, types and descriptions come from the layout file: outside text.
    const t = new vscode.TreeItem(inert(node.label), leaf ? vscode.TreeItemCollapsibleState.None : vscode.TreeItemCollapsibleState.Collapsed);
    t.id = `${session.id}:${node.path}`;
    const description = node.field?.description ?? (node.field ? undefined : node.region.description);
    t.tooltip = markdown({ md: '**' }, node.path, { md: '** — ' }, `${typeText(node)} at 0x${node.offset.toString(16)}, ${node.size} byte(s)`, ...(description ? [{ md: '\n\n' }, description] : []));
    t.contextValue = 'layoutNode';
    if (!leaf) {
      t.description = inert(`${typeText(node)} @0x${node.offset.toString(16)}`);
      if (!node.field && node.region.color) t.iconPath = new vscode.ThemeIcon('symbol-structure');
      return t;
    }
    const bytes = session.peek(node.offset, node.size);
    const value = bytes ? formatValue(node.field!, bytes) : '…';
    const now = Date.now();
    const seen = this.last.get(t.id);
    if (bytes && seen && seen.value !== value) this.last.set(t.id, { value, changedAt: now });
    else if (!seen && bytes) this.last.set(t.id, { value, changedAt: 0 });
    const fade = viewSettings().highlightFadeMs;
    const recent = now - (this.last.get(t.id)?.changedAt ?? 0) < fade;
    t.description = inert(value);
    t.iconPath = recent ? new vscode.ThemeIcon('circle-filled', new vscode.ThemeColor('charts.orange')) : new vscode.ThemeIcon('symbol-field');
    // The dot goes away after the fade even if nothing else changes.
    if (recent) this.refreshSoon(fade);
    return t;
  }

  /** For tests and commands: the items under the root, resolved. */
  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.changed.dispose();
  }
}

/** What BAR0 holds for this peer, and the peer table: registers a guest would read. */
function bar0(session: Session): RegionItem[] {
  const id = session.remote.info.peerId ?? 0;
  const t = session.table;
  const info = (label: string, value: string, tooltip?: string): RegionItem => ({ kind: 'info', session, label, value, tooltip });
  const items: RegionItem[] = [
    info('0x00 IntrMask', '0 (no interrupts masked)', 'Interrupt mask (only used without MSI-X)'),
    info('0x04 IntrStatus', '0', 'Interrupt status (only used without MSI-X)'),
    info('0x08 IVPosition', `${id} (this peer's ID)`, 'Read-only: the ID the server gave this peer'),
    info('0x0c Doorbell', 'write (peer << 16) | vector', `e.g. ring peer 1, vector 0: write 0x${(1 << 16).toString(16).padStart(8, '0')}`),
  ];
  if (t) {
    items.push(info(`own vectors`, `${t.interrupts.length}: received ${t.interrupts.join(', ') || 'nothing'}`));
    for (const p of t.peers) items.push(info(`peer ${p.id}`, `${p.vectors} vector(s); doorbell 0x${((p.id << 16) >>> 0).toString(16).padStart(8, '0')} + vector`));
  }
  return items;
}
