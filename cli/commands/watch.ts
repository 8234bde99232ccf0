import { InputError } from '../../core/errors';
import { formatBytes, hex, parseInteger, parseOffset, resolveRange } from '../../core/numbers';
import type { Change } from '../../core/watch/changes';
import { RemoteSession } from '../../agent/remote-session';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../../agent/protocol';
import { UsageError } from '../args';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';

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
    values: ['interval', 'offset', 'length'],
    flags: ['json'],
    usage: 'shmem-inspect watch SOURCE [--interval MS] [--offset N --length N] [--json]',
  },
  async run(args, { signal }) {
    const json = args.flags.has('json');
    const intervalMs = args.values.has('interval') ? parseInteger(args.values.get('interval')!, '--interval', MIN_INTERVAL_MS, MAX_INTERVAL_MS) : 100;
    const offset = args.values.has('offset') ? parseOffset(args.values.get('offset')!, '--offset') : undefined;
    const length = args.values.has('length') ? parseOffset(args.values.get('length')!, '--length') : undefined;
    if (length === 0) throw new UsageError('--length must be at least 1');
    const session = await RemoteSession.attach(args.positionals[0]!);
    try {
      const range = resolveRange(session.info.size, offset, length);
      if (range.length === 0) throw new InputError(`there is nothing to watch at offset ${hex(range.offset)}: it is the end of the segment`);
      // Lines are queued and written in order; a closed stdout ends the watch quietly.
      let output = Promise.resolve();
      const print = (line: string): void => {
        output = output.then(() => writeOut(`${line}\n`));
      };
      const finished = new Promise<number>((resolve) => {
        session.onChanges((tick) => {
          for (const c of tick.changes) print(formatChange(tick.time, c, json));
        });
        session.onDisconnected((reason) => {
          print(json ? JSON.stringify({ event: 'disconnected', time: new Date().toISOString(), reason }) : `disconnected: ${reason}`);
          resolve(EXIT.lost);
        });
        signal.addEventListener('abort', () => resolve(EXIT.ok), { once: true });
      });
      await session.watch([range], intervalMs);
      process.stderr.write(`watching ${session.info.description} ${hex(range.offset)}..${hex(range.offset + range.length)} (${formatBytes(range.length)}) every ${intervalMs} ms; Ctrl-C stops\n`);
      const code = await finished;
      await output.catch(() => undefined);
      return code;
    } finally {
      await session.close();
    }
  },
};
