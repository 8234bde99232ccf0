/**
 * The messages between a parent (the CLI, the extension host) and its agent: the child process
 * that owns one session's source, and with it every mapping. One agent per session, so a SIGBUS on
 * one backing file disconnects only that session.
 *
 * It is a protocol of the one messenger (shared/messenger.ts): the parent is the client, the agent
 * the server. Transport: Node's IPC channel with the "advanced" (structured clone) serialisation,
 * so bytes travel as Uint8Array. Every request ends in one reply, a typed error, a cancellation
 * (long requests: snapshot, verify, search, diff, reconnect) or a timeout (the others, 30 s).
 * Events (changes, gone, peers) are notes from the agent; progress is the messenger's.
 *
 * Both sides check what they receive: the agent does not trust its parent's requests (in the
 * extension they may come from a webview), and the parent does not trust what comes back (the
 * agent may be half dead). A malformed message becomes a MessageError naming the field.
 */
import { MAX_OFFSET, MessageError, bool, bytes, empty, int, num, obj, oneOf, optional, str, trusted, type Check, type Obj } from '../shared/checks';
import { defineProtocol, request } from '../shared/messenger';
import { MAX_PEER_ID, MAX_VECTORS } from '../core/ivshmem/messages';
import type { Range } from '../core/numbers';
import type { VerifyResult } from '../core/snapshot/reader';
import type { SnapshotResult } from '../core/snapshot/writer';
import type { SourceInfo } from '../core/source';
import type { Change } from '../core/watch/changes';
import type { PeerTable } from '../core/ivshmem/client';
import type { DiffResult } from '../core/diff/diff';
import type { FieldChange, RegionSummary } from '../core/diff/summary';
import type { ThreeWayResult } from '../core/reconnect/three-way';
import type { ApplyReport, FieldVerdict, RolePlan } from '../core/reconnect/roles';
import { MAX_RANGE_LENGTH } from '../core/record/header';
import type { RecordResult, RecordStats } from '../core/record/recorder';
import type { RecordingHeader } from '../core/record/header';
import type { RecordingSummary } from '../core/record/reader';

export interface DiffReply extends DiffResult {
  other: SourceInfo;
  regions?: RegionSummary[];
  fields?: FieldChange[];
  fieldsTruncated?: boolean;
  /** Snapshot ranges whose blocks failed their checksum: the diff there cannot be trusted. */
  damaged?: { side: 'a' | 'b'; source: string; ranges: Range[] }[];
}

export interface ReconnectReply {
  threeWay: ThreeWayResult;
  plan: RolePlan;
  /** Present when the role wrote into the segment (master, not a dry run). */
  applied?: ApplyReport;
  fields?: FieldVerdict[];
  /** Things the user should know before trusting the report (e.g. a base taken from another source). */
  warnings?: string[];
}

/** The header fields of a snapshot source, as `info` shows them. */
export interface SnapshotSummary {
  formatVersion: number;
  headerLength: number;
  time: number;
  blockSize: number;
  blocks: number;
  peerId: number | undefined;
  checked: boolean;
  tornRanges: number;
  layoutBytes: number;
  /** The embedded layout's text, when there is one. */
  layout: string | undefined;
  source: string;
}

/** A recording opened as a source: its header and figures, as the timeline shows them. */
export interface RecordingOverview {
  header: Omit<RecordingHeader, 'version' | 'headerLength'>;
  summary: RecordingSummary;
}

/** Where a recording source's cursor stands after a seek (see RecordingSource.seek). */
export interface SeekReply {
  /** The time of the state shown: the last change at or before the asked time (0: the first state). */
  timeMs: number;
  sample: number;
  /** The runs that step changed, absolute offsets: what the views highlight. */
  changed: Range[];
  /** False when a step found no change in that direction (the cursor did not move). */
  found: boolean;
}

export interface HistoryReply {
  changes: { timeMs: number; sample: number; before: Uint8Array; after: Uint8Array }[];
  /** More changes than asked for: these are the first ones. */
  truncated: boolean;
}

/** Most buckets a density or heat request may ask for. */
export const MAX_BUCKETS = 4096;
/** A history is of one field or a selection: at most this many bytes. */
export const MAX_HISTORY_SCOPE = 4096;
export const MAX_HISTORY_CHANGES = 100_000;

