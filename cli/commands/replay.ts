import { formatBytes, hex, parseDecimal } from '../../core/numbers';
import { RecordingFile } from '../../core/record/reader';
import { writeSnapshot } from '../../core/snapshot/writer';
import { MemorySource } from '../../core/sources/memory-source';
import { UsageError } from '../args';
import { EXIT } from '../output';
import type { Command } from '../command';

export const replay: Command = {
  spec: {
    name: 'replay',
    summary: 'write the recorded bytes as they were at a moment (ms since the start) into a .shmsnap snapshot',
    positionals: ['FILE'],
    values: ['at', 'output'],
    flags: ['force'],
    aliases: { o: 'output', f: 'force' },
    usage: 'shmem-inspect replay FILE.shmrec --at MS -o OUT.shmsnap [--force]',
  },
  async run(args, { signal }) {
    const atText = args.values.get('at');
    if (atText === undefined) throw new UsageError('--at MS is required (ms since the recording started, as history prints it)');
    const target = args.values.get('output');
    if (target === undefined) throw new UsageError('-o OUT.shmsnap is required');
    const at = parseDecimal(atText, '--at', 0, Number.MAX_SAFE_INTEGER);
    const path = args.positionals[0]!;
    const file = RecordingFile.open(path);
    try {
      const { header } = file;
      const state = file.stateAt(at);
      const whole = header.rangeOffset === 0 && header.rangeLength === header.segmentSize;
      const t = state.timeMs.toFixed(3);
      const source = new MemorySource(state.bytes, `${header.source} at t=${t} ms of ${path}`.slice(0, 1024), false);
      // A layout's offsets are the segment's: it fits the snapshot only when the whole segment was recorded.
      await writeSnapshot(source, { target, force: args.flags.has('force'), peerId: header.peerId, layout: whole ? header.layout : undefined, isCancelled: () => signal.aborted });
      const s = file.summary();
      const lines = [`wrote ${target}: the recorded bytes at ${at} ms (${state.sample === 0 ? 'the first state' : `as of the change at t=${t} ms, sample ${state.sample}`})`];
      if (at > s.durationMs) lines.push(`note: ${at} ms is after the recording's last record (${s.durationMs} ms): this is its last state`);
      if (!whole) lines.push(`note: the recording holds ${hex(header.rangeOffset)}..${hex(header.rangeOffset + header.rangeLength)} of the segment (${formatBytes(header.rangeLength)}); the snapshot holds those bytes from its offset 0`);
      process.stderr.write(`${lines.join('\n')}\n`);
      return EXIT.ok;
    } finally {
      file.close();
    }
  },
};
