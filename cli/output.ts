import { CancelledError, InputError, SourceLostError, describeSystemError } from '../core/errors';
import { UsageError } from './args';

/** Exit codes, as documented in the README and in `shmem-inspect --help` (EXIT_RULE). */
export const EXIT = { ok: 0, usage: 1, input: 2, lost: 3, internal: 4, interrupted: 130 } as const;

/** The rule every command follows, in the words `--help` and the README use. */
export const EXIT_RULE = [
  'Exit codes: 0 done (diff --exit-code: 0 identical); 1 a usage error (diff --exit-code: the sides',
  'differ); 2 bad input or a failed check: a bad argument value, file or server, a corrupt snapshot,',
  'an output that cannot be written (the reason on stderr, one line); 3 the source went away; 130',
  'interrupted (Ctrl-C, SIGTERM, SIGHUP; record is stopped that way on purpose: it finishes the',
  'file and exits 0). A closed output pipe (| head) ends quietly with 0.',
  'Any other code is a bug.',
].join('\n');

/** stdout's reader went away: not an error for a dump piped into `head`. */
export class PipeClosed extends Error {}

/** stdout cannot be written (a full disk, an I/O error): exit 2 with one line, printed once. */
export class OutputFailed extends Error {
  reported = false;
}

let outputFailure: PipeClosed | OutputFailed | undefined;
const failureListeners = new Set<(err: PipeClosed | OutputFailed) => void>();

function outputError(err: unknown): PipeClosed | OutputFailed {
  if ((err as NodeJS.ErrnoException)?.code === 'EPIPE') return new PipeClosed();
  return new OutputFailed(`cannot write to standard output: ${describeSystemError(err)}`);
}

/** Records the first failure of stdout and tells whoever waits (a watch, a server) to stop. */
function failed(err: unknown): PipeClosed | OutputFailed {
  if (!outputFailure) {
    outputFailure = outputError(err);
    for (const listener of [...failureListeners]) listener(outputFailure);
  }
  return outputFailure;
}

/** The first stdout failure, if any: it decides the exit code whatever the command returned. */
export function stdoutFailure(): PipeClosed | OutputFailed | undefined {
  return outputFailure;
}

/** Called once when stdout fails (EPIPE, ENOSPC, EIO...). */
export function onStdoutFailure(listener: (err: PipeClosed | OutputFailed) => void): () => void {
  failureListeners.add(listener);
  return () => failureListeners.delete(listener);
}

/**
 * Writes to stdout and waits when the pipe is full. A closed pipe (`| head`) rejects with
 * PipeClosed (ends quietly), any other failure with OutputFailed (one line, exit 2).
 */
export function writeOut(chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (outputFailure) return reject(outputFailure);
    if (process.stdout.destroyed) return reject(failed(Object.assign(new Error('closed'), { code: 'EPIPE' })));
    const ok = process.stdout.write(chunk, (err) => {
      if (err) reject(failed(err));
      else if (ok) resolve();
    });
    if (!ok) process.stdout.once('drain', resolve);
  });
}

// Without a listener a failed write is an uncaught exception with a stack trace. The error is
// recorded here and reported once, by exitCodeFor.
process.stdout.on('error', (err) => void failed(err));
// Nothing can be reported about stderr itself failing; it must not crash the command either.
process.stderr.on('error', () => undefined);

export function printError(message: string): void {
  process.stderr.write(`shmem-inspect: ${message}\n`);
}

/** Turns any error into its one-line message and exit code; only bugs keep their stack. */
export function exitCodeFor(err: unknown, usage: string | undefined): number {
  if (err instanceof PipeClosed) return EXIT.ok;
  if (err instanceof OutputFailed) {
    if (!err.reported) printError(err.message);
    err.reported = true;
    return EXIT.input;
  }
  if (err instanceof UsageError) {
    printError(err.message);
    if (usage) process.stderr.write(`usage: ${usage}\n`);
    return EXIT.usage;
  }
  if (err instanceof InputError) {
    printError(err.message);
    return EXIT.input;
  }
  if (err instanceof SourceLostError) {
    printError(`disconnected: ${err.message}`);
    return EXIT.lost;
  }
  if (err instanceof CancelledError) {
    printError(err.message);
    return EXIT.interrupted;
  }
  printError(`internal error (a bug; please report it): ${(err as Error)?.stack ?? String(err)}`);
  return EXIT.internal;
}

/** A progress line on a terminal, redrawn at most 10 times a second; silent when stderr is a pipe. */
export class ProgressLine {
  private last = 0;
  private shown = false;
  private readonly started = Date.now();

  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    if (!process.stderr.isTTY) return;
    const now = Date.now();
    // Small jobs finish before a line would be worth drawing.
    if (now - this.started < 300 || now - this.last < 100) return;
    this.last = now;
    this.shown = true;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    process.stderr.write(`\r${this.label}: ${pct}% (${mib(done)} of ${mib(total)} MiB)\x1b[K`);
  }

  clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

function mib(n: number): string {
  return (n / 1048576).toFixed(n < 10 * 1048576 ? 1 : 0);
}
