/**
 * A helper extension for the live-view bench (bench/live/live-view.ts), installed next to the
 * product in code-server. It runs the commands the bench drops as files into SHMEM_BENCH_DIR and
 * answers with the extension host's clock, so that "time to first rows" starts where the user's
 * command starts. It waits on fs.watch (inotify), not a timer, so it adds nothing to idle CPU.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

interface Request {
  id: string;
  command: string;
  args: unknown[];
}

function writeAtomic(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

export function activate(context: vscode.ExtensionContext): void {
  const dir = process.env.SHMEM_BENCH_DIR;
  if (!dir) return;
  const running = new Set<string>();
  const scan = (): void => {
    for (const name of fs.readdirSync(dir)) {
      if (!/^cmd-.*\.json$/.test(name) || running.has(name)) continue;
      running.add(name);
      const file = path.join(dir, name);
      const request = JSON.parse(fs.readFileSync(file, 'utf8')) as Request;
      fs.unlinkSync(file);
      running.delete(name);
      const startedAt = Date.now();
      void Promise.resolve(vscode.commands.executeCommand(request.command, ...request.args)).then(
        (result) => writeAtomic(path.join(dir, `done-${request.id}.json`), { startedAt, finishedAt: Date.now(), result: typeof result === 'object' ? undefined : result }),
        (err: unknown) => writeAtomic(path.join(dir, `done-${request.id}.json`), { startedAt, finishedAt: Date.now(), error: String(err) }),
      );
    }
  };
  const watcher = fs.watch(dir, () => scan());
  context.subscriptions.push({ dispose: () => watcher.close() });
  writeAtomic(path.join(dir, 'ready.json'), { pid: process.pid });
  scan();
}

export function deactivate(): void {
  // the watcher goes with the subscriptions
}
