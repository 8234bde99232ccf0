import { InputError, SourceLostError } from '../errors';
import { formatValue } from '../layout/decode';
import type { Layout } from '../layout/model';
import { fieldAt } from '../layout/navigate';
import type { Range } from '../numbers';
import type { Source } from '../source';
import type { ChangeKind, ThreeWayRange, ThreeWayResult } from './three-way';

/**
 * The two answers to QEMU's old role question, when a guest reconnects to a segment:
 * - master: the guest's copy is definitive and is written back into the segment; whatever changed in
 *   the segment meanwhile (remote-only and the remote side of conflicts) is overwritten.
 * - peer: the segment is definitive; the guest's changes (local-only and the local side of
 *   conflicts) are thrown away, and the segment's current contents appear all at once.
 */
export type Role = 'master' | 'peer';

export interface RolePlan {
  role: Role;
  /** What the role writes into the segment: local bytes where they differ from the segment. */
  writes: Range[];
  /** Changes this role throws away. */
  lost: ThreeWayRange[];
  /** Changes that survive. */
  kept: ThreeWayRange[];
}

const LOST: Record<Role, ChangeKind[]> = { master: ['remote', 'conflict'], peer: ['local', 'conflict'] };
const KEPT: Record<Role, ChangeKind[]> = { master: ['local', 'both', 'conflict'], peer: ['remote', 'both'] };

export function plan(result: ThreeWayResult, role: Role): RolePlan {
  const writes: Range[] = [];
  if (role === 'master') {
    for (const r of result.ranges) {
      if (r.kind === 'both') continue; // local already equals remote
      const last = writes[writes.length - 1];
      if (last && last.offset + last.length === r.offset) last.length += r.length;
      else writes.push({ offset: r.offset, length: r.length });
    }
  }
  return {
    role,
    writes,
    lost: result.ranges.filter((r) => LOST[role].includes(r.kind)),
    kept: result.ranges.filter((r) => KEPT[role].includes(r.kind)),
  };
}

export interface ApplyReport {
  /** Ranges written into the segment (all of plan.writes when nothing went wrong). */
  written: Range[];
  /** Every written range was read back and equals the local copy. */
  verified: boolean;
  /** Why the write-back stopped early, if it did. */
  error?: string;
}

/**
 * Where a master write-back goes: a Source in the agent, or (from the extension) the session's
 * agent, whose calls are async.
 */
export interface WriteBackTarget {
  write(offset: number, bytes: Uint8Array): void | Promise<void>;
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
}

/**
 * Master write-back: only the ranges that differ, in place, then each one read back and compared
 * with the guest copy (`local` gives its bytes). If the segment goes away midway, the report says
 * which ranges were written.
 */
export async function writeBack(writes: Range[], local: (offset: number, length: number) => Uint8Array, segment: WriteBackTarget): Promise<ApplyReport> {
  const written: Range[] = [];
  try {
    for (const w of writes) {
      await segment.write(w.offset, local(w.offset, w.length));
      written.push(w);
    }
    let verified = true;
    for (const w of written) {
      const got = await segment.read(w.offset, w.length);
      if (!Buffer.from(local(w.offset, w.length)).equals(Buffer.from(got))) verified = false;
    }
    return { written, verified };
  } catch (err) {
    if (err instanceof SourceLostError) return { written, verified: false, error: err.message };
    throw err;
  }
}

/** writeBack between two Sources (the agent's reconnect). */
export function applyMaster(writes: Range[], local: Source, remote: Source): Promise<ApplyReport> {
  if (!remote.info.writable) throw new InputError('reconnecting as master writes into the segment: attach it read-write');
  const bytesOf = (s: Source, offset: number, length: number): Uint8Array => {
    const b = new Uint8Array(length);
    s.read(offset, b);
    return b;
  };
  return writeBack(writes, (o, n) => bytesOf(local, o, n), { write: (o, b) => remote.write(o, b), read: (o, n) => bytesOf(remote, o, n) });
}

export interface FieldVerdict {
  field: string;
  offset: number;
  kind: ChangeKind;
  base: string;
  local: string;
  remote: string;
}

/** The changed fields under a layout, with their value at disconnect, in the guest copy and in the segment. */
export function fieldVerdicts(layout: Layout, ranges: ThreeWayRange[], base: Source, local: Source, remote: Source, max = 1000): FieldVerdict[] {
  const out: FieldVerdict[] = [];
  const seen = new Set<string>();
  for (const r of ranges) {
    for (let at = r.offset; at < r.offset + r.length && out.length < max; ) {
      const node = fieldAt(layout, at);
      if (!node) {
        at++;
        continue;
      }
      if (!seen.has(node.path)) {
        seen.add(node.path);
        const value = (s: Source): string => {
          const b = new Uint8Array(node.size);
          s.read(node.offset, b);
          return formatValue(node.field!, b);
        };
        out.push({ field: node.path, offset: node.offset, kind: r.kind, base: value(base), local: value(local), remote: value(remote) });
      }
      at = node.offset + node.size;
    }
  }
  return out;
}