/** The largest single read or write; bigger transfers are cut into pieces by the caller. */
export const MAX_TRANSFER = 16 * 1024 * 1024;
export const MIN_INTERVAL_MS = 5;
export const MAX_INTERVAL_MS = 3_600_000;
/** A watch with an idle interval slows down after this long without a change. */
export const IDLE_AFTER_MS = 2_000;
/** The idle interval the extension's live views ask for. */
export const VIEW_IDLE_INTERVAL_MS = 100;
/** Short requests are answered within this, or fail with a timeout. */
export const AGENT_TIMEOUT_MS = 30_000;

const LONG = { timeoutMs: 0 };
const MAX_LAYOUT = 1024 * 1024;
/** A reply without a body: whatever came is dropped. */
const none: Check<Record<string, never>> = () => ({});
const layout = (o: Obj): { layout?: string } => {
  const text = optional(o, 'layout', (x, k) => str(x, k, MAX_LAYOUT));
  return text === undefined ? {} : { layout: text };
};

function range(v: unknown): Range {
  const r = obj(v, 'range');
  return { offset: int(r, 'offset', 0, MAX_OFFSET), length: int(r, 'length', 1, MAX_OFFSET) };
}

function scope(o: Obj): { scope?: Range } {
  const r = optional(o, 'scope', (x, k) => range(x[k]));
  return r === undefined ? {} : { scope: r };
}

/** A list of counts (a density or heat reply) of at most MAX_BUCKETS. */
function counts(o: Obj, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > MAX_BUCKETS || v.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)) throw new MessageError(`${key} must be a list of counts`);
  return v as number[];
}

function ranges(o: Obj, key: string): Range[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > 1_000_000) throw new MessageError(`${key} must be a list of ranges`);
  return v.map(range);
}

function checkWatch(v: unknown): { ranges: Range[]; intervalMs: number; idleIntervalMs?: number } {
  const o = obj(v, 'watch');
  if (!Array.isArray(o.ranges) || o.ranges.length === 0 || o.ranges.length > 64) throw new MessageError('ranges must be a list of 1 to 64 ranges');
  const idle = optional(o, 'idleIntervalMs', (x, k) => int(x, k, MIN_INTERVAL_MS, MAX_INTERVAL_MS));
  return { ranges: o.ranges.map(range), intervalMs: int(o, 'intervalMs', MIN_INTERVAL_MS, MAX_INTERVAL_MS), ...(idle === undefined ? {} : { idleIntervalMs: idle }) };
}

/** A peer table from the agent (a 'peers' reply or event). */
export function parsePeerTable(v: unknown): PeerTable {
  const t = obj(v, 'table');
  const ownId = int(t, 'ownId', 0, MAX_PEER_ID);
  const interrupts = t.interrupts;
  if (!Array.isArray(interrupts) || interrupts.length > MAX_VECTORS || interrupts.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)) {
    throw new MessageError('interrupts must be a list of counters');
  }
  const peers = t.peers;
  if (!Array.isArray(peers) || peers.length > MAX_PEER_ID + 1) throw new MessageError('peers must be a list');
  return {
    ownId,
    interrupts: interrupts as number[],
    peers: peers.map((p) => {
      const o = obj(p, 'peer');
      return { id: int(o, 'id', 0, MAX_PEER_ID), vectors: int(o, 'vectors', 0, MAX_VECTORS) };
    }),
  };
}

function checkChanges(v: unknown): { time: number; changes: Change[] } {
  const e = obj(v, 'changes');
  if (!Array.isArray(e.changes)) throw new MessageError('changes must be a list');
  const changes = e.changes.map((x) => {
    const c = obj(x, 'change');
    const before = bytes(c, 'before', 1, MAX_OFFSET);
    const after = bytes(c, 'after', 1, MAX_OFFSET);
    if (before.length !== after.length) throw new MessageError('a change needs before and after of the same, non-zero length');
    return { offset: int(c, 'offset', 0, MAX_OFFSET), before, after };
  });
  return { time: int(e, 'time', 0, Number.MAX_SAFE_INTEGER), changes };
}

