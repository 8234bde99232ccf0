import * as path from 'node:path';
import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import { hex, type Range } from '../core/numbers';
import { formatValue, readPrimitive } from '../core/layout/decode';
import type { Field } from '../core/layout/model';
import { fieldAt, nodeByPath, regionNodes, values } from '../core/layout/navigate';
import { MAX_HISTORY_SCOPE } from '../agent/protocol';
import type { Server } from '../shared/messenger';
import { timelineProtocol, type FieldHistory, type Position, type Scope, type TimelineField, type TimelineModel } from '../webview/timeline-protocol';
import { setWebviewPage } from './webview-page';
import { serveWebview } from './webview-server';
import { inert } from './outside-text';
import type { Log } from './log';
import type { Session } from './session';

/** The fields offered in the timeline's list; a layout of a million slots offers its first ones. */
const MAX_FIELDS = 2000;
/** A history lists at most this many changes. */
const MAX_POINTS = 5000;

/**
 * The timeline editor of one recording: a scrubber over the whole recording with its change
 * density, play, steps by scope, a field's history as a chart, Compare Two Moments. It drives the
 * recording's session: each seek moves the session's source in its agent, so the session's hex
 * view and the Regions view show the segment at that time (one hex view for live segments,
 * snapshots and recordings), and the step's bytes are marked there.
 */
