/**
 * Checks of every message that crosses the process boundary, in both directions. The agent does
 * not trust its parent's requests (in the extension they may come from a webview), and the parent
 * does not trust what comes back (the agent may be half dead). A malformed message becomes a
 * MessageError naming the field, never a crash.
 */
import { MAX_OFFSET } from '../core/numbers';
import { MAX_PEER_ID, MAX_VECTORS } from '../core/ivshmem/messages';
import type { PeerTable } from '../core/ivshmem/client';
import type { ErrorCode } from '../core/errors';
import { MAX_RANGE_LENGTH } from '../core/record/header';
import type { RecordStats } from '../core/record/recorder';
import { MAX_INTERVAL_MS, MAX_TRANSFER, MIN_INTERVAL_MS, type AgentEvent, type AgentRequest, type FromAgent, type ToAgent } from './protocol';

export class MessageError extends Error {}

type Obj = Record<string, unknown>;

function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MessageError(`${what} is not an object`);
  return value as Obj;
}

function int(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new MessageError(`${key} must be an integer in ${min}..${max}, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

function str(o: Obj, key: string, maxLength = 4096): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength || v.includes('\0')) throw new MessageError(`${key} must be a string of at most ${maxLength} characters without NUL`);
  return v;
}

function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new MessageError(`${key} must be true or false`);
  return v;
}

function bytes(o: Obj, key: string, maxLength: number): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || v.length > maxLength) throw new MessageError(`${key} must be bytes (at most ${maxLength})`);
  return v;
}

function bytesMin(o: Obj, key: string, min: number, max: number): Uint8Array {
  const v = bytes(o, key, max);
  if (v.length < min) throw new MessageError(`${key} must be at least ${min} byte(s)`);
  return v;
}

/** Parses a parent → agent message. */
export function parseToAgent(message: unknown): ToAgent {
  const m = obj(message, 'message');
  const id = int(m, 'id', 1, Number.MAX_SAFE_INTEGER);
  return { id, request: parseRequest(obj(m.request, 'request')) };
}

function parseRequest(r: Obj): AgentRequest {
  switch (r.type) {
    case 'open':
      return { type: 'open', source: str(r, 'source'), writable: bool(r, 'writable') };
    case 'read':
      return { type: 'read', offset: int(r, 'offset', 0, MAX_OFFSET), length: int(r, 'length', 0, MAX_TRANSFER) };
    case 'write':
      return { type: 'write', offset: int(r, 'offset', 0, MAX_OFFSET), bytes: bytes(r, 'bytes', MAX_TRANSFER) };
    case 'watch': {
      const list = r.ranges;
      if (!Array.isArray(list) || list.length === 0 || list.length > 64) throw new MessageError('ranges must be a list of 1 to 64 ranges');
      const ranges = list.map((x) => {
        const range = obj(x, 'range');
        return { offset: int(range, 'offset', 0, MAX_OFFSET), length: int(range, 'length', 1, MAX_OFFSET) };
      });
      const watch: AgentRequest = { type: 'watch', ranges, intervalMs: int(r, 'intervalMs', MIN_INTERVAL_MS, MAX_INTERVAL_MS) };
      if (r.idleIntervalMs !== undefined) watch.idleIntervalMs = int(r, 'idleIntervalMs', MIN_INTERVAL_MS, MAX_INTERVAL_MS);
      return watch;
    }
    case 'snapshot':
      return {
        type: 'snapshot',
        target: str(r, 'target'),
        tempPath: str(r, 'tempPath'),
        force: bool(r, 'force'),
        ...(r.layout === undefined ? {} : { layout: str(r, 'layout', 1024 * 1024) }),
        ...(r.consistent === undefined ? {} : { consistent: bool(r, 'consistent') }),
      };
    case 'cancel':
      return { type: 'cancel', request: int(r, 'request', 1, Number.MAX_SAFE_INTEGER) };
    case 'search':
      return { type: 'search', pattern: bytesMin(r, 'pattern', 1, 4096), from: int(r, 'from', 0, MAX_OFFSET) };
    case 'diff':
      return {
        type: 'diff',
        other: str(r, 'other'),
        maxRanges: int(r, 'maxRanges', 1, 10_000_000),
        ...(r.layout === undefined ? {} : { layout: str(r, 'layout', 1024 * 1024) }),
      };
    case 'reconnect':
      if (r.role !== 'master' && r.role !== 'peer') throw new MessageError('role must be "master" or "peer"');
      return {
        type: 'reconnect',
        base: str(r, 'base'),
        local: str(r, 'local'),
        role: r.role,
        dryRun: bool(r, 'dryRun'),
        ...(r.layout === undefined ? {} : { layout: str(r, 'layout', 1024 * 1024) }),
      };
    case 'ring':
      return { type: 'ring', peer: int(r, 'peer', 0, MAX_PEER_ID), vector: int(r, 'vector', 0, MAX_VECTORS - 1) };
    case 'record':
      return {
        type: 'record',
        target: str(r, 'target'),
        force: bool(r, 'force'),
        offset: int(r, 'offset', 0, MAX_OFFSET),
        length: int(r, 'length', 1, MAX_RANGE_LENGTH),
        intervalMs: int(r, 'intervalMs', MIN_INTERVAL_MS, MAX_INTERVAL_MS),
        ...(r.durationMs === undefined ? {} : { durationMs: int(r, 'durationMs', 1, Number.MAX_SAFE_INTEGER) }),
        ...(r.maxBytes === undefined ? {} : { maxBytes: int(r, 'maxBytes', 1, MAX_OFFSET) }),
        ...(r.layout === undefined ? {} : { layout: str(r, 'layout', 1024 * 1024) }),
      };
    case 'peers':
    case 'unwatch':
    case 'verify':
    case 'close':
      return { type: r.type };
    default:
      throw new MessageError(`unknown request type ${JSON.stringify(String(r.type)).slice(0, 40)}`);
  }
}

const CODES: readonly ErrorCode[] = ['input', 'lost', 'cancelled', 'internal'];

/**
 * Parses an agent → parent message. Reply bodies are checked by the caller that knows what it
 * asked for; here the envelope and the events.
 */
export function parseFromAgent(message: unknown): FromAgent {
  const m = obj(message, 'message');
  if (m.kind === 'reply') {
    const id = int(m, 'id', 1, Number.MAX_SAFE_INTEGER);
    if (m.ok === true) return { kind: 'reply', id, ok: true, reply: obj(m.reply, 'reply') as never };
    if (m.ok === false) {
      const code = m.code as ErrorCode;
      if (!CODES.includes(code)) throw new MessageError(`unknown error code ${String(m.code).slice(0, 20)}`);
      return { kind: 'reply', id, ok: false, code, message: str(m, 'message', 64 * 1024) };
    }
    throw new MessageError('ok must be true or false');
  }
  if (m.kind === 'event') return { kind: 'event', event: parseEvent(obj(m.event, 'event')) };
  throw new MessageError('kind must be "reply" or "event"');
}

function parseEvent(e: Obj): AgentEvent {
  switch (e.type) {
    case 'changes': {
      const list = e.changes;
      if (!Array.isArray(list)) throw new MessageError('changes must be a list');
      const changes = list.map((x) => {
        const c = obj(x, 'change');
        const before = bytes(c, 'before', MAX_OFFSET);
        const after = bytes(c, 'after', MAX_OFFSET);
        if (before.length !== after.length || before.length === 0) throw new MessageError('a change needs before and after of the same, non-zero length');
        return { offset: int(c, 'offset', 0, MAX_OFFSET), before, after };
      });
      return { type: 'changes', time: int(e, 'time', 0, Number.MAX_SAFE_INTEGER), changes };
    }
    case 'progress':
      return { type: 'progress', request: int(e, 'request', 1, Number.MAX_SAFE_INTEGER), done: int(e, 'done', 0, MAX_OFFSET), total: int(e, 'total', 0, MAX_OFFSET) };
    case 'gone':
      return { type: 'gone', reason: str(e, 'reason') };
    case 'recording':
      return { type: 'recording', request: int(e, 'request', 1, Number.MAX_SAFE_INTEGER), stats: parseRecordStats(obj(e.stats, 'stats')) };
    case 'peers':
      return { type: 'peers', table: parsePeerTable(obj(e.table, 'table')) };
    default:
      throw new MessageError(`unknown event type ${JSON.stringify(String(e.type)).slice(0, 40)}`);
  }
}

/** A recording's figures (a 'recording' event, and the body of a 'record' reply). */
export function parseRecordStats(o: Obj): RecordStats {
  const n = (key: string): number => int(o, key, 0, Number.MAX_SAFE_INTEGER);
  const ms = (key: string): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new MessageError(`${key} must be a number of ms`);
    return v;
  };
  return { samples: n('samples'), changeSamples: n('changeSamples'), changedBytes: n('changedBytes'), missedTicks: n('missedTicks'), keyframes: n('keyframes'), events: n('events'), fileBytes: n('fileBytes'), elapsedMs: ms('elapsedMs'), slowestSampleMs: ms('slowestSampleMs') };
}

/** A peer table from the agent (also used to check a 'peers' reply). */
export function parsePeerTable(t: Obj): PeerTable {
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
