import * as path from 'node:path';
import * as vscode from 'vscode';
import { SourceLostError } from '../core/errors';
import { formatBytes, hex, type Range } from '../core/numbers';
import type { RecordResult, RecordStats } from '../core/record/recorder';
import type { Log } from './log';
import type { Session } from './session';

/** A recording running in a session's agent. */
export interface ActiveRecording {
  readonly session: Session;
  readonly target: string;
  readonly range: Range;
  /** Its latest figures (the agent sends them about once a second). */
  readonly stats: RecordStats | undefined;
}

interface Running extends ActiveRecording {
  stats: RecordStats | undefined;
  abort: AbortController;
  done: Promise<RecordResult | undefined>;
}

/** What the status bar says while recordings run; undefined when none does. */
export function recordingStatusText(list: readonly ActiveRecording[]): string | undefined {
  if (list.length === 0) return undefined;
  const bytes = list.reduce((n, r) => n + (r.stats?.fileBytes ?? 0), 0);
  if (list.length > 1) return `$(record) ${list.length} recordings · ${formatBytes(bytes)}`;
  return `$(record) REC ${path.basename(list[0]!.target)} · ${formatBytes(bytes)}`;
}

/** Why a recording ended, in words. */
function ending(result: RecordResult): string {
  switch (result.reason) {
    case 'stopped':
      return 'stopped';
    case 'detached':
      return 'ended: the session was detached';
    case 'source-lost':
      return `ended: the source went away (${result.message})`;
    case 'max-size':
      return `ended at its size limit (${result.message})`;
    case 'duration':
      return 'ended after its duration';
  }
}

/**
 * The recordings that run in sessions' agents (one per session): Start and Stop Recording, the
 * status bar's figures, and, however a recording ends (stopped, the session detached, the source
 * gone, the agent killed), a notification that says where the file is, with Open.
 */
export class Recordings implements vscode.Disposable {
  private readonly running = new Map<Session, Running>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly log: Log,
    private readonly open: (file: vscode.Uri) => Thenable<unknown>,
  ) {}

  get all(): readonly ActiveRecording[] {
    return [...this.running.values()];
  }

  of(session: Session): ActiveRecording | undefined {
    return this.running.get(session);
  }

  /**
   * Starts recording `range` of the session into target; resolves once the first state is in the
   * file (from then on every change is recorded), rejects if the recording could not start.
   */
  async start(session: Session, target: string, options: { force: boolean; range: Range; intervalMs: number; layout?: string }): Promise<ActiveRecording> {
    if (this.running.has(session)) throw new Error('already recording');
    const abort = new AbortController();
    let started!: () => void;
    const first = new Promise<void>((resolve) => (started = resolve));
    const rec: Running = { session, target, range: options.range, stats: undefined, abort, done: Promise.resolve(undefined) };
    this.running.set(session, rec);
    const work = session.remote.record(target, {
      force: options.force,
      offset: options.range.offset,
      length: options.range.length,
      intervalMs: options.intervalMs,
      ...(options.layout === undefined ? {} : { layout: options.layout }),
      signal: abort.signal,
      onStats: (stats) => {
        rec.stats = stats;
        started();
        this.changed.fire();
      },
    });
    rec.done = work.then(
      (result) => {
        this.ended(rec, result);
        return result;
      },
      (err: unknown) => {
        this.failed(rec, err);
        return undefined;
      },
    );
    // Either the first figures (the first state is written) or the end, whichever comes first.
    await Promise.race([first, rec.done]);
    if (!rec.stats) {
      await work; // rethrows why it could not start
      throw new Error('the recording ended before it started');
    }
    this.log.info(`recording ${session.remote.source} ${hex(options.range.offset)}+${options.range.length} every ${options.intervalMs} ms into ${target}`);
    this.changed.fire();
    return rec;
  }

  /** Stops the session's recording; resolves with its figures once the file is ended in order. */
  async stop(session: Session): Promise<RecordResult | undefined> {
    const rec = this.running.get(session);
    if (!rec) return undefined;
    rec.abort.abort();
    return rec.done;
  }

  private ended(rec: Running, result: RecordResult): void {
    this.forget(rec);
    const seconds = (result.elapsedMs / 1000).toFixed(1);
    const text = `Recording ${ending(result)}: ${result.path} (${seconds} s, ${result.changeSamples} samples with changes, ${formatBytes(result.fileBytes)}).`;
    this.offerOpen(text, result.path, result.reason !== 'stopped' && result.reason !== 'duration');
  }

  /** The agent went before it answered (killed, or closed by a detach): the file is whole up to its last record. */
  private failed(rec: Running, err: unknown): void {
    this.forget(rec);
    if (!rec.stats) return; // it never started: start() reports why
    if (err instanceof SourceLostError) {
      this.offerOpen(`Recording ended (${err.message}): ${rec.target} holds everything up to its last whole record.`, rec.target, true);
    } else this.log.report(err, `recording ${rec.target}`);
  }

  private offerOpen(text: string, file: string, warn: boolean): void {
    void this.log.offer(text, 'Open', warn).then((open) => (open ? this.open(vscode.Uri.file(file)) : undefined));
  }

  private forget(rec: Running): void {
    if (this.running.get(rec.session) === rec) this.running.delete(rec.session);
    this.changed.fire();
  }

  dispose(): void {
    for (const rec of this.running.values()) rec.abort.abort();
    this.changed.dispose();
  }
}