export const agentProtocol = defineProtocol({
  requests: {
    open: request((v) => {
      const o = obj(v, 'open');
      const recording = optional(o, 'recording', bool);
      return { source: str(o, 'source'), writable: bool(o, 'writable'), ...(recording ? { recording } : {}) };
    }, trusted<{ info: SourceInfo; snapshot: SnapshotSummary | undefined; recording?: RecordingOverview; identity: string }>()),
    read: request(
      (v) => {
        const o = obj(v, 'read');
        return { offset: int(o, 'offset', 0, MAX_OFFSET), length: int(o, 'length', 0, MAX_TRANSFER) };
      },
      (v) => ({ bytes: bytes(obj(v, 'reply'), 'bytes', 0, MAX_TRANSFER) }),
    ),
    write: request((v) => {
      const o = obj(v, 'write');
      return { offset: int(o, 'offset', 0, MAX_OFFSET), bytes: bytes(o, 'bytes', 0, MAX_TRANSFER) };
    }, none),
    /**
     * Samples the ranges every intervalMs. With idleIntervalMs, after IDLE_AFTER_MS without a change
     * it samples at that slower pace until the next change (fast again from the tick that sees it).
     */
    watch: request(checkWatch, (v) => {
      const list = obj(v, 'reply').baseline;
      if (!Array.isArray(list) || list.some((b) => !(b instanceof Uint8Array))) throw new MessageError('baseline must be a list of bytes');
      return { baseline: list as Uint8Array[] };
    }),
    unwatch: request(empty, none),
    snapshot: request(
      (v) => {
        const o = obj(v, 'snapshot');
        const consistent = optional(o, 'consistent', bool);
        return { target: str(o, 'target'), tempPath: str(o, 'tempPath'), force: bool(o, 'force'), ...layout(o), ...(consistent === undefined ? {} : { consistent }) };
      },
      trusted<SnapshotResult>(),
      LONG,
    ),
    verify: request(empty, trusted<VerifyResult>(), LONG),
    peers: request(empty, parsePeerTable),
    search: request(
      (v) => {
        const o = obj(v, 'search');
        return { pattern: bytes(o, 'pattern', 1, 4096), from: int(o, 'from', 0, MAX_OFFSET) };
      },
      (v) => {
        const o = obj(v, 'reply');
        return { offset: o.offset === null ? null : int(o, 'offset', 0, MAX_OFFSET) };
      },
      LONG,
    ),
    /** Compares this session's source (A) with another source (B), opened by the agent for the diff. */
    diff: request(
      (v) => {
        const o = obj(v, 'diff');
        const layoutName = optional(o, 'layoutName', (x, k) => str(x, k));
        return { other: str(o, 'other'), maxRanges: int(o, 'maxRanges', 1, 10_000_000), ...layout(o), ...(layoutName === undefined ? {} : { layoutName }) };
      },
      trusted<DiffReply>(),
      LONG,
    ),
    /** The three-way reconnect of this session's segment (remote) with a base and a local snapshot. */
    reconnect: request(
      (v) => {
        const o = obj(v, 'reconnect');
        return { base: str(o, 'base'), local: str(o, 'local'), role: oneOf(o, 'role', ['master', 'peer'] as const), dryRun: bool(o, 'dryRun'), ...layout(o) };
      },
      trusted<ReconnectReply>(),
      LONG,
    ),
    ring: request((v) => {
      const o = obj(v, 'ring');
      return { peer: int(o, 'peer', 0, MAX_PEER_ID), vector: int(o, 'vector', 0, MAX_VECTORS - 1) };
    }, none),
    /**
     * Records [offset, offset+length) into a .shmrec file every intervalMs until it stops by itself
     * (durationMs, maxBytes, the source gone) or is cancelled, which ends the file in order: a
     * cancelled recording still replies with its figures. One recording per agent at a time; its
     * figures come as `recording` notes about once a second.
     */
    record: request(
      (v) => {
        const o = obj(v, 'record');
        const durationMs = optional(o, 'durationMs', (x, k) => int(x, k, 1, Number.MAX_SAFE_INTEGER));
        const maxBytes = optional(o, 'maxBytes', (x, k) => int(x, k, 1, MAX_OFFSET));
        return {
          target: str(o, 'target'),
          force: bool(o, 'force'),
          offset: int(o, 'offset', 0, MAX_OFFSET),
          length: int(o, 'length', 1, MAX_RANGE_LENGTH),
          intervalMs: int(o, 'intervalMs', MIN_INTERVAL_MS, MAX_INTERVAL_MS),
          ...(durationMs === undefined ? {} : { durationMs }),
          ...(maxBytes === undefined ? {} : { maxBytes }),
          ...layout(o),
        };
      },
      (v): RecordResult => {
        const o = obj(v, 'reply');
        return { ...checkRecordStats(o), path: str(o, 'path'), reason: oneOf(o, 'reason', ['stopped', 'duration', 'max-size', 'source-lost', 'detached'] as const), message: str(o, 'message') };
      },
      LONG,
    ),
    /**
     * A recording source: moves its cursor to the last sample at or before timeMs, or (with step)
     * to the next or previous change of the scope (default: anything) from timeMs. A running watch
     * samples at once, so the views have the new bytes before the reply.
     */
    seek: request(
      (v) => {
        const o = obj(v, 'seek');
        const step = optional(o, 'step', (x, k) => oneOf(x, k, ['next', 'previous'] as const));
        return { timeMs: num(o, 'timeMs', 0, Number.MAX_SAFE_INTEGER), ...(step === undefined ? {} : { step }), ...scope(o) };
      },
      (v): SeekReply => {
        const o = obj(v, 'reply');
        return { timeMs: num(o, 'timeMs', 0, Number.MAX_SAFE_INTEGER), sample: int(o, 'sample', 0, 2 ** 32), changed: ranges(o, 'changed'), found: bool(o, 'found') };
      },
    ),
    /** A recording's changes (of the scope) per time bucket: `buckets` equal slices of the whole recording. */
    density: request(
      (v) => {
        const o = obj(v, 'density');
        return { buckets: int(o, 'buckets', 1, MAX_BUCKETS), ...scope(o) };
      },
      (v) => ({ counts: counts(obj(v, 'reply'), 'counts') }),
    ),
    /** A recording's heat: per equal slice of the source, in how many samples it changed. */
    heat: request(
      (v) => ({ buckets: int(obj(v, 'heat'), 'buckets', 1, MAX_BUCKETS) }),
      (v) => {
        const o = obj(v, 'reply');
        return { sliceSize: int(o, 'sliceSize', 1, MAX_OFFSET), counts: counts(o, 'counts') };
      },
    ),
    /** Each change of a recording's scope (a field, a selection), with its bytes before and after. */
    history: request(
      (v) => {
        const o = obj(v, 'history');
        const r = range(o.scope);
        if (r.length > MAX_HISTORY_SCOPE) throw new MessageError(`a history covers at most ${MAX_HISTORY_SCOPE} bytes`);
        return { scope: r, max: int(o, 'max', 1, MAX_HISTORY_CHANGES) };
      },
      (v): HistoryReply => {
        const o = obj(v, 'reply');
        if (!Array.isArray(o.changes) || o.changes.length > MAX_HISTORY_CHANGES) throw new MessageError('changes must be a list');
        const changes = o.changes.map((x) => {
          const c = obj(x, 'change');
          const before = bytes(c, 'before', 1, MAX_HISTORY_SCOPE);
          const after = bytes(c, 'after', before.length, before.length);
          return { timeMs: num(c, 'timeMs', 0, Number.MAX_SAFE_INTEGER), sample: int(c, 'sample', 0, 2 ** 32), before, after };
        });
        return { changes, truncated: bool(o, 'truncated') };
      },
    ),
    /** Writes a recording's segment as it was at atMs (the cursor does not move) as a snapshot. */
    replay: request(
      (v) => {
        const o = obj(v, 'replay');
        return { atMs: num(o, 'atMs', 0, Number.MAX_SAFE_INTEGER), target: str(o, 'target'), tempPath: str(o, 'tempPath'), force: bool(o, 'force'), ...layout(o) };
      },
      trusted<SnapshotResult & { timeMs: number }>(),
      LONG,
    ),
    close: request(empty, none),
  },
  up: {},
  down: {
    /** A watch tick's changed ranges, before and after. */
    changes: checkChanges,
    gone: (v) => ({ reason: str(obj(v, 'gone'), 'reason') }),
    /** An ivshmem session's peer table or interrupt counters changed. */
    peers: (v) => ({ table: parsePeerTable(obj(v, 'peers').table) }),
    /** The running recording's figures, about once a second (the first: its first state is in the file). */
    recording: (v) => ({ stats: checkRecordStats(obj(obj(v, 'recording').stats, 'stats')) }),
  },
});

/** A recording's figures (a `recording` note, and the body of a `record` reply). */
function checkRecordStats(o: Obj): RecordStats {
  const n = (key: string): number => int(o, key, 0, Number.MAX_SAFE_INTEGER);
  const ms = (key: string): number => num(o, key, 0, Number.MAX_VALUE);
  return { samples: n('samples'), changeSamples: n('changeSamples'), changedBytes: n('changedBytes'), missedTicks: n('missedTicks'), keyframes: n('keyframes'), events: n('events'), fileBytes: n('fileBytes'), elapsedMs: ms('elapsedMs'), slowestSampleMs: ms('slowestSampleMs') };
}

export type AgentProtocol = typeof agentProtocol;
