import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, SourceLostError, errorFromCode } from '../core/errors';
import { discardTemp, tempPathFor } from '../core/atomic-file';
import { looksLikeSnapshot } from '../core/snapshot/reader';
import type { Range } from '../core/numbers';
import type { SourceInfo } from '../core/source';
import type { Tick } from '../core/watch/range-watcher';
import { MessageError, parseFromAgent, parsePeerTable } from './codec';
import type { PeerTable } from '../core/ivshmem/client';
import { LastBytes } from './last-bytes';
import { MAX_TRANSFER, type AgentReplies, type AgentRequest, type SnapshotSummary } from './protocol';

export type SessionState = 'connected' | 'disconnected' | 'closed';

export interface AttachOptions {
  writable?: boolean;
  /** The agent's entry point; by default agent/main.js next to this bundle's folder. */
  agentPath?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LongWork {
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

interface Pending {
  resolve: (reply: never) => void;
  reject: (err: Error) => void;
  onProgress?: (done: number, total: number) => void;
  timer?: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 30_000;

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
  state: SessionState = 'connected';
  lostReason: string | undefined;
  info!: SourceInfo;
  snapshot: SnapshotSummary | undefined;
  readonly lastBytes = new LastBytes();

  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly disconnectListeners = new Set<(reason: string) => void>();
  private readonly changeListeners = new Set<(tick: Tick) => void>();
  private readonly peerListeners = new Set<(table: PeerTable) => void>();
  private stderrTail = '';
  private readonly exited: Promise<void>;
  /** Backing files the agent maps for this session, with their sizes then: to name a SIGBUS. */
  private readonly mappedFiles = new Map<string, number>();

  private constructor(
    readonly source: string,
    private readonly options: AttachOptions,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-4096);
    });
    child.on('message', (message) => this.receive(message));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.lose(describeAgentExit(code, signal, this.stderrTail, signal === 'SIGBUS' ? this.shrunkFile() : undefined));
        resolve();
      });
    });
    child.on('error', (err) => this.lose(`the agent could not be started: ${err.message}`));
  }

  /** Starts an agent and opens the source in it. Rejects with InputError for a bad source. */
  static async attach(source: string, options: AttachOptions = {}): Promise<RemoteSession> {
    const agentPath = options.agentPath ?? path.join(__dirname, '..', 'agent', 'main.js');
    const child = fork(agentPath, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Its own process group: a Ctrl-C reaches the parent only, which then stops the agent in order.
      detached: true,
      execArgv: [],
      env: options.env ?? process.env,
    });
    const session = new RemoteSession(source, options, child);
    try {
      const opened = await session.request({ type: 'open', source, writable: options.writable ?? false });
      session.info = opened.info;
      session.snapshot = opened.snapshot;
      if (opened.info.kind === 'file') session.noteFile(source);
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

  get agentPid(): number | undefined {
    return this.child.pid;
  }

  onDisconnected(listener: (reason: string) => void): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  onChanges(listener: (tick: Tick) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (let done = 0; done < length; done += MAX_TRANSFER) {
      const n = Math.min(MAX_TRANSFER, length - done);
      const { bytes } = await this.request({ type: 'read', offset: offset + done, length: n });
      if (bytes.length !== n) throw new MessageError(`the agent returned ${bytes.length} bytes for a read of ${n}`);
      out.set(bytes, done);
    }
    this.lastBytes.record(offset, out);
    return out;
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length; done += MAX_TRANSFER) {
      await this.request({ type: 'write', offset: offset + done, bytes: bytes.subarray(done, done + MAX_TRANSFER) });
    }
  }

  /** Starts sampling ranges every intervalMs (idleIntervalMs once quiet); changes arrive through onChanges. */
  async watch(ranges: Range[], intervalMs: number, idleIntervalMs?: number): Promise<Uint8Array[]> {
    const { baseline } = await this.request({ type: 'watch', ranges, intervalMs, ...(idleIntervalMs === undefined ? {} : { idleIntervalMs }) });
    if (baseline.length !== ranges.length || baseline.some((b, i) => b.length !== ranges[i]!.length)) {
      throw new MessageError('the agent returned a baseline that does not match the watched ranges');
    }
    ranges.forEach((r, i) => this.lastBytes.record(r.offset, baseline[i]!));
    return baseline;
  }

  async unwatch(): Promise<void> {
    await this.request({ type: 'unwatch' });
  }

  /** Writes a snapshot; a temporary file left by a dying agent is removed here. */
  async takeSnapshot(target: string, force: boolean, work: LongWork & { layout?: string; consistent?: boolean } = {}): Promise<AgentReplies['snapshot']> {
    const tempPath = tempPathFor(target);
    try {
      return await this.longRequest({ type: 'snapshot', target, tempPath, force, ...(work.layout === undefined ? {} : { layout: work.layout }), ...(work.consistent ? { consistent: true } : {}) }, work);
    } finally {
      discardTemp(tempPath);
    }
  }

  /** The peer table of an ivshmem session (own ID, interrupt counters, other peers). */
  async peers(): Promise<PeerTable> {
    return parsePeerTable((await this.request({ type: 'peers' })) as unknown as Record<string, unknown>);
  }

  async ring(peer: number, vector: number): Promise<void> {
    await this.request({ type: 'ring', peer, vector });
  }

  onPeers(listener: (table: PeerTable) => void): () => void {
    this.peerListeners.add(listener);
    return () => this.peerListeners.delete(listener);
  }

  /** The first offset of pattern at or after from (wrapping around), or null. */
  async search(pattern: Uint8Array, from: number, work: LongWork = {}): Promise<number | null> {
    const { offset } = await this.longRequest({ type: 'search', pattern, from }, work);
    if (offset !== null && (!Number.isSafeInteger(offset) || offset < 0 || offset >= this.info.size)) throw new MessageError(`the agent returned an impossible search result ${offset}`);
    return offset;
  }

  /** Compares this source (A) with another one (B), in this session's agent. */
  async diff(other: string, options: LongWork & { layout?: string; maxRanges?: number } = {}): Promise<AgentReplies['diff']> {
    const forget = this.noteFile(other);
    try {
      return await this.longRequest({ type: 'diff', other, maxRanges: options.maxRanges ?? 100_000, ...(options.layout === undefined ? {} : { layout: options.layout }) }, options);
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
  reconnect(base: string, local: string, role: 'master' | 'peer', options: LongWork & { dryRun?: boolean; layout?: string } = {}): Promise<AgentReplies['reconnect']> {
    return this.longRequest({ type: 'reconnect', base, local, role, dryRun: options.dryRun ?? false, ...(options.layout === undefined ? {} : { layout: options.layout }) }, options);
  }

  verify(work: LongWork = {}): Promise<AgentReplies['verify']> {
    return this.longRequest({ type: 'verify' }, work);
  }

  /** Stops the agent. Safe to call in any state. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected' && this.child.connected;
    this.state = 'closed';
    if (wasConnected) {
      try {
        await this.send({ type: 'close' }, 5_000);
      } catch {
        // it is going away anyway
      }
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const killer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
      if (!wasConnected) this.child.kill('SIGTERM');
      await this.exited;
      clearTimeout(killer);
    }
  }

  private longRequest<T extends AgentRequest>(request: T, work: LongWork): Promise<AgentReplies[T['type']]> {
    const id = this.nextId;
    const onAbort = (): void => {
      if (this.state === 'connected') void this.send({ type: 'cancel', request: id }, 5_000).catch(() => undefined);
    };
    if (work.signal?.aborted) return Promise.reject(new CancelledError());
    work.signal?.addEventListener('abort', onAbort, { once: true });
    return this.send(request, 0, work.onProgress).finally(() => work.signal?.removeEventListener('abort', onAbort));
  }

  private request<T extends AgentRequest>(request: T): Promise<AgentReplies[T['type']]> {
    return this.send(request, DEFAULT_TIMEOUT_MS);
  }

  private send<T extends AgentRequest>(request: T, timeoutMs: number, onProgress?: (done: number, total: number) => void): Promise<AgentReplies[T['type']]> {
    if (this.state === 'disconnected') return Promise.reject(new SourceLostError(this.lostReason ?? 'disconnected'));
    if (!this.child.connected) return Promise.reject(new SourceLostError(this.lostReason ?? 'the agent is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (reply: never) => void, reject, onProgress };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new Error(`the agent did not answer a ${request.type} request within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      this.child.send({ id, request }, (err) => {
        if (err) this.settle(id, undefined, new SourceLostError(this.lostReason ?? `the agent is gone: ${err.message}`));
      });
    });
  }

  private settle(id: number, reply: unknown, error?: Error): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    if (error) entry.reject(error);
    else entry.resolve(reply as never);
  }

  private receive(raw: unknown): void {
    let message;
    try {
      message = parseFromAgent(raw);
    } catch (err) {
      this.stderrTail += `\nmalformed message from the agent: ${(err as Error).message}`;
      return;
    }
    if (message.kind === 'reply') {
      if (message.ok) this.settle(message.id, message.reply);
      else this.settle(message.id, undefined, errorFromCode(message.code, message.message));
      return;
    }
    const event = message.event;
    switch (event.type) {
      case 'changes':
        this.lastBytes.apply(event.changes);
        for (const listener of [...this.changeListeners]) listener({ time: event.time, changes: event.changes });
        break;
      case 'progress':
        this.pending.get(event.request)?.onProgress?.(event.done, event.total);
        break;
      case 'gone':
        this.lose(event.reason);
        break;
      case 'peers':
        for (const listener of [...this.peerListeners]) listener(event.table);
        break;
    }
  }

  /** The session becomes disconnected (once), pending requests fail, the agent is let go. */
  private lose(reason: string): void {
    if (this.state !== 'connected') return;
    this.state = 'disconnected';
    this.lostReason = reason;
    for (const [id] of this.pending) this.settle(id, undefined, new SourceLostError(reason));
    for (const listener of [...this.disconnectListeners]) listener(reason);
    if (this.child.connected) this.child.disconnect();
  }
}
