import type { CommandSpec, ParsedArgs } from './args';

export interface CommandContext {
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM. */
  signal: AbortSignal;
}

export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs, context: CommandContext): Promise<number>;
}
