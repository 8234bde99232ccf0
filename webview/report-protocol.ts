/**
 * The reconnect report's protocol (webview/report-main.ts ↔ extension/reconnect.ts), over the one
 * messenger (shared/messenger.ts). The report shows a preview; Apply names the preview it was
 * pressed on, so the host can refuse it when anything changed since (and show a new preview).
 */
import { empty, int, obj, oneOf, trusted } from '../shared/checks';
import { defineProtocol } from '../shared/messenger';

export type Kind = 'local' | 'remote' | 'both' | 'conflict';

export interface ReconnectModel {
  /** Which preview this is: Apply names it. */
  preview: number;
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
  /** Why this preview replaced the one the user applied (it was refused). */
  changed?: string;
  /** After a role was applied. */
  result?: { role: 'master' | 'peer'; written: number; verified: boolean; discardedBytes: number; error?: string };
}

export const reportProtocol = defineProtocol({
  requests: {},
  up: {
    ready: empty,
    apply: (v) => {
      const o = obj(v, 'apply');
      return { role: oneOf(o, 'role', ['master', 'peer'] as const), preview: int(o, 'preview', 1, Number.MAX_SAFE_INTEGER) };
    },
    cancel: empty,
  },
  down: { model: trusted<ReconnectModel>() },
});
