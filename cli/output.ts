import { CancelledError, InputError, SourceLostError } from '../core/errors';
import { UsageError } from './args';

/** Exit codes, as documented in the README. */
export const EXIT = { ok: 0, usage: 1, input: 2, lost: 3, internal: 4, interrupted: 130 } as const;

/** Writes to stdout and waits when the pipe is full; a closed pipe (`| head`) ends quietly. */
export function writeOut(chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.stdout.destroyed) return reject(new PipeClosed());
    const ok = process.stdout.write(chunk, (err) => {
      if (err) reject(isEpipe(err) ? new PipeClosed() : err);
      else if (ok) resolve();
    });
    if (!ok) process.stdout.once('drain', resolve);
  });
}

/** stdout's reader went away: not an error for a dump piped into `head`. */
export class PipeClosed extends Error {}

function isEpipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EPIPE';
}

process.stdout.on('error', (err) => {
  if (!isEpipe(err)) throw err;
});

export function printError(message: string): void {
  process.stderr.write(`shmem-inspect: ${message}\n`);
}

/** Turns any error into its one-line message and exit code; only bugs keep their stack. */
export function exitCodeFor(err: unknown, usage: string | undefined): number {
  if (err instanceof PipeClosed) return EXIT.ok;
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