export class TimelinePanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly server: Server<typeof timelineProtocol>;
  private readonly model: TimelineModel;
  private shownHex = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly session: Session,
    extensionUri: vscode.Uri,
    log: Log,
    private readonly actions: { showHex(): void; compare(aMs: number, bMs: number): Promise<unknown> },
  ) {
    this.model = modelOf(session);
    setWebviewPage(panel.webview, extensionUri, { script: 'timeline.js', style: 'timeline.css', title: 'Shared Memory timeline' });
    panel.title = inert(path.basename(this.model.file));
    const served = serveWebview(
      panel,
      'timeline',
      timelineProtocol,
      log,
      {
        seek: async (r) => this.moved(await session.remote.seek(r.timeMs), true),
        step: async (r) => this.moved(await session.remote.seek(r.fromMs, { step: r.direction, ...this.range(r.scope) }), false),
        density: async (r) => ({ counts: await session.remote.density(r.buckets, this.range(r.scope).scope) }),
        history: (r) => this.history(r.scope),
        compare: async (r) => {
          await this.actions.compare(r.aMs, r.bMs);
          return {};
        },
        showHex: () => {
          this.actions.showHex();
          return {};
        },
      },
      {
        ready: () => {
          this.server.notify('model', this.model);
          this.server.notify('selection', this.selection());
          // The hex view opens once this page is up: two webviews created at the same moment in
          // code-server sometimes left the second without its script (seen: 1 of 4 openings).
          if (!this.shownHex) {
            this.shownHex = true;
            this.actions.showHex();
          }
        },
      },
    );
    this.server = served.server;
    this.disposables.push(
      served.subscription,
      panel.onDidDispose(() => this.dispose()),
      session.marks.onDidChangeSelection(() => this.server.notify('selection', this.selection())),
    );
  }

  /** Moves the timeline from outside the page (a command); the page follows. */
  async seek(timeMs: number): Promise<Position> {
    const p = this.moved(await this.session.remote.seek(timeMs), true);
    this.server.notify('position', p);
    return p;
  }

  /** After a seek or a step: the step's bytes are marked in the session's views. */
  private moved(r: { timeMs: number; sample: number; changed: Range[]; found: boolean }, seeking: boolean): Position {
    if (r.found) this.session.marks.setStep({ timeMs: r.timeMs, sample: r.sample, changed: r.changed });
    return { timeMs: r.timeMs, sample: r.sample, changedBytes: r.changed.reduce((n, c) => n + c.length, 0), found: seeking || r.found };
  }

  /** The hex view's selection, and the layout's field when it is exactly one. */
  private selection(): { offset: number; length: number; field: string | null } | null {
    const sel = this.session.marks.selection;
    if (!sel) return null;
    const layout = this.session.layout;
    const node = layout ? fieldAt(layout, sel.offset) : undefined;
    return { ...sel, field: node && node.offset === sel.offset && node.size === sel.length ? node.path : null };
  }

  /** A scope as bytes: undefined for everything. */
  private range(scope: Scope): { scope?: Range } {
    if (scope.kind === 'all') return {};
    if (scope.kind === 'selection') {
      const sel = this.session.marks.selection;
      if (!sel) throw new InputError('nothing is selected in the hex view');
      return { scope: sel };
    }
    const node = this.node(scope.path);
    return { scope: { offset: node.offset, length: node.size } };
  }

  private node(fieldPath: string): { offset: number; size: number; field?: Field } {
    const layout = this.session.layout;
    if (!layout) throw new InputError('this recording has no layout: select bytes in the hex view instead');
    const node = nodeByPath(layout, fieldPath);
    if (!node) throw new InputError(`the layout has no field ${fieldPath}`);
    return node;
  }

  private async history(scope: Scope): Promise<FieldHistory> {
    if (scope.kind === 'all') throw new InputError('a history is of a field or of selected bytes');
    const { scope: range } = this.range(scope);
    if (!range || range.length > MAX_HISTORY_SCOPE) throw new InputError(`a history covers at most ${MAX_HISTORY_SCOPE} bytes: select fewer`);
    const field = scope.kind === 'field' ? this.node(scope.path).field : undefined;
    const leaf = field && field.type.kind !== 'struct' && field.count === 1 && field.type.size === range.length ? field : undefined;
    const numeric = leaf !== undefined && isNumeric(leaf);
    const text = (bytes: Uint8Array): string => (leaf ? formatValue(leaf, bytes) : Buffer.from(bytes).toString('hex'));
    const value = (bytes: Uint8Array): number | null => (numeric ? Number(readPrimitive(leaf!, bytes)) : null);
    const { changes, truncated } = await this.session.remote.history(range, MAX_POINTS);
    // A scope that never changed has its first bytes at every moment.
    const first = changes[0]?.before ?? (await this.session.remote.read(range.offset, range.length));
    return {
      name: scope.kind === 'field' ? scope.path : `${hex(range.offset)}+${range.length}`,
      kind: numeric ? 'number' : 'text',
      initial: { value: value(first), text: text(first) },
      points: changes.map((c) => ({ timeMs: c.timeMs, sample: c.sample, value: value(c.after), text: text(c.after), old: text(c.before) })),
      truncated,
    };
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

/** Integers and floats are charted; bool, enums and flags are states, listed. */
function isNumeric(f: Field): boolean {
  return f.type.kind === 'primitive' && f.type.name !== 'bool' && !f.enumNames && !f.flags;
}

function modelOf(session: Session): TimelineModel {
  const rec = session.remote.recording;
  if (!rec) throw new InputError(`${session.remote.source} is not a recording`);
  const { header: h, summary: s } = rec;
  const fields: TimelineField[] = [];
  let truncated = false;
  const layout = session.layout;
  if (layout) {
    outer: for (const region of regionNodes(layout)) {
      for (const node of values(region)) {
        if (fields.length === MAX_FIELDS) {
          truncated = true;
          break outer;
        }
        const f = node.field!;
        fields.push({ path: node.path, offset: node.offset, length: node.size, kind: isNumeric(f) ? 'number' : 'text' });
      }
    }
  }
  return {
    file: session.remote.source,
    source: h.source,
    startTime: h.startTime,
    durationMs: s.durationMs,
    intervalMs: h.intervalMs,
    samples: s.samples,
    changeSamples: s.changeSamples,
    changedBytes: s.changedBytes,
    missedTicks: s.missedTicks,
    fileBytes: s.fileBytes,
    range: { offset: h.rangeOffset, length: h.rangeLength },
    segmentSize: h.segmentSize,
    ended: s.end ? `${s.end.reason}${s.end.message ? `: ${s.end.message}` : ''}` : null,
    tail: s.tail ? `${s.tail.bytes} byte(s) at ${s.tail.offset} were ignored: ${s.tail.reason}` : null,
    fields,
    fieldsTruncated: truncated,
  };
}
