import * as vscode from 'vscode';
import { VIEW_IDLE_INTERVAL_MS } from '../agent/protocol';
import type { RemoteSession } from '../agent/remote-session';
import type { PeerTable } from '../core/ivshmem/client';
import type { Range } from '../core/numbers';
import { InputError, SourceLostError } from '../core/errors';
import type { Layout } from '../core/layout/model';
import type { SessionState, SessionView } from '../webview/hex-protocol';
import { ViewMarks } from './view-marks';

export type { SessionState } from '../webview/hex-protocol';

export interface GuestCopy {
  /** The segment at the disconnect. */
  readonly base: Uint8Array;
  /** What the guest has now (it may be edited, as the guest would). */
  readonly local: Uint8Array;
  /** Counts the edits of `local`: a reconnect preview names the version it showed. */
  readonly version: number;
}

/** The guest-side copy lives in the extension host's memory: this is as large as it may be. */
export const MAX_GUEST_COPY = 256 * 1024 * 1024;

export interface SessionChanges {
  time: number;
  changes: { offset: number; bytes: Uint8Array }[];
}

let counter = 0;

/**
 * An attached source with its lifecycle, as the extension shows it. It owns one RemoteSession (and
 * so one agent); the hex panels on it register their visible rows, and the session watches the
 * union of them. Its state is one value (SessionState), changed only here, by the named
 * transitions below; views observe it through onDidChangeState. Nothing here is writable from
 * outside.
 */
export class Session implements vscode.Disposable {
  readonly id = `s${++counter}`;
  private current: SessionState = { name: 'live' };
  private link: RemoteSession;
  private guestCopy: { base: Uint8Array; local: Uint8Array; version: number } | undefined;
  private peerTable: PeerTable | undefined;
  private layoutNow: { layout: Layout; source: string } | undefined;
  private readonly viewports = new Map<string, Range>();
  private readonly changesEmitter = new vscode.EventEmitter<SessionChanges>();
  private readonly stateEmitter = new vscode.EventEmitter<SessionState>();
  private readonly freshEmitter = new vscode.EventEmitter<{ offset: number; bytes: Uint8Array }>();
  private unsubscribe: (() => void)[] = [];
  private watchChain: Promise<void> = Promise.resolve();
  private watchDirty = false;

  /** Bytes changed in the segment (a watch tick) or in the guest copy (an edit). */
  readonly onDidChangeBytes = this.changesEmitter.event;
  /** The state changed, or what the views show about it (layout, peer table, writability). */
  readonly onDidChangeState = this.stateEmitter.event;
  /**
   * Fresh bytes of the watched ranges, read when the watch (re)started: a view keeps pages it
   * scrolled away from, and nothing watched them meanwhile.
   */
  readonly onDidReadFresh = this.freshEmitter.event;

  /** What the views draw over the bytes: a recording's step, the heat strip, the hex view's selection. */
  readonly marks: ViewMarks;

  constructor(
    remote: RemoteSession,
    private readonly tickMs: () => number,
    /** Where a failure nobody asked for goes (the log and a notification). */
    private readonly report: (err: unknown, context: string) => void,
  ) {
    this.link = remote;
    // A recording's ticks are its timeline's seeks, not changes in time: its heat comes from the file.
    this.marks = new ViewMarks(remote.info.size, remote.info.kind !== 'recording');
    this.bind(remote);
  }

  get state(): SessionState {
    return this.current;
  }

  /** The agent link; replaced only by attached(). */
  get remote(): RemoteSession {
    return this.link;
  }

  /** While the user keeps the session disconnected: the guest-side copy. */
  get guest(): GuestCopy | undefined {
    return this.guestCopy;
  }

  /** An ivshmem session's peer table, as last reported. */
  get table(): PeerTable | undefined {
    return this.peerTable;
  }

  /** The layout that names this session's bytes. */
  get layout(): Layout | undefined {
    return this.layoutNow?.layout;
  }

  /** Where the layout came from: a file, or "embedded". */
  get layoutSource(): string | undefined {
    return this.layoutNow?.source;
  }

