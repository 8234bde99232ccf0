import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import { looksLikeRecording } from '../core/record/reader';
import { HEAT_BUCKETS } from '../core/watch/heat';
import { DiffPanel } from './diff-panel';
import { inert } from './outside-text';
import type { Log } from './log';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import { SessionDocument } from './session-document';
import { TimelinePanel } from './timeline-panel';

export const TIMELINE_EDITOR = 'shmemInspector.timeline';

/**
 * The timeline editor for .shmrec files. The recording is opened (its records scanned: about a
 * second for an hour at 100 Hz) in an agent, never in the extension host, as a session whose
 * source is the recording at the timeline's time; its hex view opens beside the timeline.
 */
export class TimelineEditorProvider implements vscode.CustomReadonlyEditorProvider<SessionDocument> {
  private readonly panels = new Map<Session, TimelinePanel>();

  constructor(
    private readonly manager: SessionManager,
    private readonly log: Log,
    private readonly extensionUri: vscode.Uri,
    /** Where the diff views it opens are disposed with the extension. */
    private readonly subscriptions: vscode.Disposable[],
  ) {}

  async openCustomDocument(uri: vscode.Uri): Promise<SessionDocument> {
    // Checked before an agent opens it: a *.shmrec that is a FIFO or a socket is not read.
    if (!looksLikeRecording(uri.fsPath)) throw new InputError(`${uri.fsPath} is not a recording (no SHMREC header, or not a regular file)`);
    const session = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: inert(`Opening ${path.basename(uri.fsPath)}`) }, () => this.manager.attach(uri.fsPath, { recording: true }));
    session.marks.setStep({ timeMs: 0, sample: 0, changed: [] });
    session.remote.heat(HEAT_BUCKETS).then(
      (h) => session.marks.setHeat({ sliceSize: h.sliceSize, counts: Uint32Array.from(h.counts) }),
      (err: unknown) => this.log.report(err, `the heat of ${uri.fsPath}`),
    );
    return new SessionDocument(uri, session, this.manager);
  }

  resolveCustomEditor(document: SessionDocument, panel: vscode.WebviewPanel): void {
    const session = document.session;
    const timeline = new TimelinePanel(panel, session, this.extensionUri, this.log, {
      showHex: () => this.showHex(session),
      compare: async (aMs, bMs) => this.subscriptions.push(await compareMoments(session, aMs, bMs, { manager: this.manager, log: this.log, extensionUri: this.extensionUri })),
    });
    this.panels.set(session, timeline);
    panel.onDidDispose(() => this.panels.delete(session));
  }

  /** The timeline of a recording session, if its editor is open. */
  timelineOf(session: Session): TimelinePanel | undefined {
    return this.panels.get(session);
  }

  /** The recording's hex view, beside the timeline (where its recorded range starts); the timeline opens it once its page is up. */
  private showHex(session: Session): void {
    this.manager.openPanel(session, session.remote.recording?.header.rangeOffset ?? 0, undefined, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
  }
}

/**
 * Compare Two Moments: the recording at aMs and at bMs written as two snapshots (by the session's
 * agent; the timeline does not move) into a private temporary folder, compared in the diff view,
 * and removed once the diff view has them open.
 */
export async function compareMoments(session: Session, aMs: number, bMs: number, context: { manager: SessionManager; log: Log; extensionUri: vscode.Uri }): Promise<DiffPanel> {
  if (session.remote.info.kind !== 'recording') throw new InputError(`${session.remote.source} is not a recording: open a .shmrec to compare two of its moments`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-inspect-moments-'));
  try {
    const name = path.basename(session.remote.source).replace(/\.shmrec$/, '');
    const [a, b] = [aMs, bMs].map((t) => path.join(dir, `${name} at ${t.toFixed(3)} ms.shmsnap`.slice(-200))) as [string, string];
    const layout = session.layout;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: inert(`Replaying ${name} at ${aMs.toFixed(1)} and ${bMs.toFixed(1)} ms`), cancellable: true }, async (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      await session.remote.replay(aMs, a, { signal: abort.signal, ...(layout ? { layout: layout.text } : {}) });
      await session.remote.replay(bMs, b, { signal: abort.signal, ...(layout ? { layout: layout.text } : {}) });
    });
    const panel = await DiffPanel.open({ a, b, ...(layout ? { layout } : {}) }, context);
    context.log.info(`compared ${session.remote.source} at ${aMs} ms with ${bMs} ms: ${panel.summary?.changedBytes ?? 0} byte(s) differ`);
    return panel;
  } finally {
    // The diff's agents hold the snapshots open: the names can go now.
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
