import { hexdump } from '../../core/hexdump';
import { parseOffset, resolveRange } from '../../core/numbers';
import { RemoteSession } from '../../agent/remote-session';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';

/** Bytes per read from the agent: a multiple of 16 so that lines fall where xxd puts them. */
const PIECE = 1024 * 1024;

export const dump: Command = {
  spec: {
    name: 'dump',
    summary: 'print bytes as a hex dump, in the format of xxd',
    positionals: ['SOURCE'],
    values: ['offset', 'length'],
    flags: [],
    usage: 'shmem-inspect dump SOURCE [--offset N] [--length N]',
  },
  async run(args, { signal }) {
    const offset = args.values.has('offset') ? parseOffset(args.values.get('offset')!, '--offset') : undefined;
    const length = args.values.has('length') ? parseOffset(args.values.get('length')!, '--length') : undefined;
    const session = await RemoteSession.attach(args.positionals[0]!);
    try {
      const range = resolveRange(session.info.size, offset, length);
      for (let done = 0; done < range.length && !signal.aborted; done += PIECE) {
        const n = Math.min(PIECE, range.length - done);
        const bytes = await session.read(range.offset + done, n);
        await writeOut(hexdump(bytes, range.offset + done));
      }
      return signal.aborted ? EXIT.interrupted : EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