  view(): SessionView {
    const info = this.link.info;
    return {
      id: this.id,
      source: this.link.source,
      kind: info.kind,
      size: info.size,
      // A guest-side copy is always editable: the disconnected guest writes to its own memory.
      writable: this.current.name === 'guest' ? true : info.writable,
      state: this.current,
      ...(info.peerId === undefined ? {} : { peerId: info.peerId }),
    };
  }

  /** Bytes as the views should show them: the guest copy while disconnected, else the last seen. */
  peek(offset: number, length: number): Uint8Array | undefined {
    if (this.guestCopy) return this.guestCopy.local.subarray(offset, offset + length);
    return this.link.lastBytes.get(offset, length);
  }

  /** Reads the whole segment through the agent (for the guest copy and the reconnect). */
  async readAll(): Promise<Uint8Array> {
    const size = this.link.info.size;
    if (size > MAX_GUEST_COPY) throw new InputError(`the segment is ${size} bytes; a guest-side copy is kept in memory and may be at most ${MAX_GUEST_COPY}`);
    return this.link.read(0, size);
  }

  // ---- Transitions: the only places the state changes. ----

  /** live → paused: the view stops following the segment. */
  pause(): void {
    if (this.current.name !== 'live') throw new InputError(`${this.link.source} is ${this.current.name}, not live: nothing to pause`);
    this.become({ name: 'paused' });
  }

  /** paused → live (also after a failed watch: it is tried again). */
  resume(): void {
    if (this.current.name !== 'paused') throw new InputError(`${this.link.source} is ${this.current.name}, not paused: nothing to resume`);
    this.become({ name: 'live' });
  }

  /** live, paused or lost → guest: the views show (and edit) a copy; the live view stops. */
  enterGuestCopy(base: Uint8Array, local: Uint8Array, cause: string): void {
    if (this.current.name === 'guest') throw new InputError(`${this.link.source} is already disconnected`);
    this.guestCopy = { base, local, version: 0 };
    this.become({ name: 'guest', cause, since: Date.now(), resume: this.current.name === 'paused' ? 'paused' : 'live' });
    this.broadcast(0, local);
  }

  /** guest → what it was before (or lost, if the link went meanwhile): the views follow the segment again. */
  leaveGuestCopy(): void {
    const s = this.current;
    if (s.name !== 'guest') throw new InputError(`${this.link.source} is not disconnected: there is no guest-side copy to leave`);
    this.guestCopy = undefined;
    this.become(this.link.state === 'connected' ? { name: s.resume } : { name: 'lost', reason: this.link.lostReason ?? 'the agent is gone' });
  }

  /** A new agent (read-write, or after a disconnect): lost → live; panels and viewports stay. */
  attached(next: RemoteSession): void {
    const previous = this.link;
    for (const u of this.unsubscribe.splice(0)) u();
    this.link = next;
    this.bind(next);
    void previous.close();
    // The guest copy outlives its agent: a new agent is how a master reconnect gets write access.
    this.become(this.current.name === 'guest' ? this.current : { name: 'live' });
  }

  /** The agent link went (agent killed, source gone): live or paused → lost. The guest copy stays. */
  private linkLost(reason: string): void {
    if (this.current.name === 'guest') this.changedView();
    else this.become({ name: 'lost', reason });
  }

  /** The watch failed for another reason than a lost link: the view must not freeze silently. */
  private watchFailed(err: unknown): void {
    this.report(err, `${this.link.source}: the live view`);
    if (this.current.name === 'live') this.become({ name: 'paused', reason: `the watch failed: ${(err as Error)?.message ?? String(err)}` });
  }

  private become(next: SessionState): void {
    this.current = next;
    this.rewatch();
    this.changedView();
  }

  // ---- Data that changes without a state change. ----

