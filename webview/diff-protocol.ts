/**
 * The diff view's protocol (webview/diff-main.ts ↔ extension/diff-panel.ts), over the one messenger
 * (shared/messenger.ts). Requests from the webview are checked on the host.
 */
import { MAX_OFFSET, empty, int, obj, oneOf, trusted } from '../shared/checks';
import { defineProtocol, request } from '../shared/messenger';
import { MAX_READ } from './hex-protocol';

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

function range(v: unknown, what: string): { offset: number; length: number } {
  const o = obj(v, what);
  return { offset: int(o, 'offset', 0, MAX_OFFSET), length: int(o, 'length', 1, MAX_READ) };
}

export const diffProtocol = defineProtocol({
  requests: {
    /** Both sides' bytes of a range (a side shorter than the range gives fewer). */
    pair: request((v) => range(v, 'pair'), trusted<{ a: Uint8Array; b: Uint8Array }>()),
    /** Selects the range in a live side's hex view. */
    reveal: request((v) => ({ side: oneOf(obj(v, 'reveal'), 'side', ['a', 'b'] as const), ...range(v, 'reveal') }), trusted<Record<string, never>>()),
  },
  up: { ready: empty },
  down: { model: trusted<DiffModel>() },
});
