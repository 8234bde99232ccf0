import { formatBytes, hex } from '../../core/numbers';
import { attach } from '../attach';
import { damagedMessage } from '../../core/snapshot/integrity';
import { EXIT, ProgressLine, printError, writeOut } from '../output';
import type { Command } from '../command';
import { RecordingFile, looksLikeRecording } from '../../core/record/reader';
import { recordingFacts, recordingLines } from './recording-info';

export const info: Command = {
  spec: {
    name: 'info',
    summary: 'kind and size of a source; for a snapshot its header and whether its data checks out; for a recording its figures',
    positionals: ['SOURCE'],
    values: [],
    flags: ['json'],
    usage: 'shmem-inspect info (SOURCE | FILE.shmrec) [--json]',
  },
  async run(args, { signal }) {
    if (looksLikeRecording(args.positionals[0]!)) return recordingInfo(args.positionals[0]!, args.flags.has('json'));
    const session = await attach(args.positionals[0]!);
    try {
      const { info: source, snapshot } = session;
      const facts: Record<string, unknown> = { kind: source.kind, source: source.description, size: source.size };
      if (source.fileSystem) facts.fileSystem = source.fileSystem;
      if (source.peerId !== undefined) facts.peerId = source.peerId;
      let corrupt = false;
      let damage = '';
      if (snapshot) {
        const progress = new ProgressLine('verifying');
        const result = await session.verify({ signal, onProgress: (d, t) => progress.update(d, t) });
        progress.clear();
        corrupt = result.badBlocks.length > 0;
        if (corrupt) damage = damagedMessage(session.source, result.damaged);
        Object.assign(facts, {
          formatVersion: snapshot.formatVersion,
          captured: new Date(snapshot.time).toISOString(),
          capturedFrom: snapshot.source,
          peerId: snapshot.peerId ?? null,
          dataOffset: snapshot.headerLength,
          blockSize: snapshot.blockSize,
          blocks: snapshot.blocks,
          consistencyChecked: snapshot.checked,
          tornRanges: snapshot.tornRanges,
          embeddedLayoutBytes: snapshot.layoutBytes,
          badBlocks: result.badBlocks.length,
          firstBadOffset: corrupt ? result.badBlocks[0]! * snapshot.blockSize : null,
          damaged: result.damaged,
        });
      }
      if (args.flags.has('json')) {
        await writeOut(`${JSON.stringify(facts)}\n`);
      } else {
        const kinds = { file: 'backing file', snapshot: 'snapshot', ivshmem: `ivshmem server, joined as peer ${source.peerId}`, recording: 'recording' };
        const lines = [`kind:         ${kinds[source.kind]}`, `source:       ${source.description}`, `size:         ${source.size} bytes (${hex(source.size)}, ${formatBytes(source.size)})`];
        if (source.fileSystem) lines.push(`file system:  ${source.fileSystem}`);
        if (snapshot) {
          lines.push(
            `format:       version ${snapshot.formatVersion}, data at offset ${snapshot.headerLength}`,
            `captured:     ${new Date(snapshot.time).toISOString()} from ${snapshot.source || '(unknown)'}`,
            `peer ID:      ${snapshot.peerId ?? 'unknown'}`,
            `consistency:  ${snapshot.checked ? `checked, ${snapshot.tornRanges} torn range(s)` : 'plain copy, not checked for torn pages'}`,
            `layout:       ${snapshot.layoutBytes > 0 ? `embedded (${snapshot.layoutBytes} bytes)` : 'none'}`,
            corrupt
              ? `data:         CORRUPTED: ${facts.badBlocks} of ${snapshot.blocks} blocks of ${formatBytes(snapshot.blockSize)} do not match their checksum (first at ${hex(facts.firstBadOffset as number)})`
              : `data:         OK (${snapshot.blocks} blocks of ${formatBytes(snapshot.blockSize)} match their ${snapshot.formatVersion === 1 ? 'CRC-32' : 'checksum (XXH64 of their pages)'})`,
          );
        }
        await writeOut(`${lines.join('\n')}\n`);
      }
      // Exit 2 always comes with its reason on stderr, as for every command.
      if (corrupt) printError(damage);
      return corrupt ? EXIT.input : EXIT.ok;
    } finally {
      await session.close();
    }
  },
};

/** A recording is read here, not by an agent: it is a plain file, read with pread, never mapped. */
async function recordingInfo(path: string, json: boolean): Promise<number> {
  const file = RecordingFile.open(path);
  try {
    const s = file.summary();
    await writeOut(json ? `${JSON.stringify(recordingFacts(path, file.header, s))}\n` : `${recordingLines(path, file.header, s).join('\n')}\n`);
    return EXIT.ok;
  } finally {
    file.close();
  }
}
