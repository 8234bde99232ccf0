import * as fs from 'node:fs';
import { InputError, SourceLostError, errorCode } from '../core/errors';
import { resolveRange } from '../core/numbers';
import { discardTemp } from '../core/atomic-file';
import { writeSnapshot } from '../core/snapshot/writer';
import { searchSource } from '../core/search';
import { diffSources } from '../core/diff/diff';
import { summarize } from '../core/diff/summary';
import { checkAgainstSegment, compileLayout } from '../core/layout/compile';
import { damagedMessage } from '../core/snapshot/integrity';
import { withChecks } from '../core/snapshot/checked-pass';
import type { Layout } from '../core/layout/model';
import { threeWay } from '../core/reconnect/three-way';
import { applyMaster, fieldVerdicts, plan, type Role } from '../core/reconnect/roles';
import type { Source } from '../core/source';
import { openSource, resolveSourceSpec, type SourceSpec } from '../core/sources/open-source';
import { SnapshotSource } from '../core/sources/snapshot-source';
import type { IvshmemSource } from '../core/sources/ivshmem-source';
import { RangeWatcher } from '../core/watch/range-watcher';
import { Server, type Params, type RequestContext, type Reply, type Wire } from '../shared/messenger';
import { IDLE_AFTER_MS, agentProtocol, type AgentProtocol, type RecordingOverview, type SnapshotSummary } from './protocol';
import { Recorder } from '../core/record/recorder';
import { RecordingSource } from '../core/sources/recording-source';
import { slices } from '../core/watch/heat';

type Send = (message: Wire) => void;
type Replies = { [K in keyof AgentProtocol['requests'] & string]: Reply<AgentProtocol, K> };

/**
 * The agent's side of the protocol: one source, at most one watch, and any number of long
 * operations that can be cancelled. Runs in the agent process (see main.ts); kept free of
 * process globals so that tests can drive it in-process too.
 */
export class AgentServer {
  private source: Source | undefined;
  private opening = false;
  private watcher: RangeWatcher | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  /** Samples the running watch now (a recording's cursor moved), instead of at its next tick. */
  private tickNow: (() => void) | undefined;
  private readonly server: Server<AgentProtocol>;
  /** The recording in progress (one per agent): a cancel or a close ends its file in order. */
  private recorder: Recorder | undefined;
  /** Temporary files being written, removed if the agent is told to stop. */
  readonly tempFiles = new Set<string>();
  /** The parent asked us to close: the process may leave once that was answered. */
  closed = false;

