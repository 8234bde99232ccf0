#!/usr/bin/env node
/** shmem-inspect: the command-line side of Shared Memory Inspector, over the same core and agent. */
import { parseArgs, UsageError, type ParsedArgs } from './args';
import type { Command } from './command';
import { dump } from './commands/dump';
import { info } from './commands/info';
import { snapshot } from './commands/snapshot';
import { watch } from './commands/watch';
import { peers, ring } from './commands/ivshmem';
import { serve } from './commands/serve';
import { diff } from './commands/diff';
import { reconnect } from './commands/reconnect';
import { EXIT, EXIT_RULE, exitCodeFor, onStdoutFailure, stdoutFailure, writeOut } from './output';
import { record } from './commands/record';
import { history } from './commands/history';
import { replay } from './commands/replay';

declare const PACKAGE_VERSION: string | undefined;

const COMMANDS: Command[] = [dump, snapshot, info, watch, diff, reconnect, record, history, replay, serve, peers, ring];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.spec.usage.length));
  return [
    'shmem-inspect: inspect shared memory between QEMU guests and host processes',
    '',
    'usage:',
    ...COMMANDS.map((c) => `  ${c.spec.usage.padEnd(width)}  ${c.spec.summary}`),
    '',
    'SOURCE is a backing file (/dev/shm/NAME, a hugetlbfs or disk file), a .shmsnap snapshot, or an',
    'ivshmem server socket (unix:/path, or the path of a socket), joined as a peer.',
    'Offsets and lengths are decimal or 0x-hex.',
    '',
    EXIT_RULE,
    '',
  ].join('\n');
}

/** Signals that end a command the way Ctrl-C does: cancelled, temporary files removed, exit 130. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(help());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = COMMANDS.find((c) => c.spec.name === rest[0]);
    await writeOut(topic ? commandHelp(topic) : help());
    return EXIT.ok;
  }
  if (name === '--version') {
    await writeOut(`${typeof PACKAGE_VERSION === 'string' ? PACKAGE_VERSION : 'dev'}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.spec.name === name);
  if (!command) {
    process.stderr.write(`shmem-inspect: unknown command "${name}"\n\n${help()}`);
    return EXIT.usage;
  }
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  // stdout failing (a reader gone, a full disk) ends long commands (watch, serve) too.
  const offFailure = onStdoutFailure(() => abort.abort());
  try {
    let args: ParsedArgs;
    if (rest.includes('--help') || rest.includes('-h')) {
      await writeOut(commandHelp(command));
      return EXIT.ok;
    }
    try {
      args = parseArgs(rest, command.spec);
    } catch (err) {
      if (err instanceof UsageError) return exitCodeFor(err, command.spec.usage);
      throw err;
    }
    return await command.run(args, { signal: abort.signal });
  } catch (err) {
    return exitCodeFor(err, command.spec.usage);
  } finally {
    offFailure();
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}

function commandHelp(command: Command): string {
  return `usage: ${command.spec.usage}\n${command.spec.summary}\n${command.spec.details ? `${command.spec.details}\n` : ''}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    // A failed stdout decides the exit code, whatever the command made of it (0 for a closed pipe,
    // 2 with one line for a full disk or an I/O error).
    const failure = stdoutFailure();
    process.exitCode = failure ? exitCodeFor(failure, undefined) : code;
  },
  (err: unknown) => {
    process.exitCode = exitCodeFor(err, undefined);
  },
);
