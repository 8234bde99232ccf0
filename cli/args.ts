/** A small, strict argument parser: unknown options and missing values are usage errors (exit 1). */

export class UsageError extends Error {}

export interface CommandSpec {
  name: string;
  /** One line: what the command does. */
  summary: string;
  /** Names of the positional arguments, all required. */
  positionals: string[];
  /** Options that take a value ("--offset N"). */
  values: string[];
  /** Options that are on or off ("--json"). */
  flags: string[];
  /** Short aliases, e.g. { o: 'output' }. */
  aliases?: Record<string, string>;
  usage: string;
  /** More lines for `COMMAND --help` (options that need a word of explanation). */
  details?: string;
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const alias = spec.aliases?.[arg.slice(1)];
      if (!alias) throw new UsageError(`unknown option ${arg}`);
      name = alias;
    }
    if (spec.flags.includes(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      if (values.has(name)) throw new UsageError(`--${name} is given twice`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  if (positionals.length < spec.positionals.length) {
    throw new UsageError(`missing ${spec.positionals.slice(positionals.length).join(' ')}`);
  }
  if (positionals.length > spec.positionals.length) {
    throw new UsageError(`unexpected argument "${positionals[spec.positionals.length]}"`);
  }
  return { positionals, values, flags };
}