  constructor(
    send: Send,
    private readonly options: { skipChecks?: boolean; pauseMidRecordMs?: number } = {},
  ) {
    this.server = new Server(
      agentProtocol,
      {
        post: send,
        describe: (err) => {
          const code = errorCode(err);
          return { code, message: code === 'internal' ? `internal error in the agent: ${(err as Error)?.stack ?? String(err)}` : (err as Error).message };
        },
        // Nobody to answer (or an answer is on its way): say so on stderr for the parent's log.
        onMalformed: (err) => process.stderr.write(`agent: dropped a malformed message: ${err.message}\n`),
        onHandlerError: (err) => process.stderr.write(`agent: ${(err as Error)?.stack ?? String(err)}\n`),
      },
      {
        open: (r) => this.open(r.source, r.writable, r.recording ?? false),
        read: (r) => {
          const source = this.requireSource();
          const range = resolveRange(source.info.size, r.offset, r.length);
          const bytes = new Uint8Array(range.length);
          source.read(range.offset, bytes);
          return { bytes };
        },
        write: (r) => {
          const source = this.requireSource();
          const range = resolveRange(source.info.size, r.offset, r.bytes.length);
          source.write(range.offset, r.bytes);
          return {};
        },
        watch: (r) => this.watch(r.ranges, r.intervalMs, r.idleIntervalMs),
        unwatch: () => {
          this.stopWatch();
          return {};
        },
        snapshot: (r, context) => this.snapshot(context, r.target, r.tempPath, r.force, r.layout, r.consistent ?? false),
        verify: (_r, context) => {
          const source = this.requireSource();
          if (!(source instanceof SnapshotSource)) throw new InputError('only snapshots carry checksums to verify');
          return source.file.verify(work(context));
        },
        peers: () => this.requireIvshmem().table(),
        diff: (r, context) => this.diff(context, r.other, r.layout, r.maxRanges, r.layoutName),
        reconnect: (r, context) => this.reconnect(context, r.base, r.local, r.role, r.dryRun, r.layout),
        search: async (r, context) => {
          const source = this.requireSource();
          const from = resolveRange(source.info.size, r.from, 0).offset;
          return { offset: await searchSource(source, r.pattern, from, work(context)) };
        },
        ring: (r) => {
          this.requireIvshmem().ring(r.peer, r.vector);
          return {};
        },
        record: (r, context) => this.record(context, r),
        seek: (r) => {
          const source = this.requireRecording();
          const scope = source.scope(r.scope);
          let found = true;
          let target = r.timeMs;
          if (r.step) {
            const step = r.step === 'next' ? source.timeline.next(r.timeMs, scope) : source.timeline.previous(r.timeMs, scope);
            found = step !== undefined;
            target = step?.timeMs ?? source.step.timeMs;
          }
          const step = found ? source.seek(target) : source.step;
          this.tickNow?.();
          return { ...step, found };
        },
        density: (r) => {
          const source = this.requireRecording();
          const duration = source.file.summary().durationMs;
          // The last bucket ends just past the last change, so that it is counted.
          return { counts: [...source.timeline.density(0, duration + 0.001, r.buckets, source.scope(r.scope))] };
        },
        heat: (r) => {
          const source = this.requireRecording();
          const parts = slices(source.info.size, r.buckets);
          // Slices before the recorded range never changed: heat() counts only what the recording holds.
          const counts = source.timeline.heat(parts);
          return { sliceSize: parts[0]?.length ?? 1, counts: [...counts] };
        },
        history: (r) => {
          const source = this.requireRecording();
          const changes: { timeMs: number; sample: number; before: Uint8Array; after: Uint8Array }[] = [];
          let truncated = false;
          for (const c of source.timeline.history(source.scope(r.scope)!)) {
            if (changes.length === r.max) {
              truncated = true;
              break;
            }
            changes.push({ timeMs: c.timeMs, sample: c.sample, before: c.before, after: c.after });
          }
          return { changes, truncated };
        },
        replay: async (r, context) => {
          const source = this.requireRecording();
          const moment = source.at(r.atMs);
          this.tempFiles.add(r.tempPath);
          try {
            const result = await writeSnapshot(moment.source, { target: r.target, force: r.force, tempPath: r.tempPath, layout: r.layout, peerId: source.info.peerId, ...work(context) });
            return { ...result, timeMs: moment.step.timeMs };
          } finally {
            this.tempFiles.delete(r.tempPath);
          }
        },
        close: () => {
          this.close();
          this.closed = true;
          return {};
        },
      },
      {},
    );
  }

  /** One message from the parent; resolves once a request it carried has been answered. */
  handle(message: unknown): Promise<void> {
    return this.server.receive(message);
  }

  private requireIvshmem(): IvshmemSource {
    const source = this.requireSource();
    if (!isIvshmem(source)) throw new InputError('this source is not an ivshmem server: it has no peers or doorbells');
    return source;
  }

  private requireRecording(): RecordingSource {
    const source = this.requireSource();
    if (!(source instanceof RecordingSource)) throw new InputError('this source is not a recording: it has no timeline');
    return source;
  }

  private requireSource(): Source {
    if (!this.source) throw new InputError('no source is open');
    return this.source;
  }

