/**
 * The timeline editor's protocol (webview/timeline-main.ts ↔ extension/timeline-panel.ts), over the
 * one messenger (shared/messenger.ts). What the page asks is checked on the host (the webview is
 * untrusted input); what the host sends is trusted by the page.
 */
import { MessageError, empty, int, num, obj, oneOf, str, trusted, type Obj } from '../shared/checks';
import { defineProtocol, request } from '../shared/messenger';

/** A field of the recording's layout the timeline can follow. */
export interface TimelineField {
  path: string;
  offset: number;
  length: number;
  /** Numbers are charted; text, enums, flags and bytes are listed as transitions. */
  kind: 'number' | 'text';
}

export interface TimelineModel {
  /** The .shmrec file, and the source it recorded. */
  file: string;
  source: string;
  /** When the first sample was taken (ms since the epoch). */
  startTime: number;
  durationMs: number;
  intervalMs: number;
  samples: number;
  changeSamples: number;
  changedBytes: number;
  missedTicks: number;
  fileBytes: number;
  range: { offset: number; length: number };
  segmentSize: number;
  /** How the recorder stopped, in words; null when it never wrote its end (killed, or still recording). */
  ended: string | null;
  /** A torn tail that was ignored, in words. */
  tail: string | null;
  fields: TimelineField[];
  fieldsTruncated: boolean;
}

/** Where the timeline stands after a seek or a step. */
export interface Position {
  /** The time of the state shown: the last change at or before the asked time (0: the first state). */
  timeMs: number;
  sample: number;
  /** Bytes changed by that step (they are marked in the hex view). */
  changedBytes: number;
  /** A step found a change (false: none in that direction; the position did not move). */
  found: boolean;
}

/** What a step, a density or a history follows: every change, the hex view's selection, or a field. */
export type Scope = { kind: 'all' } | { kind: 'selection' } | { kind: 'field'; path: string };

export interface HistoryPoint {
  timeMs: number;
  sample: number;
  /** The new value as a number (numeric fields), else null. */
  value: number | null;
  text: string;
  old: string;
}

export interface FieldHistory {
  /** The field's path, or "0x8+4" for a selection. */
  name: string;
  kind: 'number' | 'text';
  /** The value in the first state. */
  initial: { value: number | null; text: string };
  points: HistoryPoint[];
  /** More changes than are listed: these are the first ones. */
  truncated: boolean;
}

/** Most buckets of a density (one per pixel of the scrubber). */
export const MAX_DENSITY_BUCKETS = 4096;
const MAX_MS = Number.MAX_SAFE_INTEGER;

function scope(o: Obj): Scope {
  const s = obj(o.scope, 'scope');
  const kind = oneOf(s, 'kind', ['all', 'selection', 'field'] as const);
  if (kind !== 'field') return { kind };
  const path = str(s, 'path', 1024);
  if (path.length === 0) throw new MessageError('a field scope needs a path');
  return { kind, path };
}

export const timelineProtocol = defineProtocol({
  requests: {
    /** Moves the timeline (and the hex and Regions views) to the last sample at or before timeMs. */
    seek: request((v) => ({ timeMs: num(obj(v, 'seek'), 'timeMs', 0, MAX_MS) }), trusted<Position>()),
    /** Moves to the next or previous change of the scope from fromMs. */
    step: request((v) => {
      const o = obj(v, 'step');
      return { direction: oneOf(o, 'direction', ['next', 'previous'] as const), fromMs: num(o, 'fromMs', 0, MAX_MS), scope: scope(o) };
    }, trusted<Position>()),
    /** Changes of the scope per bucket: `buckets` equal slices of the recording. */
    density: request((v) => {
      const o = obj(v, 'density');
      return { buckets: int(o, 'buckets', 1, MAX_DENSITY_BUCKETS), scope: scope(o) };
    }, trusted<{ counts: number[] }>()),
    /** The history of a field or of the selection (a scope other than all). */
    history: request((v) => ({ scope: scope(obj(v, 'history')) }), trusted<FieldHistory>()),
    /** Compare Two Moments: the diff view between the recording at aMs and at bMs. */
    compare: request((v) => {
      const o = obj(v, 'compare');
      return { aMs: num(o, 'aMs', 0, MAX_MS), bMs: num(o, 'bMs', 0, MAX_MS) };
    }, trusted<Record<string, never>>(), { timeoutMs: 0 }),
    /** Shows the recording's hex view (opened again if it was closed). */
    showHex: request(empty, trusted<Record<string, never>>()),
  },
  up: { ready: empty },
  down: {
    model: trusted<TimelineModel>(),
    /** The hex view's selection (and the field it is exactly, if any), to step through its changes. */
    selection: trusted<{ offset: number; length: number; field: string | null } | null>(),
    /** The timeline was moved from outside the page (a command). */
    position: trusted<Position>(),
  },
});
