/**
 * The hex view's protocol (webview/main.ts ↔ extension/hex-panel.ts), over the one messenger
 * (shared/messenger.ts). What the webview sends is checked here, on the host: the webview is
 * untrusted input. What the host sends is trusted by the page.
 */
import { MAX_OFFSET, bytes, empty, int, obj, optional, trusted } from '../shared/checks';
import { defineProtocol, request } from '../shared/messenger';
import type { SessionState } from './session-state';

export type { SessionState } from './session-state';

/** What a hex view needs to know of its session: the source, and the session's one state. */
export interface SessionView {
  id: string;
  source: string;
  kind: 'file' | 'snapshot' | 'ivshmem' | 'recording';
  size: number;
  /** Edits are allowed: a read-write session, or the guest-side copy (always editable). */
  writable: boolean;
  state: SessionState;
  peerId?: number;
}

export interface ViewSettings {
  bytesPerRow: number;
  highlightFadeMs: number;
}

export interface Bytes {
  offset: number;
  bytes: Uint8Array;
}

export interface Band {
  name: string;
  offset: number;
  size: number;
  color: string | undefined;
}

/** Per slice of sliceSize bytes (from offset 0), how often it changed; `of` says what was counted. */
export interface HeatStrip {
  sliceSize: number;
  counts: number[];
  of: 'live' | 'recording';
}

/** Bounds shared by both sides. */
export const MAX_READ = 1024 * 1024;
export const MAX_WRITE = 4096;
export const MAX_PATTERN = 4096;
export const MAX_VIEWPORT = 1024 * 1024;

export const hexProtocol = defineProtocol({
  requests: {
    read: request((v) => {
      const o = obj(v, 'read');
      return { offset: int(o, 'offset', 0, MAX_OFFSET), length: int(o, 'length', 1, MAX_READ) };
    }, trusted<{ bytes: Uint8Array }>()),
    write: request((v) => {
      const o = obj(v, 'write');
      return { offset: int(o, 'offset', 0, MAX_OFFSET), bytes: bytes(o, 'bytes', 1, MAX_WRITE) };
    }, trusted<Record<string, never>>()),
    /** Long: no timeout; the view cancels it, and it reports progress. */
    search: request(
      (v) => {
        const o = obj(v, 'search');
        return { pattern: bytes(o, 'pattern', 1, MAX_PATTERN), from: int(o, 'from', 0, MAX_OFFSET) };
      },
      trusted<{ offset: number | null }>(),
      { timeoutMs: 0 },
    ),
    /** The layout's name for the byte at offset (shown on hover). */
    describe: request((v) => ({ offset: int(obj(v, 'describe'), 'offset', 0, MAX_OFFSET) }), trusted<{ label: string | null }>()),
  },
  up: {
    ready: empty,
    /** The rows on screen: the host watches them for changes. */
    viewport: (v) => {
      const o = obj(v, 'viewport');
      // anchor: where the selection started (it runs to the cursor).
      const anchor = optional(o, 'anchor', (x, k) => int(x, k, 0, MAX_OFFSET));
      return { offset: int(o, 'offset', 0, MAX_OFFSET), length: int(o, 'length', 0, MAX_VIEWPORT), cursor: int(o, 'cursor', 0, MAX_OFFSET), ...(anchor === undefined ? {} : { anchor }) };
    },
  },
  down: {
    /**
     * top: the first offset on screen; cursor: where the cursor is (a view comes back as it was);
     * first: the bytes around top, read before init, so the first rows need no round trip;
     * select: bytes to select (asked for while the page was not up).
     */
    init: trusted<{ session: SessionView; settings: ViewSettings; top: number; cursor: number; first?: Bytes; select?: { offset: number; length: number } }>(),
    session: trusted<SessionView>(),
    settings: trusted<ViewSettings>(),
    /** Current bytes of what the view shows (not changes: nothing is highlighted). */
    fresh: trusted<Bytes>(),
    changes: trusted<{ time: number; changes: Bytes[] }>(),
    goto: trusted<{ offset: number; length?: number }>(),
    /** The layout's regions, drawn as coloured bands. */
    layout: trusted<{ regions: Band[] }>(),
    /** Bytes marked until the next marks (a recording's step: the runs it changed), sorted. */
    marks: trusted<{ ranges: { offset: number; length: number }[] }>(),
    /** How often each slice of the segment changed, drawn beside the scrollbar. */
    heat: trusted<HeatStrip>(),
  },
});