  private async open(text: string, writable: boolean, recording: boolean): Promise<Replies['open']> {
    if (this.source || this.opening) throw new InputError('this agent already has a source open');
    if (recording && writable) throw new InputError(`${text} is a recording: recordings are read-only`);
    this.opening = true;
    let spec: SourceSpec;
    let source: Source;
    try {
      // A recording is a source only when asked for one (the timeline): elsewhere it is refused by name.
      spec = recording ? { kind: 'file', path: text } : resolveSourceSpec(text);
      source = recording ? RecordingSource.open(text) : await openSource(spec, { writable, skipChecks: this.options.skipChecks });
    } finally {
      this.opening = false;
    }
    this.source = source;
    if (isIvshmem(source)) source.client.onChange(() => this.server.notify('peers', { table: source.table() }));
    source.onGone((reason) => {
      this.stopWatch();
      this.server.notify('gone', { reason });
    });
    let snapshot: SnapshotSummary | undefined;
    if (source instanceof SnapshotSource) {
      const h = source.file.header;
      snapshot = {
        formatVersion: h.version,
        headerLength: h.headerLength,
        time: h.time,
        blockSize: h.blockSize,
        blocks: h.blockChecksums.length,
        peerId: h.peerId,
        checked: h.checked,
        tornRanges: h.torn.length,
        layoutBytes: h.layout === undefined ? 0 : Buffer.byteLength(h.layout),
        layout: h.layout,
        source: h.source,
      };
    }
    let overview: RecordingOverview | undefined;
    if (source instanceof RecordingSource) {
      const h = source.file.header;
      const header = { segmentSize: h.segmentSize, rangeOffset: h.rangeOffset, rangeLength: h.rangeLength, intervalMs: h.intervalMs, startTime: h.startTime, peerId: h.peerId, chunkSize: h.chunkSize, source: h.source, layout: h.layout };
      overview = { header, summary: source.file.summary() };
    }
    return { info: source.info, snapshot, ...(overview ? { recording: overview } : {}), identity: identityText(source, spec) };
  }

  private watch(ranges: { offset: number; length: number }[], intervalMs: number, idleIntervalMs = intervalMs): Replies['watch'] {
    const source = this.requireSource();
    const checked = ranges.map((r) => resolveRange(source.info.size, r.offset, r.length));
    this.stopWatch();
    const watcher = new RangeWatcher(source, checked);
    this.watcher = watcher;
    // Each wake-up costs ~0.2 ms of CPU on a small VM before any work: a view nobody writes to is
    // sampled at the idle pace, and the first change seen brings the fast pace back.
    let lastChange = Date.now();
    this.tickNow = () => {
      if (this.watchTimer) clearTimeout(this.watchTimer);
      tick();
    };
    const tick = (): void => {
      if (this.watcher !== watcher) return;
      try {
        const result = watcher.tick();
        if (result.changes.length > 0) {
          lastChange = result.time;
          this.server.notify('changes', { time: result.time, changes: result.changes });
        }
      } catch (err) {
        // SourceLostError: the gone event has been sent by onGone already.
        if (!(err instanceof SourceLostError)) this.server.notify('gone', { reason: `watch failed: ${(err as Error).message}` });
        this.stopWatch();
        return;
      }
      // The next tick is scheduled after this one finished, so ticks never pile up.
      this.watchTimer = setTimeout(tick, Date.now() - lastChange >= IDLE_AFTER_MS ? Math.max(intervalMs, idleIntervalMs) : intervalMs);
    };
    this.watchTimer = setTimeout(tick, intervalMs);
    return { baseline: watcher.last.map((b) => b.slice()) };
  }

  private stopWatch(): void {
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    this.watcher = undefined;
    this.tickNow = undefined;
  }

