import { hexdump, hexdumpSize } from '../../core/hexdump';
import { parseOffset, resolveRange } from '../../core/numbers';
import type { RemoteSession } from '../../agent/remote-session';
import { attach } from '../attach';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';
import { layoutFor, typeName } from '../layout-file';
import { formatValue } from '../../core/layout/decode';
import type { Layout } from '../../core/layout/model';
import { regionNodes, values } from '../../core/layout/navigate';
import type { Range } from '../../core/numbers';

/** Bytes per read from the agent: a multiple of 16 so that lines fall where xxd puts them. */
const PIECE = 1024 * 1024;

export const dump: Command = {
  spec: {
    name: 'dump',
    summary: 'print bytes as a hex dump, in the format of xxd',
    positionals: ['SOURCE'],
    values: ['offset', 'length', 'layout'],
    flags: [],
    usage: 'shmem-inspect dump SOURCE [--offset N] [--length N] [--layout FILE]',
  },
  async run(args, { signal }) {
    const offset = args.values.has('offset') ? parseOffset(args.values.get('offset')!, '--offset') : undefined;
    const length = args.values.has('length') ? parseOffset(args.values.get('length')!, '--length') : undefined;
    const session = await attach(args.positionals[0]!);
    try {
      const range = resolveRange(session.info.size, offset, length);
      const layout = layoutFor(session, args.values.get('layout'));
      if (layout) return await dumpFields(session, layout, range, signal);
      // One output buffer for every piece: each is written out (writeOut waits until it has gone)
      // before the next is formatted into it (a 64 MiB dump peaked at 105 MiB with a new one each time).
      const out = Buffer.allocUnsafe(hexdumpSize(Math.min(PIECE, range.length)));
      for (let done = 0; done < range.length && !signal.aborted; done += PIECE) {
        const n = Math.min(PIECE, range.length - done);
        const bytes = await session.read(range.offset + done, n);
        await writeOut(hexdump(bytes, range.offset + done, out));
      }
      return signal.aborted ? EXIT.interrupted : EXIT.ok;
    } finally {
      await session.close();
    }
  },
};

/**
 * With a layout: one line per field inside the range, `path @offset type = value`, read region by
 * region in pieces of at most 1 MiB.
 */
async function dumpFields(session: RemoteSession, layout: Layout, range: Range, signal: AbortSignal): Promise<number> {
  let window: { offset: number; bytes: Uint8Array } | undefined;
  const bytesAt = async (offset: number, size: number): Promise<Uint8Array> => {
    if (!window || offset < window.offset || offset + size > window.offset + window.bytes.length) {
      const length = Math.max(size, Math.min(PIECE, session.info.size - offset));
      window = { offset, bytes: await session.read(offset, length) };
    }
    return window.bytes.subarray(offset - window.offset, offset - window.offset + size);
  };
  const end = range.offset + range.length;
  let lines: string[] = [];
  for (const region of regionNodes(layout)) {
    if (region.offset >= end || region.offset + region.size <= range.offset) continue;
    for (const node of values(region)) {
      if (signal.aborted) return EXIT.interrupted;
      if (node.offset < range.offset || node.offset + node.size > end) continue;
      const f = node.field!;
      lines.push(`${node.path} @0x${node.offset.toString(16)} ${typeName(f.type)} = ${formatValue(f, await bytesAt(node.offset, node.size))}`);
      if (lines.length >= 1000) {
        await writeOut(`${lines.join('\n')}\n`);
        lines = [];
      }
    }
  }
  if (lines.length > 0) await writeOut(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
