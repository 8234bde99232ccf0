import { InputError } from '../../core/errors';
import { formatBytes, hex, parseInteger, parseOffset, resolveRange } from '../../core/numbers';
import type { Change } from '../../core/watch/changes';
import { RemoteSession } from '../../agent/remote-session';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../../agent/protocol';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFor } from '../layout-file';
import { formatValue } from '../../core/layout/decode';
import type { Layout } from '../../core/layout/model';
import { fieldAt, type LayoutNode } from '../../core/layout/navigate';

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function formatChange(time: number, c: Change, json: boolean): string {
  const iso = new Date(time).toISOString();
  if (json) return JSON.stringify({ event: 'change', time: iso, offset: c.offset, length: c.after.length, old: toHex(c.before), new: toHex(c.after) });
  return `${iso} ${hex(c.offset)} +${c.after.length}: ${toHex(c.before)} -> ${toHex(c.after)}`;
}

export const watch: Command = {
  spec: {
    name: 'watch',
    summary: 'print each change of the bytes as it happens; exit code 3 when the source goes away',
    positionals: ['SOURCE'],
    values: ['interval', 'offset', 'length', 'layout'],
    flags: ['json'],
    usage: 'shmem-inspect watch SOURCE [--interval MS] [--offset N --length N] [--json] [--layout FILE]',
  },
  async run(args, { signal }) {
    const json = args.flags.has('json');
    const intervalMs = args.values.has('interval') ? parseInteger(args.values.get('interval')!, '--interval', MIN_INTERVAL_MS, MAX_INTERVAL_MS) : 100;
    const offset = args.values.has('offset') ? parseOffset(args.values.get('offset')!, '--offset') : undefined;
    const length = args.values.has('length') ? parseOffset(args.values.get('length')!, '--length') : undefined;
    // A value out of range is bad input (2), like --interval 0; a usage error (1) is a missing or unknown option.
    if (length === 0) throw new InputError('--length must be at least 1');
    const session = await RemoteSession.attach(args.positionals[0]!);
    try {
      const range = resolveRange(session.info.size, offset, length);
      const layout = layoutFor(session, args.values.get('layout'));
      if (range.length === 0) throw new InputError(`there is nothing to watch at offset ${hex(range.offset)}: it is the end of the segment`);
      // Lines are queued and written in order. A failed stdout ends the watch: main() turns the
      // failure into the exit code (0 for a reader gone, `| head`; 2 and one line for a full disk).
      let output = Promise.resolve();
      let fail: (err: unknown) => void = () => undefined;
      const print = (line: string): void => {
        output = output.then(() => writeOut(`${line}\n`)).catch((err: unknown) => fail(err));
      };
      const finished = new Promise<number>((resolve, reject) => {
        fail = reject;
        session.onChanges((tick) => {
          if (layout) for (const line of fieldChanges(layout, session, tick.time, tick.changes, json)) print(line);
          else for (const c of tick.changes) print(formatChange(tick.time, c, json));
        });
        session.onDisconnected((reason) => {
          print(json ? JSON.stringify({ event: 'disconnected', time: new Date().toISOString(), reason }) : `disconnected: ${reason}`);
          resolve(EXIT.lost);
        });
        // Ctrl-C is how a watch ends, and it is an interruption like any other command's: 130.
        signal.addEventListener('abort', () => resolve(EXIT.interrupted), { once: true });
      });
      await session.watch([range], intervalMs);
      process.stderr.write(`watching ${session.info.description} ${hex(range.offset)}..${hex(range.offset + range.length)} (${formatBytes(range.length)}) every ${intervalMs} ms; Ctrl-C stops\n`);
      const code = await finished;
      await output;
      return code;
    } finally {
      await session.close();
    }
  },
};

/**
 * A tick's changes by field: `ring.head: 41 -> 42`. The session keeps the watched bytes current, so
 * a field's new value is read from them and its old value is the same bytes with this tick's
 * `before` bytes put back. Bytes outside every field are printed raw.
 */
function fieldChanges(layout: Layout, session: RemoteSession, time: number, changes: Change[], json: boolean): string[] {
  const touched = new Map<string, LayoutNode>();
  const raw: Change[] = [];
  for (const c of changes) {
    let rawStart = -1;
    for (let at = c.offset; at < c.offset + c.after.length; at++) {
      const node = fieldAt(layout, at);
      if (node) {
        if (rawStart >= 0) raw.push(slice(c, rawStart, at));
        rawStart = -1;
        touched.set(node.path, node);
        at = node.offset + node.size - 1;
      } else if (rawStart < 0) rawStart = at;
    }
    if (rawStart >= 0) raw.push(slice(c, rawStart, c.offset + c.after.length));
  }
  const iso = new Date(time).toISOString();
  const lines: string[] = [];
  for (const node of touched.values()) {
    const now = session.lastBytes.get(node.offset, node.size);
    if (!now) continue;
    const before = now.slice();
    for (const c of changes) {
      const from = Math.max(c.offset, node.offset);
      const to = Math.min(c.offset + c.before.length, node.offset + node.size);
      if (from < to) before.set(c.before.subarray(from - c.offset, to - c.offset), from - node.offset);
    }
    const f = node.field!;
    const oldText = formatValue(f, before);
    const newText = formatValue(f, now);
    lines.push(json ? JSON.stringify({ event: 'change', time: iso, field: node.path, offset: node.offset, length: node.size, old: oldText, new: newText }) : `${iso} ${node.path}: ${oldText} -> ${newText}`);
  }
  for (const c of raw) lines.push(formatChange(time, c, json));
  return lines;
}

function slice(c: Change, from: number, to: number): Change {
  return { offset: from, before: c.before.subarray(from - c.offset, to - c.offset), after: c.after.subarray(from - c.offset, to - c.offset) };
}
