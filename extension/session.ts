import { VIEW_IDLE_INTERVAL_MS } from '../agent/protocol';
import { RemoteSession } from '../agent/remote-session';
import type { PeerTable } from '../core/ivshmem/client';
import type { Range } from '../core/numbers';
import { InputError } from '../core/errors';
import type { Layout } from '../core/layout/model';
import type { SessionState, SessionView } from '../webview/hex-protocol';

export interface GuestCopy {
  base: Uint8Array;
  local: Uint8Array;
  /** Why: "disconnected by the user", "loadvm of X", "savevm to X". */
  cause: string;
  since: number;
}

/** The guest-side copy lives in the extension host's memory: this is as large as it may be. */
export const MAX_GUEST_COPY = 256 * 1024 * 1024;

export interface SessionChanges {
  time: number;
  changes: { offset: number; bytes: Uint8Array }[];
}

let counter = 0;

/**
 * An attached source with its lifecycle, as the extension shows it: live, paused or
 * disconnected. It owns one RemoteSession (and so one agent); the hex panels on it register their
 * visible rows, and the session watches the union of them.
 */
export class Session {
  readonly id = `s${++counter}`;
  state: SessionState = 'live';
  reason: string | undefined;
  table: PeerTable | undefined;
  /**
   * While the user keeps the session disconnected: the guest-side copy. `base` is the segment at
   * the disconnect, `local` what the guest has now (it may be edited, as the guest would).
   */
  guest: GuestCopy | undefined;
  /** The layout that names this session's bytes, and where it came from (a file or "embedded"). */
  layout: Layout | undefined;
  layoutSource: string | undefined;
  private readonly viewports = new Map<string, Range>();
  private readonly listeners = { changes: new Set<(c: SessionChanges) => void>(), state: new Set<() => void>(), fresh: new Set<(offset: number, bytes: Uint8Array) => void>() };
  private unsubscribe: (() => void)[] = [];
  private watchChain: Promise<void> = Promise.resolve();
  private watchDirty = false;

  constructor(
    public remote: RemoteSession,
    private readonly tickMs: () => number,
  ) {
    this.bind(remote);
  }

  view(): SessionView {
    const info = this.remote.info;
    const guest = this.guest;
    return {
      id: this.id,
      source: this.remote.source,
      kind: info.kind,
      size: info.size,
      // A guest-side copy is always editable: the disconnected guest writes to its own memory.
      writable: guest ? true : info.writable,
      state: guest ? 'disconnected' : this.state,
      reason: guest ? `${guest.cause}; showing the guest-side copy (edits stay in it until you reconnect)` : this.reason,
      peerId: info.peerId,
      guestCopy: guest !== undefined,
    };
  }

  /** Bytes as the views should show them: the guest copy while disconnected, else the last seen. */
  peek(offset: number, length: number): Uint8Array | undefined {
    if (this.guest) return this.guest.local.subarray(offset, offset + length);
    return this.remote.lastBytes.get(offset, length);
  }

  /** Reads the whole segment through the agent (for the guest copy and the reconnect). */
  async readAll(): Promise<Uint8Array> {
    const size = this.remote.info.size;
    if (size > MAX_GUEST_COPY) throw new InputError(`the segment is ${size} bytes; a guest-side copy is kept in memory and may be at most ${MAX_GUEST_COPY}`);
    return this.remote.read(0, size);
  }

  /** Enters the disconnected state with a guest-side copy; the live view stops following the segment. */
  enterGuestCopy(base: Uint8Array, local: Uint8Array, cause: string): void {
    this.guest = { base, local, cause, since: Date.now() };
    this.rewatch();
    this.stateChanged();
    this.broadcast(0, local);
  }

  /** Leaves it (after a reconnect): the views follow the segment again. */
  leaveGuestCopy(): void {
    this.guest = undefined;
    this.rewatch();
    this.stateChanged();
  }