  /** An edit of the guest-side copy, shown in every view of the session. */
  writeGuest(offset: number, bytes: Uint8Array): void {
    const g = this.guestCopy;
    if (!g) throw new InputError('the session is not disconnected: there is no guest-side copy to edit');
    if (offset + bytes.length > g.local.length) throw new InputError('the edit runs past the end of the segment');
    g.local.set(bytes, offset);
    g.version++;
    this.broadcast(offset, bytes);
  }

  /** A panel's rows on screen; the watch follows them. */
  setViewport(key: string, range: Range | undefined): void {
    const old = this.viewports.get(key);
    if (range && range.length > 0) {
      if (old && old.offset === range.offset && old.length === range.length) return;
      this.viewports.set(key, range);
    } else {
      if (!old) return;
      this.viewports.delete(key);
    }
    this.rewatch();
  }

  /** Names the bytes; its regions (up to 1 MiB each, 32 of them) are watched for the Regions view. */
  setLayout(layout: Layout | undefined, source: string | undefined): void {
    this.layoutNow = layout && source !== undefined ? { layout, source } : undefined;
    for (const key of [...this.viewports.keys()]) if (key.startsWith('layout:')) this.viewports.delete(key);
    for (const [i, r] of (layout?.regions ?? []).slice(0, 32).entries()) {
      this.viewports.set(`layout:${i}`, { offset: r.offset, length: Math.min(r.size, 1024 * 1024) });
    }
    this.rewatch();
    this.changedView();
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.dispose();
    await this.link.close();
  }

  dispose(): void {
    this.changesEmitter.dispose();
    this.stateEmitter.dispose();
    this.freshEmitter.dispose();
    this.marks.dispose();
  }

  private broadcast(offset: number, bytes: Uint8Array): void {
    this.changesEmitter.fire({ time: Date.now(), changes: [{ offset, bytes: bytes.slice() }] });
  }

  private changedView(): void {
    this.stateEmitter.fire(this.current);
  }

  private bind(remote: RemoteSession): void {
    this.unsubscribe.push(
      remote.onChanges((tick) => {
        this.changesEmitter.fire({ time: tick.time, changes: tick.changes.map((x) => ({ offset: x.offset, bytes: x.after })) });
        this.marks.countTick(tick.changes.map((x) => ({ offset: x.offset, length: x.after.length })));
      }),
      remote.onDisconnected((reason) => this.linkLost(reason)),
      remote.onPeers((table) => {
        this.peerTable = table;
        this.changedView();
      }),
    );
    if (remote.info.kind === 'ivshmem') {
      remote.peers().then(
        (table) => {
          if (this.link !== remote) return;
          this.peerTable = table;
          this.changedView();
        },
        (err: unknown) => {
          if (!(err instanceof SourceLostError)) this.report(err, `${remote.source}: the peer table`);
        },
      );
    }
  }

  /** Re-issues the agent's watch for the union of viewports; calls are serialised and coalesced. */
  private rewatch(): void {
    if (this.watchDirty) return;
    this.watchDirty = true;
    this.watchChain = this.watchChain.then(async () => {
      this.watchDirty = false;
      const remote = this.link;
      if (remote.state !== 'connected') return;
      const ranges = [...this.viewports.values()].slice(0, 64);
      try {
        // A snapshot never changes: nothing to watch. (Its baseline read would also fail again on
        // a damaged block, already told once at open and shown in the view's status.)
        if (this.current.name !== 'live' || ranges.length === 0 || remote.info.kind === 'snapshot') await remote.unwatch();
        else {
          // (the agent takes the slower of the two when idle: a tick above 100 ms stays as it is)
          const baseline = await remote.watch(ranges, this.tickMs(), VIEW_IDLE_INTERVAL_MS);
          ranges.forEach((r, i) => this.freshEmitter.fire({ offset: r.offset, bytes: baseline[i]! }));
        }
      } catch (err) {
        // A lost link is reported through onDisconnected (and a replaced one is no longer ours);
        // anything else would freeze the view without a word.
        if (remote !== this.link || remote.state !== 'connected' || err instanceof SourceLostError) return;
        this.watchFailed(err);
      }
    });
  }
}
