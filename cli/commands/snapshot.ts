import * as path from 'node:path';
import { formatBytes } from '../../core/numbers';
import { attach } from '../attach';
import { EXIT, ProgressLine } from '../output';
import type { Command } from '../command';
import { UsageError } from '../args';
import { consistencyText } from '../../core/snapshot/writer';
import { layoutFromText, readLayoutFile } from '../layout-file';

export const snapshot: Command = {
  spec: {
    name: 'snapshot',
    summary: 'capture a source into a .shmsnap file (atomic; never replaces a file without --force)',
    positionals: ['SOURCE'],
    values: ['output', 'layout'],
    flags: ['force', 'consistent'],
    aliases: { o: 'output', f: 'force' },
    usage: 'shmem-inspect snapshot SOURCE -o FILE [--force] [--consistent] [--layout FILE]',
  },
  async run(args, { signal }) {
    const output = args.values.get('output');
    if (output === undefined) throw new UsageError('-o FILE is required');
    const target = output;
    const session = await attach(args.positionals[0]!);
    const progress = new ProgressLine(`snapshot ${path.basename(target)}`);
    try {
      // The layout is checked against this segment before it is embedded.
      const layoutFile = args.values.get('layout');
      const layout = layoutFile === undefined ? undefined : layoutFromText(readLayoutFile(layoutFile), layoutFile, session.info.size).text;
      const started = Date.now();
      const result = await session.takeSnapshot(target, args.flags.has('force'), {
        layout,
        consistent: args.flags.has('consistent'),
        signal,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.clear();
      const seconds = ((Date.now() - started) / 1000).toFixed(2);
      const holes = Math.round(((result.size - result.bytesWritten) / result.size) * 100);
      process.stderr.write(
        `wrote ${output}: ${formatBytes(result.size)} in ${seconds} s; ${formatBytes(result.bytesWritten)} of data, ${holes}% zero pages left as holes\n`,
      );
      process.stderr.write(result.checked ? `consistency: checked; ${consistencyText(result)}\n` : 'consistency: plain copy, not checked for pages that changed while it was made (use --consistent)\n');
      return EXIT.ok;
    } finally {
      progress.clear();
      await session.close();
    }
  },
};
