import type { CommandSpec, ParsedArgs } from './args';

export interface CommandContext {
  /** Aborted on Ctrl-C (SIGINT), SIGTERM, SIGHUP, or when stdout fails (cli/output.ts). */
  signal: AbortSignal;
}

export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, context: CommandContext): Promise<number>;
}
