/**
 * The messages between a parent (the CLI, later the extension host) and its agent: the child
 * process that owns one session's source, and with it every mapping. One agent per session, so a
 * SIGBUS on one backing file disconnects only that session.
 *
 * Transport: Node's IPC channel with the "advanced" (structured clone) serialisation, so bytes
 * travel as Uint8Array, never as base64 or number arrays. Every request gets exactly one reply,
 * ok or error; events (changes, progress, gone) are not replies.
 */
import type { ErrorCode } from '../core/errors';
import type { Range } from '../core/numbers';
import type { VerifyResult } from '../core/snapshot/reader';
import type { SnapshotResult } from '../core/snapshot/writer';
import type { SourceInfo } from '../core/source';
import type { Change } from '../core/watch/changes';
import type { PeerTable } from '../core/ivshmem/client';
import type { DiffResult } from '../core/diff/diff';
import type { FieldChange, RegionSummary } from '../core/diff/summary';
import type { ThreeWayResult } from '../core/reconnect/three-way';
import type { ApplyReport, FieldVerdict, Role, RolePlan } from '../core/reconnect/roles';
import type { RecordResult, RecordStats } from '../core/record/recorder';

export interface DiffReply extends DiffResult {
  other: SourceInfo;
  regions?: RegionSummary[];
  fields?: FieldChange[];
  fieldsTruncated?: boolean;
}

export interface ReconnectReply {
  threeWay: ThreeWayResult;
  plan: RolePlan;
  /** Present when the role wrote into the segment (master, not a dry run). */
  applied?: ApplyReport;
  fields?: FieldVerdict[];
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

export type AgentRequest =
  | { type: 'open'; source: string; writable: boolean }
  | { type: 'read'; offset: number; length: number }
  | { type: 'write'; offset: number; bytes: Uint8Array }
  /**
   * Samples the ranges every intervalMs. With idleIntervalMs, after IDLE_AFTER_MS without a change
   * it samples at that slower pace until the next change (fast again from the tick that sees it).
   */
  | { type: 'watch'; ranges: Range[]; intervalMs: number; idleIntervalMs?: number }
  | { type: 'unwatch' }
  | { type: 'snapshot'; target: string; tempPath: string; force: boolean; layout?: string; consistent?: boolean }
  | { type: 'verify' }
  | { type: 'peers' }
  | { type: 'search'; pattern: Uint8Array; from: number }
  /** Compares this session's source (A) with another source (B), opened by the agent for the diff. */
  | { type: 'diff'; other: string; layout?: string; maxRanges: number }
  /** The three-way reconnect of this session's segment (remote) with a base and a local snapshot. */
  | { type: 'reconnect'; base: string; local: string; role: Role; dryRun: boolean; layout?: string }
  | { type: 'ring'; peer: number; vector: number }
  /**
   * Records [offset, offset+length) into a .shmrec file every intervalMs until it stops by itself
   * (durationMs, maxBytes, the source gone) or is cancelled, which ends the file in order.
   */
  | { type: 'record'; target: string; force: boolean; offset: number; length: number; intervalMs: number; durationMs?: number; maxBytes?: number; layout?: string }
  | { type: 'cancel'; request: number }
  | { type: 'close' };

/** The reply body for each request type. */
export interface AgentReplies {
  open: { info: SourceInfo; snapshot: SnapshotSummary | undefined };
  read: { bytes: Uint8Array };
  write: Record<string, never>;
  watch: { baseline: Uint8Array[] };
  unwatch: Record<string, never>;
  snapshot: SnapshotResult;
  verify: VerifyResult;
  peers: PeerTable;
  search: { offset: number | null };
  diff: DiffReply;
  reconnect: ReconnectReply;
  ring: Record<string, never>;
  record: RecordResult;
  cancel: { found: boolean };
  close: Record<string, never>;
}

export type AgentEvent =
  | { type: 'changes'; time: number; changes: Change[] }
  | { type: 'progress'; request: number; done: number; total: number }
  | { type: 'gone'; reason: string }
  /** A recording's figures, about once a second. */
  | { type: 'recording'; request: number; stats: RecordStats }
  /** An ivshmem session's peer table or interrupt counters changed. */
  | { type: 'peers'; table: PeerTable };

export interface ToAgent {
  id: number;
  request: AgentRequest;
}

export type FromAgent =
  | { kind: 'reply'; id: number; ok: true; reply: AgentReplies[keyof AgentReplies] }
  | { kind: 'reply'; id: number; ok: false; code: ErrorCode; message: string }
  | { kind: 'event'; event: AgentEvent };

/** The largest single read or write; bigger transfers are cut into pieces by the caller. */
export const MAX_TRANSFER = 16 * 1024 * 1024;
export const MIN_INTERVAL_MS = 5;
export const MAX_INTERVAL_MS = 3_600_000;
/** A watch with an idle interval slows down after this long without a change. */
export const IDLE_AFTER_MS = 2_000;
/** The idle interval the extension's live views ask for. */
export const VIEW_IDLE_INTERVAL_MS = 100;
