import * as fs from 'node:fs';
import * as path from 'node:path';
import { SourceLostError, errorFromCode } from '../core/errors';
import { discardTemp, tempPathFor } from '../core/atomic-file';
import { Emitter, reportListenerError, type Unsubscribe } from '../core/events';
import { looksLikeSnapshot } from '../core/snapshot/reader';
import type { Range } from '../core/numbers';
import type { SourceInfo } from '../core/source';
import type { Tick } from '../core/watch/range-watcher';
import type { PeerTable } from '../core/ivshmem/client';
import { MessageError } from '../shared/checks';
import { Client, type Params, type Reply, type RequestName } from '../shared/messenger';
import type { RecordStats } from '../core/record/recorder';
import { LastBytes } from './last-bytes';
import { AGENT_TIMEOUT_MS, MAX_TRANSFER, agentProtocol, type AgentProtocol, type HistoryReply, type RecordingOverview, type SeekReply, type SnapshotSummary } from './protocol';
import { ChildLink, InProcessLink, type AgentLink, type LinkEvents, type ServerFactory } from './agent-link';

/** The link to the agent: up, lost (the agent died or the source went away), or closed by us. */
export type LinkState = 'connected' | 'disconnected' | 'closed';

export interface AttachOptions {
  writable?: boolean;
  /** Open a .shmrec as a recording source (its bytes at the timeline's time) instead of refusing it. */
  recording?: boolean;
  /** The agent's entry point; by default agent/main.js next to this bundle's folder. */
  agentPath?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Run the agent's side in this process (see AgentLink), with the server this makes: for sources
   * read with pread only, where no mapping can raise SIGBUS and no socket or native call can block
   * (the CLI decides, cli/attach.ts; passed in so that only a bundle that uses it contains it).
   */
  inProcess?: ServerFactory;
  /**
   * Keep a copy of what reads return, to show when the agent is gone (lastBytes; the extension's
   * views). The CLI, which shows nothing afterwards, says false: a 64 MiB dump kept 64 MiB.
   */
  keepLastBytes?: boolean;
}

export interface LongWork {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}


/**
 * Plain words for how an agent died. A SIGBUS is an access through a mapping past the end of a
 * file that shrank; `shrunk` gives the sizes when the session knows which file it was (the agent
 * checks the size before each access, but a truncation can come between the check and the access).
 */
export function describeAgentExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, shrunk?: { from: number; to: number }): string {
  if (signal === 'SIGBUS') {
    return shrunk ? `the backing file was truncated from ${shrunk.from} to ${shrunk.to} bytes (the agent was killed by SIGBUS)` : 'the backing file shrank under its mapping (the agent was killed by SIGBUS)';
  }
  if (signal) return `the agent was killed by ${signal}`;
  const detail = crashLine(stderrTail);
  return `the agent exited with code ${code}${detail ? `: ${detail}` : ''}`;
}

/**
 * The line of a Node crash report that names the error ("Error [ERR_DLOPEN_FAILED]: ..."), not its
 * last line ("Node.js v24.22.3"); for a thrown non-Error, the last line that is not a frame or a hint.
 */
