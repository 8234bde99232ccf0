import { InputError, SourceLostError, errorCode } from '../core/errors';
import { resolveRange } from '../core/numbers';
import { discardTemp } from '../core/atomic-file';
import { writeSnapshot } from '../core/snapshot/writer';
import { searchSource } from '../core/search';
import { diffSources } from '../core/diff/diff';
import { summarize } from '../core/diff/summary';
import { compileLayout } from '../core/layout/compile';
import type { Layout } from '../core/layout/model';
import { threeWay } from '../core/reconnect/three-way';
import { applyMaster, fieldVerdicts, plan, type Role } from '../core/reconnect/roles';
import type { Source } from '../core/source';
import { openSource, resolveSourceSpec } from '../core/sources/open-source';
import { SnapshotSource } from '../core/sources/snapshot-source';
import type { IvshmemSource } from '../core/sources/ivshmem-source';
import { RangeWatcher } from '../core/watch/range-watcher';
import { MessageError, parseToAgent } from './codec';
import { IDLE_AFTER_MS, type AgentEvent, type AgentReplies, type AgentRequest, type FromAgent, type SnapshotSummary } from './protocol';

type Send = (message: FromAgent) => void;

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
  private readonly cancelled = new Set<number>();
  private readonly running = new Set<number>();
  /** Temporary files being written, removed if the agent is told to stop. */
  readonly tempFiles = new Set<string>();

  constructor(
    private readonly send: Send,
    private readonly options: { skipChecks?: boolean } = {},
  ) {}

  async handle(message: unknown): Promise<void> {
    let id = 0;
    try {
      const parsed = parseToAgent(message);
      id = parsed.id;
      this.running.add(id);
      const reply = await this.dispatch(id, parsed.request);
      this.send({ kind: 'reply', id, ok: true, reply });
    } catch (err) {
      if (id === 0) {
        // Without an id there is nobody to answer; say so on stderr for the parent's log.
        process.stderr.write(`agent: dropped a malformed message: ${(err as Error).message}\n`);
        return;
      }
      const code = err instanceof MessageError ? 'input' : errorCode(err);
      const text = code === 'internal' ? `internal error in the agent: ${(err as Error).stack ?? String(err)}` : (err as Error).message;
      this.send({ kind: 'reply', id, ok: false, code, message: text });
    } finally {
      this.running.delete(id);
      this.cancelled.delete(id);
    }
  }

  private emit(event: AgentEvent): void {
    this.send({ kind: 'event', event });
  }

  private requireIvshmem(): IvshmemSource {
    const source = this.requireSource();
    if (!isIvshmem(source)) throw new InputError('this source is not an ivshmem server: it has no peers or doorbells');
    return source;
  }

  private requireSource(): Source {
    if (!this.source) throw new InputError('no source is open');
    return this.source;
  }

  private async dispatch(id: number, r: AgentRequest): Promise<AgentReplies[keyof AgentReplies]> {
    switch (r.type) {
      case 'open':
        return await this.open(r.source, r.writable);
      case 'read': {
        const source = this.requireSource();
        const range = resolveRange(source.info.size, r.offset, r.length);
        const bytes = new Uint8Array(range.length);
        source.read(range.offset, bytes);
        return { bytes };
      }
      case 'write': {
        const source = this.requireSource();
        const range = resolveRange(source.info.size, r.offset, r.bytes.length);
        source.write(range.offset, r.bytes);
        return {};
      }
      case 'watch':
        return this.watch(r.ranges, r.intervalMs, r.idleIntervalMs);
      case 'unwatch':
        this.stopWatch();
        return {};
      case 'snapshot':
        return this.snapshot(id, r.target, r.tempPath, r.force, r.layout, r.consistent ?? false);
      case 'verify': {
        const source = this.requireSource();
        if (!(source instanceof SnapshotSource)) throw new InputError('only snapshots carry checksums to verify');
        return source.file.verify({
          onProgress: (done, total) => this.emit({ type: 'progress', request: id, done, total }),
          isCancelled: () => this.cancelled.has(id),
        });
      }
      case 'peers':
        return this.requireIvshmem().table();
      case 'diff':
        return this.diff(id, r.other, r.layout, r.maxRanges);
      case 'reconnect':
        return this.reconnect(id, r.base, r.local, r.role, r.dryRun, r.layout);
      case 'search': {
        const source = this.requireSource();
        const from = resolveRange(source.info.size, r.from, 0).offset;
        const offset = await searchSource(source, r.pattern, from, {
          onProgress: (done, total) => this.emit({ type: 'progress', request: id, done, total }),
          isCancelled: () => this.cancelled.has(id),
        });
        return { offset };
      }
      case 'ring':
        this.requireIvshmem().ring(r.peer, r.vector);
        return {};
      case 'cancel': {
        const found = this.running.has(r.request);
        if (found) this.cancelled.add(r.request);
        return { found };
      }
      case 'close':
        this.close();
        return {};
    }
  }

  private async open(text: string, writable: boolean): Promise<AgentReplies['open']> {
    if (this.source || this.opening) throw new InputError('this agent already has a source open');
    this.opening = true;
    const source = await openSource(resolveSourceSpec(text), { writable, skipChecks: this.options.skipChecks }).finally(() => (this.opening = false));
    this.source = source;
    if (isIvshmem(source)) source.client.onChange(() => this.emit({ type: 'peers', table: source.table() }));
    source.onGone((reason) => {
      this.stopWatch();
      this.emit({ type: 'gone', reason });
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
    return { info: source.info, snapshot };
  }

  private watch(ranges: { offset: number; length: number }[], intervalMs: number, idleIntervalMs = intervalMs): AgentReplies['watch'] {
    const source = this.requireSource();
    const checked = ranges.map((r) => resolveRange(source.info.size, r.offset, r.length));
    this.stopWatch();
    const watcher = new RangeWatcher(source, checked);
    this.watcher = watcher;
    // Each wake-up costs ~0.2 ms of CPU on a small VM before any work: a view nobody writes to is
    // sampled at the idle pace, and the first change seen brings the fast pace back.
    let lastChange = Date.now();
    const tick = (): void => {
      if (this.watcher !== watcher) return;
      try {
        const result = watcher.tick();
        if (result.changes.length > 0) {
          lastChange = result.time;
          this.emit({ type: 'changes', time: result.time, changes: result.changes });
        }
      } catch (err) {
        // SourceLostError: the gone event has been sent by onGone already.
        if (!(err instanceof SourceLostError)) this.emit({ type: 'gone', reason: `watch failed: ${(err as Error).message}` });
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
  }

  /** Opens B next to this session's A (read-only, just for the diff), compares, closes B. */
  private async diff(id: number, otherText: string, layoutText: string | undefined, maxRanges: number): Promise<AgentReplies['diff']> {
    const a = this.requireSource();
    const layout = layoutText === undefined ? undefined : this.compile(layoutText);
    const b = await openSource(resolveSourceSpec(otherText), { writable: false });
    try {
      const result = await diffSources(a, b, {
        maxRanges,
        onProgress: (done, total) => this.emit({ type: 'progress', request: id, done, total }),
        isCancelled: () => this.cancelled.has(id),
      });
      const reply: AgentReplies['diff'] = { ...result, other: b.info };
      if (layout) Object.assign(reply, summarize(layout, a, b, result.ranges));
      return reply;
    } finally {
      b.close();
    }
  }

  /** The segment (this session) is "remote"; base and local are snapshots the agent opens. */
  private async reconnect(id: number, basePath: string, localPath: string, role: Role, dryRun: boolean, layoutText: string | undefined): Promise<AgentReplies['reconnect']> {
    const remote = this.requireSource();
    const layout = layoutText === undefined ? undefined : this.compile(layoutText);
    const opened: Source[] = [];
    try {
      for (const p of [basePath, localPath]) opened.push(await openSource(resolveSourceSpec(p), { writable: false }));
      const [base, local] = opened as [Source, Source];
      for (const [name, s] of [['--base', base], ['--local', local]] as const) {
        if (s.info.size !== remote.info.size) throw new InputError(`${name} ${s.info.description} is ${s.info.size} bytes, the segment ${remote.info.size}: snapshots of a different segment`);
      }
      const result = await threeWay(base, local, remote, {
        onProgress: (done, total) => this.emit({ type: 'progress', request: id, done, total }),
        isCancelled: () => this.cancelled.has(id),
      });
      const rolePlan = plan(result, role);
      const reply: AgentReplies['reconnect'] = { threeWay: result, plan: rolePlan };
      if (layout) reply.fields = fieldVerdicts(layout, result.ranges, base, local, remote);
      if (role === 'master' && !dryRun) reply.applied = await applyMaster(rolePlan.writes, local, remote);
      return reply;
    } finally {
      for (const s of opened) s.close();
    }
  }

  private compile(text: string): Layout {
    const compiled = compileLayout(text);
    const p = compiled.problems[0];
    if (!compiled.layout || p) throw new InputError(`the layout: ${p?.line}:${p?.column}: ${p?.message}`);
    return compiled.layout;
  }

  private async snapshot(id: number, target: string, tempPath: string, force: boolean, layout: string | undefined, consistent: boolean): Promise<AgentReplies['snapshot']> {
    const source = this.requireSource();
    this.tempFiles.add(tempPath);
    try {
      return await writeSnapshot(source, {
        target,
        force,
        tempPath,
        layout,
        consistent,
        onProgress: (done, total) => this.emit({ type: 'progress', request: id, done, total }),
        isCancelled: () => this.cancelled.has(id),
      });
    } finally {
      this.tempFiles.delete(tempPath);
    }
  }

  /** Stops everything and removes temporary files; the process may exit after this. */
  close(): void {
    this.stopWatch();
    for (const id of this.running) this.cancelled.add(id);
    for (const temp of this.tempFiles) discardTemp(temp);
    this.source?.close();
    this.source = undefined;
  }
}

/** By kind, not instanceof: the ivshmem code (and its socket library) loads only for ivshmem sources. */
function isIvshmem(source: Source): source is IvshmemSource {
  return source.info.kind === 'ivshmem';
}
