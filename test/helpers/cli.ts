import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './temp';

/** The CLI as users run it: the esbuild bundle from `npm run build`. */
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Which Node runs which build of the CLI: by default this process's Node and dist/cli/main.js. */
export interface On {
  node?: string;
  cli?: string;
  env?: NodeJS.ProcessEnv;
}

export function runCli(args: string[], timeoutMs = 60_000, on: On = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(on.node ?? process.execPath, [on.cli ?? CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shmem-inspect ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** xxd's output for the same bytes, as a string (latin1 keeps every byte). */
export function xxd(args: string[]): string {
  const r = spawnSync('xxd', args, { encoding: 'latin1', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`xxd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A long-running CLI process (watch) with its output collected as lines. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], on: On = {}) {
    this.child = spawn(on.node ?? process.execPath, [on.cli ?? CLI, ...args], on.env ? { env: on.env } : {});
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  async waitFor(pattern: RegExp, where: 'stdout' | 'stderr' = 'stdout', timeoutMs = 10_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const found = where === 'stdout' ? this.lines.find((l) => pattern.test(l)) : pattern.exec(this.stderr)?.[0];
      if (found !== undefined) return found;
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern} on ${where}; stdout: ${this.lines.join('\n')}; stderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
