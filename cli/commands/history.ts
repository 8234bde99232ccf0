import { InputError } from '../../core/errors';
import { hex, parseOffset, type Range } from '../../core/numbers';
import { formatValue } from '../../core/layout/decode';
import { nodeByPath } from '../../core/layout/navigate';
import { RecordingFile } from '../../core/record/reader';
import { Timeline, type TimedEvent, type ValueChange } from '../../core/record/timeline';
import type { RecordedEvent } from '../../core/record/records';
import { UsageError } from '../args';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFromText, readLayoutFile } from '../layout-file';

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
/** ms since the start, as recorded (µs resolution). */
const ms = (t: number): number => Math.round(t * 1000) / 1000;

function eventText(e: RecordedEvent): string {
  if (e.type === 'peer-joined') return `peer ${e.peer} joined (${e.vectors} vector${e.vectors === 1 ? '' : 's'})`;
  if (e.type === 'peer-left') return `peer ${e.peer} left`;
  return `interrupt on vector ${e.vector}${e.count > 1 ? ` (${e.count})` : ''}`;
}

export const history: Command = {
  spec: {
    name: 'history',
    summary: 'each change of some bytes (or a field) in a recording, with its time, old and new value',
    positionals: ['FILE'],
    values: ['offset', 'length', 'field', 'layout'],
    flags: ['json', 'events'],
    usage: 'shmem-inspect history FILE.shmrec (--offset N --length N | --field NAME [--layout FILE]) [--json] [--events]',
  },
  async run(args) {
    const json = args.flags.has('json');
    const withEvents = args.flags.has('events');
    const fieldName = args.values.get('field');
    const offsetText = args.values.get('offset');
    const lengthText = args.values.get('length');
    if (fieldName !== undefined && (offsetText !== undefined || lengthText !== undefined)) throw new UsageError('give --field NAME or --offset N --length N, not both');
    if ((offsetText === undefined) !== (lengthText === undefined)) throw new UsageError('--offset and --length go together');
    if (fieldName === undefined && offsetText === undefined && !withEvents) throw new UsageError('give --offset N --length N or --field NAME (or --events for the ivshmem events alone)');
    if (args.values.has('layout') && fieldName === undefined) throw new UsageError('--layout names the layout of --field');

    const path = args.positionals[0]!;
    const file = RecordingFile.open(path);
    try {
      const { header } = file;
      let scope: Range | undefined;
      let field: { path: string; format: (b: Uint8Array) => string } | undefined;
      if (fieldName !== undefined) {
        const layoutFile = args.values.get('layout');
        const text = layoutFile === undefined ? header.layout : readLayoutFile(layoutFile);
        if (text === undefined) throw new InputError(`${path} carries no layout (record with --layout, or give --layout FILE here)`);
        const layout = layoutFromText(text, layoutFile ?? `the layout embedded in ${path}`, header.segmentSize);
        const node = nodeByPath(layout, fieldName);
        if (!node) throw new InputError(`the layout has no field "${fieldName}" (names look like header.head or slots[3].seq)`);
        const leaf = node.kind === 'value' && node.field ? node.field : undefined;
        field = { path: node.path, format: (b) => (leaf ? formatValue(leaf, b) : toHex(b)) };
        scope = { offset: node.offset, length: node.size };
      } else if (offsetText !== undefined) {
        const length = parseOffset(lengthText!, '--length');
        if (length === 0) throw new UsageError('--length must be at least 1');
        scope = { offset: parseOffset(offsetText, '--offset'), length };
      }
      if (scope) file.window(scope);
      const timeline = new Timeline(file);
      const events: TimedEvent[] = withEvents ? timeline.events() : [];
      const changes: Iterable<ValueChange> = scope ? timeline.history(scope) : [];

      const lines = merge(changes, events, (c) => {
        if (json) {
          const where = field ? { field: field.path } : {};
          return JSON.stringify({ t: ms(c.timeMs), event: 'change', sample: c.sample, ...where, offset: scope!.offset, length: scope!.length, old: field ? field.format(c.before) : toHex(c.before), new: field ? field.format(c.after) : toHex(c.after) });
        }
        const what = field ? field.path : `${hex(scope!.offset)} +${scope!.length}`;
        return `t=${ms(c.timeMs).toFixed(3)} ${what}: ${field ? field.format(c.before) : toHex(c.before)} -> ${field ? field.format(c.after) : toHex(c.after)}`;
      }, (e) => {
        if (json) return JSON.stringify({ t: ms(e.timeMs), event: e.event.type, sample: e.sample, ...e.event, type: undefined });
        return `t=${ms(e.timeMs).toFixed(3)} ${eventText(e.event)}`;
      });
      if (json) await writeOut('[');
      let first = true;
      for (const line of lines) {
        await writeOut(json ? `${first ? '\n' : ',\n'}${line}` : `${line}\n`);
        first = false;
      }
      if (json) await writeOut(first ? ']\n' : '\n]\n');
      const s = file.summary();
      process.stderr.write(`(sampled every ${header.intervalMs} ms: changes between two samples collapse into one)\n`);
      if (!s.end) process.stderr.write('note: the recording has no end record (the recorder was killed, or is still recording)\n');
      if (s.tail) process.stderr.write(`note: ${s.tail.bytes} bytes after the last whole record were ignored (${s.tail.reason})\n`);
      return EXIT.ok;
    } finally {
      file.close();
    }
  },
};

/** Changes and events in one time order (a change before an event of the same time: samples come first). */
function* merge(changes: Iterable<ValueChange>, events: TimedEvent[], change: (c: ValueChange) => string, event: (e: TimedEvent) => string): Generator<string> {
  let e = 0;
  for (const c of changes) {
    while (e < events.length && events[e]!.timeMs < c.timeMs) yield event(events[e++]!);
    yield change(c);
  }
  while (e < events.length) yield event(events[e++]!);
}
