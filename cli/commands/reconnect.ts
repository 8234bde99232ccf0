import { InputError } from '../../core/errors';
import { hex } from '../../core/numbers';
import type { ThreeWayRange } from '../../core/reconnect/three-way';
import { RemoteSession } from '../../agent/remote-session';
import type { ReconnectReply } from '../../agent/protocol';
import { UsageError } from '../args';
import { EXIT, ProgressLine, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFor } from '../layout-file';

const WHAT: Record<ThreeWayRange['kind'], string> = {
  local: 'changed by the guest only',
  remote: 'changed in the segment only',
  both: 'changed on both sides to the same bytes',
  conflict: 'changed on both sides differently (conflict)',
};

/**
 * `reconnect SOURCE --base SNAP --local SNAP --role master|peer`: the three-way report between the
 * segment at disconnect (base), the guest's copy now (local) and the segment now (SOURCE); then,
 * without --dry-run, the role: master writes the local bytes back (only where they differ, verified),
 * peer writes nothing and reports what it discards.
 */
export const reconnect: Command = {
  spec: {
    name: 'reconnect',
    summary: 'three-way report of a reconnect, then apply role=master (write back) or role=peer (discard)',
    positionals: ['SOURCE'],
    values: ['base', 'local', 'role', 'layout'],
    flags: ['dry-run', 'json'],
    usage: 'shmem-inspect reconnect SOURCE --base SNAP --local SNAP --role master|peer [--dry-run] [--json] [--layout FILE]',
  },
  async run(args, { signal }) {
    const base = args.values.get('base');
    const local = args.values.get('local');
    const role = args.values.get('role');
    if (!base || !local) throw new UsageError('--base SNAP and --local SNAP are required');
    if (role !== 'master' && role !== 'peer') throw new UsageError(`--role must be master or peer${role ? `, got "${role}"` : ''}`);
    const dryRun = args.flags.has('dry-run');
    // Only a master write-back needs the segment read-write.
    const session = await RemoteSession.attach(args.positionals[0]!, { writable: role === 'master' && !dryRun });
    const progress = new ProgressLine('reconnect');
    try {
      if (session.info.kind === 'snapshot') throw new InputError(`${session.source} is a snapshot: reconnect needs the live segment`);
      const layout = layoutFor(session, args.values.get('layout'));
      const r = await session.reconnect(base, local, role, { signal, dryRun, layout: layout?.text, onProgress: (d, t) => progress.update(d, t) });
      progress.clear();
      for (const w of r.warnings ?? []) process.stderr.write(`shmem-inspect: warning: ${w}\n`);
      if (args.flags.has('json')) await writeOut(`${JSON.stringify({ role, dryRun, ...r })}\n`);
      else await writeOut(report(role, dryRun, r));
      if (r.applied?.error) {
        process.stderr.write(`shmem-inspect: disconnected during the write-back: ${r.applied.error}\n`);
        return EXIT.lost;
      }
      return EXIT.ok;
    } finally {
      progress.clear();
      await session.close();
    }
  },
};

function report(role: string, dryRun: boolean, r: ReconnectReply): string {
  const t = r.threeWay;
  const lines = [`three-way: ${t.ranges.length}${t.truncated ? '+' : ''} range(s) changed since the disconnect`];
  for (const kind of ['local', 'remote', 'both', 'conflict'] as const) lines.push(`  ${String(t.bytes[kind]).padStart(8)} byte(s) ${WHAT[kind]}`);
  for (const x of t.ranges) lines.push(`  ${hex(x.offset)} +${x.length}  ${x.kind}`);
  if (r.fields?.length) {
    lines.push('by field (at disconnect / guest copy / segment now):');
    for (const f of r.fields) lines.push(`  ${f.field} [${f.kind}]: ${f.base} / ${f.local} / ${f.remote}`);
  }
  const lostBytes = r.plan.lost.reduce((s, x) => s + x.length, 0);
  if (role === 'peer') {
    lines.push(`role=peer: the segment wins; ${lostBytes} byte(s) of the guest's changes are discarded${dryRun ? ' (dry run)' : ''}:`);
    for (const x of r.plan.lost) lines.push(`  discarded ${hex(x.offset)} +${x.length} (${x.kind})`);
  } else {
    const writeBytes = r.plan.writes.reduce((s, x) => s + x.length, 0);
    lines.push(`role=master: the guest's copy wins; ${writeBytes} byte(s) in ${r.plan.writes.length} range(s) ${dryRun ? 'would be' : 'are'} written back, ${lostBytes} byte(s) of the segment's changes are lost:`);
    for (const x of r.plan.lost) lines.push(`  overwritten ${hex(x.offset)} +${x.length} (${x.kind})`);
    if (r.applied) {
      lines.push(`written: ${r.applied.written.length} of ${r.plan.writes.length} range(s); ${r.applied.verified ? 'read back and verified' : 'NOT verified'}`);
      if (r.applied.error) lines.push(`stopped: ${r.applied.error}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