  /**
   * Opens B next to this session's A (read-only, just for the diff), compares, closes B. Snapshot
   * sides are checked beside the comparison; ranges whose blocks fail come back as `damaged`.
   */
  private async diff(context: RequestContext, otherText: string, layoutText: string | undefined, maxRanges: number, layoutName = 'the layout'): Promise<Replies['diff']> {
    const a = this.requireSource();
    const layout = layoutText === undefined ? undefined : this.compile(layoutText);
    const b = await openSource(resolveSourceSpec(otherText), { writable: false });
    try {
      // The layout names bytes on both sides: it must fit B as well as A.
      if (layout) {
        for (const [side, s] of [['A', a], ['B', b]] as const) {
          const outside = checkAgainstSegment(layout, s.info.size);
          if (outside.length > 0) throw new InputError(`${layoutName} does not fit ${side} (${s.info.description}): ${outside[0]}`);
        }
      }
      const { result: reply, damage } = await withChecks([a, b], async ([x, y]) => {
        const result = await diffSources(x!, y!, { maxRanges, ...work(context) });
        const out: Replies['diff'] = { ...result, other: b.info };
        if (layout) Object.assign(out, summarize(layout, x!, y!, result.ranges));
        return out;
      }, () => context.signal.aborted);
      if (damage.length > 0) reply.damaged = damage.map((d) => ({ side: d.index === 0 ? ('a' as const) : ('b' as const), source: d.description, ranges: d.ranges }));
      return reply;
    } finally {
      b.close();
    }
  }

  /** The segment (this session) is "remote"; base and local are snapshots the agent opens. */
  private async reconnect(context: RequestContext, basePath: string, localPath: string, role: Role, dryRun: boolean, layoutText: string | undefined): Promise<Replies['reconnect']> {
    const remote = this.requireSource();
    const layout = layoutText === undefined ? undefined : this.compile(layoutText);
    const opened: Source[] = [];
    try {
      for (const p of [basePath, localPath]) opened.push(await openSource(resolveSourceSpec(p), { writable: false }));
      const [base, local] = opened as [Source, Source];
      for (const [name, s] of [['--base', base], ['--local', local]] as const) {
        if (s.info.size !== remote.info.size) throw new InputError(`${name} ${s.info.description} is ${s.info.size} bytes, the segment ${remote.info.size}: snapshots of a different segment`);
      }
      // base and local are checked beside the three-way; a damaged one is refused before anything
      // is reported or written.
      const { result, damage } = await withChecks([base, local], ([b, l]) => threeWay(b!, l!, remote, work(context)), () => context.signal.aborted);
      if (damage.length > 0) {
        const d = damage[0]!;
        throw new InputError(`${d.index === 0 ? '--base' : '--local'} ${damagedMessage(d.description, d.ranges)}; nothing was written`);
      }
      const rolePlan = plan(result, role);
      const reply: Replies['reconnect'] = { threeWay: result, plan: rolePlan };
      const warning = foreignBase(base, remote);
      if (warning) reply.warnings = [warning];
      if (layout) reply.fields = fieldVerdicts(layout, result.ranges, base, local, remote);
      if (role === 'master' && !dryRun) reply.applied = await applyMaster(rolePlan.writes, local, remote);
      return reply;
    } finally {
      for (const s of opened) s.close();
    }
  }

