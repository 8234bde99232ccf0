import { formatBytes, hex } from '../../core/numbers';
import type { RemoteSession } from '../../agent/remote-session';
import { attach } from '../attach';
import type { DiffReply } from '../../agent/protocol';
import { damagedMessage, describeRanges } from '../../core/snapshot/integrity';
import type { Range } from '../../core/numbers';
import { EXIT, ProgressLine, printError, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFor } from '../layout-file';

/**
 * `diff A B`: both sides are opened by one agent (A as its session, B just for the diff), so no byte
 * crosses a process boundary. The JSON shape is documented in the README.
 *
 * A snapshot side is checked against its checksums while it is compared: ranges in blocks that
 * fail are marked "untrusted" in the output, named on stderr, and the exit code is 2.
 */
export const diff: Command = {
  spec: {
    name: 'diff',
    summary: 'the byte ranges where two sources (snapshots or live) differ; by field with --layout',
    positionals: ['A', 'B'],
    values: ['layout'],
    flags: ['json', 'exit-code'],
    usage: 'shmem-inspect diff A B [--json] [--layout FILE] [--exit-code]',
    details: 'With --exit-code: 0 when A and B are identical, 1 when they differ (as cmp and git diff --exit-code), 2 on trouble.',
  },
  async run(args, { signal }) {
    const [a, b] = args.positionals as [string, string];
    const session = await attach(a, { others: [b] });
    const progress = new ProgressLine('diff');
    try {
      const layoutFile = args.values.get('layout');
      const layout = layoutFor(session, layoutFile);
      const layoutName = layoutFile === 'embedded' ? `the layout embedded in ${a}` : layoutFile;
      const result = await session.diff(b, { signal, layout: layout?.text, layoutName, onProgress: (d, t) => progress.update(d, t) });
      progress.clear();
      if (args.flags.has('json')) await writeOut(`${JSON.stringify(toJson(a, b, session, result))}\n`);
      else await writeOut(toText(a, b, result));
      const damaged = result.damaged ?? [];
      for (const d of damaged) printError(`${d.side.toUpperCase()}: ${damagedMessage(d.source, d.ranges)}; the diff there cannot be trusted`);
      if (damaged.length > 0) return EXIT.input;
      if (args.flags.has('exit-code')) return identical(result) ? EXIT.ok : 1;
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
    identical: identical(r),
    changedBytes: r.changedBytes,
    ranges: r.ranges,
    rangesTruncated: r.truncated,
    tail: r.tail ?? null,
    ...(r.regions ? { regions: r.regions, fields: r.fields, fieldsTruncated: r.fieldsTruncated } : {}),
    damaged: r.damaged ?? [],
  };
}

function identical(r: DiffReply): boolean {
  return r.changedBytes === 0 && !r.tail;
}

/** " (untrusted: A is damaged here)" for a range that overlaps a damaged one. */
function untrusted(range: Range, r: DiffReply): string {
  const sides = (r.damaged ?? []).filter((d) => d.ranges.some((x) => x.offset < range.offset + range.length && range.offset < x.offset + x.length)).map((d) => d.side.toUpperCase());
  return sides.length > 0 ? `  (untrusted: ${sides.join(' and ')} damaged here)` : '';
}

function toText(a: string, b: string, r: DiffReply): string {
  const lines: string[] = [];
  lines.push(`A: ${a} (${formatBytes(r.sizeA)})`, `B: ${b} (${formatBytes(r.sizeB)})`);
  if (r.changedBytes === 0) lines.push(`identical over ${formatBytes(r.compared)}`);
  else lines.push(`${r.changedBytes} byte(s) differ in ${r.ranges.length}${r.truncated ? '+' : ''} range(s):`);
  for (const range of r.ranges) lines.push(`  ${hex(range.offset)} +${range.length}${untrusted(range, r)}`);
  if (r.truncated) lines.push('  (more ranges not listed)');
  if (r.tail) lines.push(`${r.tail.side.toUpperCase()} is ${formatBytes(r.tail.length)} longer: ${hex(r.tail.offset)}..${hex(r.tail.offset + r.tail.length)} only in ${r.tail.side.toUpperCase()}`);
  if (r.regions) {
    lines.push('by region:');
    for (const reg of r.regions) lines.push(`  ${reg.name}: ${reg.changedBytes} byte(s) in ${reg.ranges} range(s)`);
    lines.push('by field:');
    for (const f of r.fields ?? []) lines.push(`  ${f.field}: ${f.old} -> ${f.new}`);
    if (r.fieldsTruncated) lines.push('  (more fields not listed)');
  }
  for (const d of r.damaged ?? []) {
    lines.push(`untrusted: ${d.side.toUpperCase()} fails its checksum at ${describeRanges(d.ranges, 20)}`);
  }
  return `${lines.join('\n')}\n`;
}
