/**
 * The messages between the extension host and the hex view webview, in one file both sides import
 * (it imports nothing itself). Every request from the webview gets exactly one reply, ok or error;
 * the webview also times requests out, so a lost reply never leaves it waiting forever. Bytes
 * travel as Uint8Array. The host treats everything from the webview as untrusted input:
 * parseWebviewMessage checks each field before the host uses it.
 */

export type SessionState = 'live' | 'paused' | 'disconnected';

export interface SessionView {
  id: string;
  source: string;
  kind: 'file' | 'snapshot' | 'ivshmem';
  size: number;
  writable: boolean;
  state: SessionState;
  reason?: string;
  peerId?: number;
  /** Disconnected by the user: the view shows (and edits) the guest-side copy. */
  guestCopy?: boolean;
}

export interface ViewSettings {
  bytesPerRow: number;
  highlightFadeMs: number;
}

/** What the webview asks, and what each answer holds. */
export type WebviewRequest =
  | { type: 'read'; offset: number; length: number }
  | { type: 'write'; offset: number; bytes: Uint8Array }
  | { type: 'search'; pattern: Uint8Array; from: number }
  /** The layout's name for the byte at offset (shown on hover). */
  | { type: 'describe'; offset: number }
  | { type: 'cancel'; request: number };

export interface WebviewReplies {
  read: { bytes: Uint8Array };
  write: Record<string, never>;
  search: { offset: number | null };
  describe: { label: string | null };
  cancel: Record<string, never>;
}

export type WebviewMessage =
  | { type: 'ready' }
  /** The rows on screen: the host watches them for changes. */
  | { type: 'viewport'; offset: number; length: number; cursor: number }
  | { type: 'request'; id: number; request: WebviewRequest };

export type HostMessage =
  /** top: the first offset on screen; cursor: where the cursor is (a view comes back as it was). */
  /** Current bytes of what the view shows (not changes: nothing is highlighted). */
  | { type: 'fresh'; offset: number; bytes: Uint8Array }
  /** `first`: the bytes around `top`, read before init, so the first rows need no round trip. */
  | { type: 'init'; session: SessionView; settings: ViewSettings; top: number; cursor: number; first?: { offset: number; bytes: Uint8Array } }
  | { type: 'session'; session: SessionView }
  | { type: 'settings'; settings: ViewSettings }
  | { type: 'changes'; time: number; changes: { offset: number; bytes: Uint8Array }[] }
  | { type: 'goto'; offset: number; length?: number }
  /** The layout's regions, drawn as coloured bands. */
  | { type: 'layout'; regions: { name: string; offset: number; size: number; color: string | undefined }[] }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'reply'; id: number; ok: true; body: WebviewReplies[keyof WebviewReplies] }
  | { type: 'reply'; id: number; ok: false; error: string };

/** Bounds shared by both sides. */
export const MAX_READ = 1024 * 1024;
export const MAX_WRITE = 4096;
export const MAX_PATTERN = 4096;
export const MAX_VIEWPORT = 1024 * 1024;
const MAX_OFFSET = 2 ** 48;

export class WebviewMessageError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WebviewMessageError(`${what} is not an object`);
  return v as Obj;
}

function int(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new WebviewMessageError(`${key} must be an integer in ${min}..${max}`);
  return v;
}

function bytes(o: Obj, key: string, min: number, max: number): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) throw new WebviewMessageError(`${key} must be ${min}..${max} bytes`);
  return v;
}

/** Checks a message from the webview (untrusted) before the host acts on it. */
export function parseWebviewMessage(message: unknown): WebviewMessage {
  const m = obj(message, 'message');
  switch (m.type) {
    case 'ready':
      return { type: 'ready' };
    case 'viewport':
      return { type: 'viewport', offset: int(m, 'offset', 0, MAX_OFFSET), length: int(m, 'length', 0, MAX_VIEWPORT), cursor: int(m, 'cursor', 0, MAX_OFFSET) };
    case 'request': {
      const id = int(m, 'id', 1, Number.MAX_SAFE_INTEGER);
      const r = obj(m.request, 'request');
      switch (r.type) {
        case 'read':
          return { type: 'request', id, request: { type: 'read', offset: int(r, 'offset', 0, MAX_OFFSET), length: int(r, 'length', 1, MAX_READ) } };
        case 'write':
          return { type: 'request', id, request: { type: 'write', offset: int(r, 'offset', 0, MAX_OFFSET), bytes: bytes(r, 'bytes', 1, MAX_WRITE) } };
        case 'search':
          return { type: 'request', id, request: { type: 'search', pattern: bytes(r, 'pattern', 1, MAX_PATTERN), from: int(r, 'from', 0, MAX_OFFSET) } };
        case 'cancel':
          return { type: 'request', id, request: { type: 'cancel', request: int(r, 'request', 1, Number.MAX_SAFE_INTEGER) } };
        case 'describe':
          return { type: 'request', id, request: { type: 'describe', offset: int(r, 'offset', 0, MAX_OFFSET) } };
        default:
          throw new WebviewMessageError(`unknown request type ${String(r.type).slice(0, 40)}`);
      }
    }
    default:
      throw new WebviewMessageError(`unknown message type ${String(m.type).slice(0, 40)}`);
  }
}