  /** An edit of the guest-side copy, shown in every view of the session. */
  writeGuest(offset: number, bytes: Uint8Array): void {
    if (!this.guest) throw new InputError('the session is not disconnected: there is no guest-side copy to edit');
    if (offset + bytes.length > this.guest.local.length) throw new InputError('the edit runs past the end of the segment');
    this.guest.local.set(bytes, offset);
    this.broadcast(offset, bytes);
  }

  private broadcast(offset: number, bytes: Uint8Array): void {
    const c = { time: Date.now(), changes: [{ offset, bytes: bytes.slice() }] };
    for (const l of [...this.listeners.changes]) l(c);
  }

  onChanges(listener: (c: SessionChanges) => void): () => void {
    this.listeners.changes.add(listener);
    return () => this.listeners.changes.delete(listener);
  }

  /**
   * Fresh bytes of the watched ranges, read when the watch (re)started: a view keeps pages it
   * scrolled away from, and nothing watched them meanwhile.
   */
  onFresh(listener: (offset: number, bytes: Uint8Array) => void): () => void {
    this.listeners.fresh.add(listener);
    return () => this.listeners.fresh.delete(listener);
  }

  onState(listener: () => void): () => void {
    this.listeners.state.add(listener);
    return () => this.listeners.state.delete(listener);
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
    this.layout = layout;
    this.layoutSource = source;
    for (const key of [...this.viewports.keys()]) if (key.startsWith('layout:')) this.viewports.delete(key);
    for (const [i, r] of (layout?.regions ?? []).slice(0, 32).entries()) {
      this.viewports.set(`layout:${i}`, { offset: r.offset, length: Math.min(r.size, 1024 * 1024) });
    }
    this.rewatch();
    this.stateChanged();
  }

  pause(): void {
    if (this.state !== 'live') return;
    this.state = 'paused';
    this.rewatch();
    this.stateChanged();
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'live';
    this.rewatch();
    this.stateChanged();
  }

  /** Replaces the agent (read-write, or after a disconnect); panels and viewports stay. */
  replaceRemote(next: RemoteSession): void {
    const previous = this.remote;
    for (const u of this.unsubscribe.splice(0)) u();
    this.remote = next;
    this.state = 'live';
    this.reason = undefined;
    this.bind(next);
    void previous.close();
    this.rewatch();
    this.stateChanged();
  }

  async close(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.listeners.changes.clear();
    await this.remote.close();
  }

  private bind(remote: RemoteSession): void {
    this.unsubscribe.push(
      remote.onChanges((tick) => {
        const c = { time: tick.time, changes: tick.changes.map((x) => ({ offset: x.offset, bytes: x.after })) };
        for (const l of [...this.listeners.changes]) l(c);
      }),
      remote.onDisconnected((reason) => {
        this.state = 'disconnected';
        this.reason = reason;
        this.stateChanged();
      }),
      remote.onPeers((table) => {
        this.table = table;
        this.stateChanged();
      }),
    );
    if (remote.info.kind === 'ivshmem') {
      void remote.peers().then(
        (table) => {
          this.table = table;
          this.stateChanged();
        },
        () => undefined,
      );
    }
  }

  private stateChanged(): void {
    for (const l of [...this.listeners.state]) l();
  }

  /** Re-issues the agent's watch for the union of viewports; calls are serialised and coalesced. */
  private rewatch(): void {
    if (this.watchDirty) return;
    this.watchDirty = true;
    this.watchChain = this.watchChain.then(async () => {
      this.watchDirty = false;
      if (this.remote.state !== 'connected') return;
      const ranges = [...this.viewports.values()].slice(0, 64);
      try {
        if (this.state !== 'live' || this.guest || ranges.length === 0) await this.remote.unwatch();
        else {
          // (the agent takes the slower of the two when idle: a tick above 100 ms stays as it is)
          const baseline = await this.remote.watch(ranges, this.tickMs(), VIEW_IDLE_INTERVAL_MS);
          ranges.forEach((r, i) => {
            for (const l of [...this.listeners.fresh]) l(r.offset, baseline[i]!);
          });
        }
      } catch {
        // A disconnect is reported through onDisconnected; nothing else to do here.
      }
    });
  }
}