export function crashLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const named = lines.filter((l) => /^[\w$.]*(Error|Exception)( \[\w+\])?: /.test(l)).pop();
  return named ?? lines.filter((l) => !/^Node\.js v|^\s+at |^\(Use `node --trace/.test(l)).pop();
}

/**
 * The parent's handle on a session: it starts an agent, talks to it, and never maps the segment
 * itself. When the agent dies or the source goes away, the session becomes disconnected with the
 * reason, keeps the last bytes it received, and can be attached again with a new agent.
 */
export class RemoteSession {
  private linkState: LinkState = 'connected';
  private reason: string | undefined;
  private opened!: { info: SourceInfo; snapshot: SnapshotSummary | undefined; recording?: RecordingOverview; identity: string };
  readonly lastBytes = new LastBytes();

  private readonly client: Client<AgentProtocol>;
  private readonly disconnected = new Emitter<string>();
  private readonly changes = new Emitter<Tick>();
  private readonly peerTables = new Emitter<PeerTable>();
  private readonly recordStats = new Emitter<RecordStats>();
  private readonly link: AgentLink;
  /** Backing files the agent maps for this session, with their sizes then: to name a SIGBUS. */
  private readonly mappedFiles = new Map<string, number>();

  private constructor(
    readonly source: string,
    private readonly options: AttachOptions,
    startLink: (events: LinkEvents) => AgentLink,
  ) {
    this.client = new Client(
      agentProtocol,
      {
        post: (message) => this.link.post(message, () => this.reason),
        peer: 'the agent',
        timeoutMs: AGENT_TIMEOUT_MS,
        toError: errorFromCode,
        onHandlerError: reportListenerError,
        onMalformed: (err) => {
          if (this.link instanceof ChildLink) this.link.note(`\nmalformed message from the agent: ${err.message}`);
        },
      },
      {
        changes: (tick) => {
          this.lastBytes.apply(tick.changes);
          this.changes.emit(tick);
        },
        gone: (e) => this.lose(e.reason),
        peers: (e) => this.peerTables.emit(e.table),
        recording: (e) => this.recordStats.emit(e.stats),
      },
    );
    this.link = startLink({
      message: (message) => this.client.receive(message),
      exit: (code, signal, stderrTail) => this.lose(describeAgentExit(code, signal, stderrTail, signal === 'SIGBUS' ? this.shrunkFile() : undefined)),
      error: (err) => this.lose(`the agent could not be started: ${err.message}`),
    });
  }

  /** Starts an agent (or, with inProcess, the agent's side here) and opens the source in it. Rejects with InputError for a bad source. */
  static async attach(source: string, options: AttachOptions = {}): Promise<RemoteSession> {
    const session = new RemoteSession(source, options, (events) => {
      if (options.inProcess) return new InProcessLink(options.inProcess, events);
      return ChildLink.start(options.agentPath ?? path.join(__dirname, '..', 'agent', 'main.js'), options.env ?? process.env, events);
    });
    try {
      session.opened = await session.request('open', { source, writable: options.writable ?? false, ...(options.recording ? { recording: true } : {}) });
      if (session.opened.info.kind === 'file') session.noteFile(source);
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** A new agent on the same source: how a disconnected session comes back. */
  reattach(): Promise<RemoteSession> {
    return RemoteSession.attach(this.source, this.options);
  }

  /** The agent process; undefined when the agent's side runs in this process. */
  get agentPid(): number | undefined {
    return this.link.pid;
  }

  /** The link's state; it changes only here (lose, close). */
  get state(): LinkState {
    return this.linkState;
  }

  /** Why the link was lost, once it was. */
  get lostReason(): string | undefined {
    return this.reason;
  }

  get info(): SourceInfo {
    return this.opened.info;
  }

  /** Which object this is (device and inode of the file or of the server's memory), as its agent opened it. */
  get identity(): string {
    return this.opened.identity;
  }

  /** The header of a snapshot source. */
  get snapshot(): SnapshotSummary | undefined {
    return this.opened.snapshot;
  }

  /** The header and figures of a recording source (opened with `recording`). */
  get recording(): RecordingOverview | undefined {
    return this.opened.recording;
  }

  /** Once, when the link is lost, with the reason. A listener that throws does not stop the others. */
  onDisconnected(listener: (reason: string) => void): Unsubscribe {
    return this.disconnected.on(listener);
  }

  /** Each watch tick that saw changes. */
  onChanges(listener: (tick: Tick) => void): Unsubscribe {
    return this.changes.on(listener);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    let out: Uint8Array | undefined;
    for (let done = 0; done < length; done += MAX_TRANSFER) {
      const n = Math.min(MAX_TRANSFER, length - done);
      const { bytes } = await this.request('read', { offset: offset + done, length: n });
      if (bytes.length !== n) throw new MessageError(`the agent returned ${bytes.length} bytes for a read of ${n}`);
      // One piece is handed out as it came (nobody else holds it); more are joined.
      if (n === length) out = bytes;
      else (out ??= new Uint8Array(length)).set(bytes, done);
    }
    out ??= new Uint8Array(0);
    if (this.options.keepLastBytes !== false) this.lastBytes.record(offset, out);
    return out;
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length; done += MAX_TRANSFER) {
      await this.request('write', { offset: offset + done, bytes: bytes.subarray(done, done + MAX_TRANSFER) });
    }
  }

  /** Starts sampling ranges every intervalMs (idleIntervalMs once quiet); changes arrive through onChanges. */
  async watch(ranges: Range[], intervalMs: number, idleIntervalMs?: number): Promise<Uint8Array[]> {
    const { baseline } = await this.request('watch', { ranges, intervalMs, ...(idleIntervalMs === undefined ? {} : { idleIntervalMs }) });
    if (baseline.length !== ranges.length || baseline.some((b, i) => b.length !== ranges[i]!.length)) {
      throw new MessageError('the agent returned a baseline that does not match the watched ranges');
    }
    ranges.forEach((r, i) => this.lastBytes.record(r.offset, baseline[i]!));
    return baseline;
  }

  async unwatch(): Promise<void> {
    await this.request('unwatch', {});
  }

  /** Writes a snapshot; a temporary file left by a dying agent is removed here. */
  async takeSnapshot(target: string, force: boolean, work: LongWork & { layout?: string; consistent?: boolean } = {}): Promise<Reply<AgentProtocol, 'snapshot'>> {
    const tempPath = tempPathFor(target);
    try {
      return await this.request('snapshot', { target, tempPath, force, ...(work.layout === undefined ? {} : { layout: work.layout }), ...(work.consistent ? { consistent: true } : {}) }, work);
    } finally {
      discardTemp(tempPath);
    }
  }

  /** The peer table of an ivshmem session (own ID, interrupt counters, other peers). */
  async peers(): Promise<PeerTable> {
    return this.request('peers', {});
  }

  async ring(peer: number, vector: number): Promise<void> {
    await this.request('ring', { peer, vector });
  }

  /** An ivshmem session's peer table or interrupt counters changed. */
  onPeers(listener: (table: PeerTable) => void): Unsubscribe {
    return this.peerTables.on(listener);
  }

  /** The first offset of pattern at or after from (wrapping around), or null. */
  async search(pattern: Uint8Array, from: number, work: LongWork = {}): Promise<number | null> {
    const { offset } = await this.request('search', { pattern, from }, work);
    if (offset !== null && (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.info.size)) throw new MessageError(`the agent returned an impossible search result ${offset}`);
    return offset;
  }

  /** Compares this source (A) with another one (B), in this session's agent. */
  async diff(other: string, options: LongWork & { layout?: string; layoutName?: string; maxRanges?: number } = {}): Promise<Reply<AgentProtocol, 'diff'>> {
    const forget = this.noteFile(other);
    try {
      return await this.request('diff', { other, maxRanges: options.maxRanges ?? 100_000, ...(options.layout === undefined ? {} : { layout: options.layout }), ...(options.layoutName === undefined ? {} : { layoutName: options.layoutName }) }, options);
    } finally {
      forget();
    }
  }

  /** Remembers `p`'s size if it is a backing file (not a socket, a snapshot or a missing file). */
  private noteFile(p: string): () => void {
    if (this.mappedFiles.has(p)) return () => undefined;
    try {
      const st = fs.statSync(p);
      if (st.isFile() && !looksLikeSnapshot(p)) {
        this.mappedFiles.set(p, st.size);
        return () => this.mappedFiles.delete(p);
      }
    } catch {
      // not a file here: nothing to name
    }
    return () => undefined;
  }

  /** The first remembered backing file that is now shorter than it was. */
  private shrunkFile(): { from: number; to: number } | undefined {
    for (const [p, from] of this.mappedFiles) {
      try {
        const to = fs.statSync(p).size;
        if (to < from) return { from, to };
      } catch {
        // gone: not a truncation
      }
    }
    return undefined;
  }

  /** The three-way reconnect of this (live) source with base and local snapshots, in its agent. */
  reconnect(base: string, local: string, role: 'master' | 'peer', options: LongWork & { dryRun?: boolean; layout?: string } = {}): Promise<Reply<AgentProtocol, 'reconnect'>> {
    return this.request('reconnect', { base, local, role, dryRun: options.dryRun ?? false, ...(options.layout === undefined ? {} : { layout: options.layout }) }, options);
  }

  /**
   * Records the source into a .shmrec file (written by the agent) until it stops by itself or the
   * signal aborts, which ends the file in order and resolves with the figures, like a normal stop.
   */
  async record(
    target: string,
    options: LongWork & { force?: boolean; offset: number; length: number; intervalMs: number; durationMs?: number; maxBytes?: number; layout?: string; onStats?: (stats: RecordStats) => void },
  ): Promise<Reply<AgentProtocol, 'record'>> {
    const { force, offset, length, intervalMs, durationMs, maxBytes, layout, onStats } = options;
    const params: Params<AgentProtocol, 'record'> = { target, force: force ?? false, offset, length, intervalMs };
    if (durationMs !== undefined) params.durationMs = durationMs;
    if (maxBytes !== undefined) params.maxBytes = maxBytes;
    if (layout !== undefined) params.layout = layout;
    // One recording per agent: its figures are this request's while it runs.
    const off = onStats ? this.recordStats.on(onStats) : undefined;
    try {
      return await this.request('record', params, options);
    } finally {
      off?.();
    }
  }

  /**
   * A recording source: moves its cursor (every view of the session follows) to the last sample at
   * or before timeMs, or with `step` to the next or previous change of `scope` from timeMs.
   */
  seek(timeMs: number, options: { step?: 'next' | 'previous'; scope?: Range } = {}): Promise<SeekReply> {
    return this.request('seek', { timeMs, ...(options.step ? { step: options.step } : {}), ...(options.scope ? { scope: options.scope } : {}) });
  }

  /** A recording's changes (of the scope) in `buckets` equal slices of its duration. */
  async density(buckets: number, scope?: Range): Promise<number[]> {
    const { counts } = await this.request('density', { buckets, ...(scope ? { scope } : {}) });
    if (counts.length !== buckets) throw new MessageError(`the agent returned ${counts.length} buckets for ${buckets}`);
    return counts;
  }

  /** A recording's heat: per slice of sliceSize bytes, in how many samples it changed. */
  heat(buckets: number): Promise<{ sliceSize: number; counts: number[] }> {
    return this.request('heat', { buckets });
  }

  /** Each change of a recording's scope (at most `max`), with its bytes before and after. */
  history(scope: Range, max: number): Promise<HistoryReply> {
    return this.request('history', { scope, max });
  }

  /** Writes a recording's segment at atMs as a snapshot (the cursor stays); a dying agent's temporary file is removed here. */
  async replay(atMs: number, target: string, options: LongWork & { force?: boolean; layout?: string } = {}): Promise<Reply<AgentProtocol, 'replay'>> {
    const tempPath = tempPathFor(target);
    try {
      return await this.request('replay', { atMs, target, tempPath, force: options.force ?? false, ...(options.layout === undefined ? {} : { layout: options.layout }) }, options);
    } finally {
      discardTemp(tempPath);
    }
  }

  verify(work: LongWork = {}): Promise<Reply<AgentProtocol, 'verify'>> {
    return this.request('verify', {}, work);
  }

  /** Stops the agent. Safe to call in any state. */
  async close(): Promise<void> {
    if (this.linkState === 'closed') return;
    const wasConnected = this.linkState === 'connected' && this.link.connected;
    // Closed from here on (the agent's exit after this is no disconnect); only the close goes out.
    this.linkState = 'closed';
    if (wasConnected) {
      try {
        await this.client.request('close', {}, { timeoutMs: 5_000 });
      } catch {
        // it is going away anyway
      }
    }
    this.client.close(new SourceLostError(this.reason ?? 'the session was closed'));
    await this.link.stop(wasConnected);
  }

  /** One request to the agent; the protocol gives its timeout (long ones have none, and a signal). */
  private request<K extends RequestName<AgentProtocol>>(type: K, params: Params<AgentProtocol, K>, work: LongWork = {}): Promise<Reply<AgentProtocol, K>> {
    if (this.linkState === 'closed') return Promise.reject(new SourceLostError(this.reason ?? 'the session was closed'));
    return this.client.request(type, params, work);
  }

  /** The session becomes disconnected (once), pending requests fail, the agent is let go. */
  private lose(reason: string): void {
    if (this.linkState !== 'connected') return;
    this.linkState = 'disconnected';
    this.reason = reason;
    this.client.close(new SourceLostError(reason));
    this.disconnected.emit(reason);
    this.link.disconnect();
  }
}
