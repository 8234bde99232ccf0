import { InputError, SourceLostError } from '../../core/errors';
import { formatBytes, hex, parseDecimal, parseInteger, parseOffset, parseSize, resolveRange } from '../../core/numbers';
import { MAX_RANGE_LENGTH } from '../../core/record/header';
import type { RecordResult, RecordStats } from '../../core/record/recorder';
import { RemoteSession } from '../../agent/remote-session';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../../agent/protocol';
import { UsageError } from '../args';
import { EXIT, printError } from '../output';
import type { Command } from '../command';
import { layoutFromText, readLayoutFile } from '../layout-file';
import { describeRecording } from './recording-info';

/** The recorder's default pace: fine enough for most protocols, and 100 wake-ups a second. */
const DEFAULT_INTERVAL_MS = 10;

export const record: Command = {
  spec: {
    name: 'record',
    summary: 'record every change of a source into a .shmrec file until Ctrl-C (or --duration, --max-size)',
    positionals: ['SOURCE'],
    values: ['output', 'interval', 'duration', 'offset', 'length', 'layout', 'max-size'],
    flags: ['force'],
    aliases: { o: 'output', f: 'force' },
    usage: 'shmem-inspect record SOURCE -o FILE.shmrec [--interval MS] [--duration S] [--offset N --length N] [--layout FILE] [--max-size SIZE] [--force]',
  },
  async run(args, context) {
    const target = args.values.get('output');
    if (target === undefined) throw new UsageError('-o FILE.shmrec is required');
    const get = (name: string): string | undefined => args.values.get(name);
    const intervalMs = get('interval') === undefined ? DEFAULT_INTERVAL_MS : parseInteger(get('interval')!, '--interval', MIN_INTERVAL_MS, MAX_INTERVAL_MS);
    const durationMs = get('duration') === undefined ? undefined : Math.max(1, Math.round(parseDecimal(get('duration')!, '--duration', 0.001, 1e9) * 1000));
    const offset = get('offset') === undefined ? undefined : parseOffset(get('offset')!, '--offset');
    const length = get('length') === undefined ? undefined : parseOffset(get('length')!, '--length');
    if (length === 0) throw new UsageError('--length must be at least 1');
    const maxBytes = get('max-size') === undefined ? undefined : parseSize(get('max-size')!, '--max-size');
    if (maxBytes === 0) throw new UsageError('--max-size must be at least 1');

    // SIGHUP (the terminal went away) ends a recording like Ctrl-C: the file is finished, exit 0.
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    context.signal.addEventListener('abort', onSignal, { once: true });
    process.on('SIGHUP', onSignal);
    const session = await RemoteSession.attach(args.positionals[0]!);
    let result: RecordResult | undefined;
    let lost: string | undefined;
    const status = new StatusLine();
    try {
      const range = resolveRange(session.info.size, offset, length);
      if (range.length === 0) throw new InputError(`there is nothing to record at offset ${hex(range.offset)}: it is the end of the segment`);
      if (range.length > MAX_RANGE_LENGTH) {
        throw new InputError(`${formatBytes(range.length)} is more than a recording covers (${formatBytes(MAX_RANGE_LENGTH)}, sampled whole every tick): choose a part with --offset and --length`);
      }
      const layoutFile = get('layout');
      const layout = layoutFile === undefined ? undefined : layoutFromText(readLayoutFile(layoutFile), layoutFile, session.info.size).text;
      let started = false;
      const onStats = (s: RecordStats): void => {
        // The first figures come once the first state is in the file: only then is it recording.
        if (!started) {
          started = true;
          process.stderr.write(
            `recording ${session.info.description} ${hex(range.offset)}..${hex(range.offset + range.length)} (${formatBytes(range.length)}) every ${intervalMs} ms into ${target}; Ctrl-C stops\n` +
              `changes between two samples collapse into one: this recording is as fine as its interval (${intervalMs} ms)\n`,
          );
        } else status.show(s);
      };
      try {
        result = await session.record(target, { ...range, intervalMs, durationMs, maxBytes, layout, force: args.flags.has('force'), signal: stop.signal, onStats });
      } catch (err) {
        if (!(err instanceof SourceLostError)) throw err;
        lost = err.message;
      }
    } finally {
      status.clear();
      process.off('SIGHUP', onSignal);
      context.signal.removeEventListener('abort', onSignal);
      await session.close();
    }
    if (result?.reason === 'source-lost') lost = result.message;
    // What the file holds is the truth, whatever the agent managed to report.
    process.stderr.write(describeRecording(target, result));
    if (lost !== undefined) {
      printError(`disconnected: ${lost}; the recording is kept, whole up to then`);
      return EXIT.lost;
    }
    return EXIT.ok;
  },
};

/** "recording: 12 s, 1,234 samples, 1.2 MiB" redrawn on a terminal; nothing on a pipe. */
class StatusLine {
  private shown = false;

  show(s: RecordStats): void {
    if (!process.stderr.isTTY) return;
    this.shown = true;
    const missed = s.missedTicks > 0 ? `, ${s.missedTicks} missed` : '';
    process.stderr.write(`\rrecording: ${(s.elapsedMs / 1000).toFixed(0)} s, ${s.samples} samples (${s.changeSamples} with changes${missed}), ${formatBytes(s.fileBytes)}\x1b[K`);
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