// ---- The diff view (webview/diff-main.ts) ----

export interface DiffSide {
  source: string;
  size: number;
  /** A live session (not a snapshot): its bytes can be revealed in its hex view. */
  live: boolean;
}

export interface DiffModel {
  a: DiffSide;
  b: DiffSide;
  compared: number;
  changedBytes: number;
  ranges: { offset: number; length: number }[];
  rangesTruncated: boolean;
  tail: { side: 'a' | 'b'; offset: number; length: number } | null;
  regions: { name: string; changedBytes: number; ranges: number }[];
  fields: { field: string; offset: number; length: number; old: string; new: string }[];
}

export type DiffRequest = { type: 'pair'; offset: number; length: number } | { type: 'reveal'; side: 'a' | 'b'; offset: number; length: number };

export interface DiffReplies {
  pair: { a: Uint8Array; b: Uint8Array };
  reveal: Record<string, never>;
}

export type DiffWebviewMessage = { type: 'ready' } | { type: 'request'; id: number; request: DiffRequest };

export type DiffHostMessage =
  | { type: 'model'; model: DiffModel }
  | { type: 'reply'; id: number; ok: true; body: DiffReplies[keyof DiffReplies] }
  | { type: 'reply'; id: number; ok: false; error: string };

/** Checks a message from the diff view (untrusted) before the host acts on it. */
export function parseDiffWebviewMessage(message: unknown): DiffWebviewMessage {
  const m = obj(message, 'message');
  if (m.type === 'ready') return { type: 'ready' };
  if (m.type !== 'request') throw new WebviewMessageError(`unknown message type ${String(m.type).slice(0, 40)}`);
  const id = int(m, 'id', 1, Number.MAX_SAFE_INTEGER);
  const r = obj(m.request, 'request');
  const offset = int(r, 'offset', 0, MAX_OFFSET);
  const length = int(r, 'length', 1, MAX_READ);
  if (r.type === 'pair') return { type: 'request', id, request: { type: 'pair', offset, length } };
  if (r.type === 'reveal' && (r.side === 'a' || r.side === 'b')) return { type: 'request', id, request: { type: 'reveal', side: r.side, offset, length } };
  throw new WebviewMessageError(`unknown diff request ${String(r.type).slice(0, 40)}`);
}

// ---- The reconnect report (webview/report-main.ts) ----

export type Kind = 'local' | 'remote' | 'both' | 'conflict';

export interface ReconnectModel {
  source: string;
  cause: string;
  size: number;
  bytes: Record<Kind, number>;
  ranges: { offset: number; length: number; kind: Kind }[];
  truncated: boolean;
  fields: { field: string; offset: number; kind: Kind; base: string; local: string; remote: string }[];
  /** What each role would do: bytes written (master) and bytes lost. */
  master: { writeBytes: number; lostBytes: number };
  peer: { lostBytes: number };
  /** After a role was applied. */
  result?: { role: 'master' | 'peer'; written: number; verified: boolean; discardedBytes: number; error?: string };
}

export type ReportWebviewMessage = { type: 'ready' } | { type: 'apply'; role: 'master' | 'peer' } | { type: 'cancel' };
export type ReportHostMessage = { type: 'model'; model: ReconnectModel };

export function parseReportMessage(message: unknown): ReportWebviewMessage {
  const m = obj(message, 'message');
  if (m.type === 'ready' || m.type === 'cancel') return { type: m.type };
  if (m.type === 'apply' && (m.role === 'master' || m.role === 'peer')) return { type: 'apply', role: m.role };
  throw new WebviewMessageError('unknown report message');
}