  /**
   * Samples the source into a .shmrec file until the recording stops by itself or is cancelled
   * (which ends the file in order and still replies with the figures). The file is written here,
   * next to the source: a SIGBUS that kills this process leaves it whole up to its last record.
   * For an ivshmem source, what our peer sees (peers joining and leaving, interrupts on our vectors)
   * goes on the same timeline, at the time it is seen.
   */
  private async record(context: RequestContext, r: Params<AgentProtocol, 'record'>): Promise<Replies['record']> {
    if (this.recorder) throw new InputError('this agent is already recording');
    const source = this.requireSource();
    const range = resolveRange(source.info.size, r.offset, r.length);
    if (r.layout !== undefined) this.compile(r.layout);
    const recorder = Recorder.start(source, {
      target: r.target,
      force: r.force,
      range,
      intervalMs: r.intervalMs,
      durationMs: r.durationMs,
      maxBytes: r.maxBytes,
      layout: r.layout,
      pauseMidRecordMs: this.options.pauseMidRecordMs,
      onStats: (stats) => this.server.notify('recording', { stats }),
    });
    this.recorder = recorder;
    const offEvents =
      isIvshmem(source)
        ? source.client.onEvent((e) =>
            recorder.event(e.type === 'peer-joined' ? { type: e.type, peer: e.id, vectors: e.vectors } : e.type === 'peer-left' ? { type: e.type, peer: e.id } : { type: e.type, vector: e.vector, count: e.count }),
          )
        : undefined;
    const stop = (): void => void recorder.stop('stopped');
    context.signal.addEventListener('abort', stop, { once: true });
    // The first figures say the first state is in the file: from now on every change is recorded.
    this.server.notify('recording', { stats: recorder.snapshotStats() });
    try {
      recorder.run();
      return await recorder.finished;
    } finally {
      context.signal.removeEventListener('abort', stop);
      offEvents?.();
      this.recorder = undefined;
    }
  }

  private compile(text: string): Layout {
    const compiled = compileLayout(text);
    const p = compiled.problems[0];
    if (!compiled.layout || p) throw new InputError(`the layout: ${p?.line}:${p?.column}: ${p?.message}`);
    return compiled.layout;
  }

  private async snapshot(context: RequestContext, target: string, tempPath: string, force: boolean, layout: string | undefined, consistent: boolean): Promise<Replies['snapshot']> {
    const source = this.requireSource();
    this.tempFiles.add(tempPath);
    try {
      return await writeSnapshot(source, {
        target,
        force,
        tempPath,
        layout,
        consistent,
        ...work(context),
      });
    } finally {
      this.tempFiles.delete(tempPath);
    }
  }

  /** Stops everything and removes temporary files; the process may exit after this. */
  close(): void {
    // A recording ends in order (an end record, synced) before its source goes.
    this.recorder?.stop('detached', 'its parent went away');
    this.stopWatch();
    // Long work still running ends as cancelled (its temporary file is removed just below).
    this.server.abortAll();
    for (const temp of this.tempFiles) discardTemp(temp);
    this.source?.close();
    this.source = undefined;
  }
}

/**
 * A base snapshot names the source it was taken from: when that is not this segment, the three-way
 * compares against another segment's past. Compared by device and inode when the named file is
 * still there (any spelling), by name otherwise (a server socket, a file gone since).
 */
function foreignBase(base: Source, remote: Source): string | undefined {
  if (!(base instanceof SnapshotSource)) return undefined;
  const taken = base.file.header.source;
  if (!taken) return undefined;
  let same: boolean;
  const id = remote.info.identity;
  try {
    const st = fs.statSync(taken);
    same = id !== undefined && st.dev === id.dev && st.ino === id.ino;
  } catch {
    same = taken === remote.info.description;
  }
  if (same || taken === remote.info.description) return undefined;
  return `--base ${base.info.description} was taken from ${taken}, not from ${remote.info.description}: the three-way compares against another segment's past`;
}

/**
 * Which object the source is, beyond its name: device and inode of the file, or of an ivshmem
 * server's memory (a server started again hands out a new one). A reconnect's Apply compares it
 * with the preview's: another file or server at the same place is not what the user saw.
 */
function identityText(source: Source, spec: SourceSpec): string {
  const id = source.info.identity;
  return id ? `${spec.kind}:${id.dev}:${id.ino}` : `${spec.kind}:${source.info.description}`;
}

/** A long request's progress and cancellation, as core's long operations take them. */
function work(context: RequestContext): { onProgress: (done: number, total: number) => void; isCancelled: () => boolean } {
  return { onProgress: (done, total) => context.progress(done, total), isCancelled: () => context.signal.aborted };
}

/** By kind, not instanceof: the ivshmem code (and its socket library) loads only for ivshmem sources. */
function isIvshmem(source: Source): source is IvshmemSource {
  return source.info.kind === 'ivshmem';
}
