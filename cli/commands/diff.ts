import { formatBytes, hex } from '../../core/numbers';
import { RemoteSession } from '../../agent/remote-session';
import type { DiffReply } from '../../agent/protocol';
import { EXIT, ProgressLine, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFor } from '../layout-file';

/**
 * `diff A B`: both sides are opened by one agent (A as its session, B just for the diff), so no byte
 * crosses a process boundary. The JSON shape is documented in the README.
 */
export const diff: Command = {
  spec: {
    name: 'diff',
    summary: 'the byte ranges where two sources (snapshots or live) differ; by field with --layout',
    positionals: ['A', 'B'],
    values: ['layout'],
    flags: ['json'],
    usage: 'shmem-inspect diff A B [--json] [--layout FILE]',
  },
  async run(args, { signal }) {
    const [a, b] = args.positionals as [string, string];
    const session = await RemoteSession.attach(a);
    const progress = new ProgressLine('diff');
    try {
      const layout = layoutFor(session, args.values.get('layout'));
      const result = await session.diff(b, { signal, layout: layout?.text, onProgress: (d, t) => progress.update(d, t) });
      progress.clear();
      if (args.flags.has('json')) await writeOut(`${JSON.stringify(toJson(a, b, session, result))}\n`);
      else await writeOut(toText(a, b, result));
      return EXIT.ok;
    } finally {
      progress.clear();
      await session.close();
    }
  },
};

function toJson(a: string, b: string, session: RemoteSession, r: DiffReply): unknown {
  return {
    a: { source: a, size: session.info.size },
    b: { source: b, size: r.other.size },
    compared: r.compared,
    identical: r.changedBytes === 0 && !r.tail,
    changedBytes: r.changedBytes,
    ranges: r.ranges,
    rangesTruncated: r.truncated,
    tail: r.tail ?? null,
    ...(r.regions ? { regions: r.regions, fields: r.fields, fieldsTruncated: r.fieldsTruncated } : {}),
  };
}

function toText(a: string, b: string, r: DiffReply): string {
  const lines: string[] = [];
  lines.push(`A: ${a} (${formatBytes(r.sizeA)})`, `B: ${b} (${formatBytes(r.sizeB)})`);
  if (r.changedBytes === 0) lines.push(`identical over ${formatBytes(r.compared)}`);
  else lines.push(`${r.changedBytes} byte(s) differ in ${r.ranges.length}${r.truncated ? '+' : ''} range(s):`);
  for (const range of r.ranges) lines.push(`  ${hex(range.offset)} +${range.length}`);
  if (r.truncated) lines.push('  (more ranges not listed)');
  if (r.tail) lines.push(`${r.tail.side.toUpperCase()} is ${formatBytes(r.tail.length)} longer: ${hex(r.tail.offset)}..${hex(r.tail.offset + r.tail.length)} only in ${r.tail.side.toUpperCase()}`);
  if (r.regions) {
    lines.push('by region:');
    for (const reg of r.regions) lines.push(`  ${reg.name}: ${reg.changedBytes} byte(s) in ${reg.ranges} range(s)`);
    lines.push('by field:');
    for (const f of r.fields ?? []) lines.push(`  ${f.field}: ${f.old} -> ${f.new}`);
    if (r.fieldsTruncated) lines.push('  (more fields not listed)');
  }
  return `${lines.join('\n')}\n`;
}
