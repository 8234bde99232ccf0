/** What the in-host suites share: the product's API and a poll for what happens asynchronously. */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ShmemInspectorApi } from '../../../extension/main';

export const ID = 'shmem-tools.shmem-inspector';

export async function api(): Promise<ShmemInspectorApi> {
  const ext = vscode.extensions.getExtension<ShmemInspectorApi>(ID);
  assert.ok(ext, `extension ${ID} is not installed`);
  return ext.activate();
}

/**
 * The vscode API object the product was given. VS Code gives each extension its own, chosen by the
 * path of the module that requires 'vscode': these suites are not inside the product's folder (the
 * installed .vsix), so a stub of, say, window.showWarningMessage must go on the product's object.
 */
export function productVscode(): typeof vscode {
  const ext = vscode.extensions.getExtension(ID);
  assert.ok(ext, `extension ${ID} is not installed`);
  return createRequire(path.join(ext.extensionPath, 'package.json'))('vscode') as typeof vscode;
}

/** Polls `check` (sync or async) until it gives something other than undefined or false. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Starts `shmem-inspect serve` and resolves once it says it is serving: its socket file appears at
 * bind(), a moment before listen(), and a connect in between is refused.
 */
export async function startServer(cli: string, args: string[]): Promise<ChildProcess> {
  const server = spawn(process.execPath, [cli, 'serve', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      server.kill('SIGKILL');
      reject(new Error(`the ivshmem server did not start within 15 s: ${said}`));
    }, 15_000);
    server.stderr!.on('data', (d: Buffer) => {
      said += d.toString();
      if (said.includes('serving ')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ivshmem server exited (${code ?? signal}): ${said}`));
    });
  });
  return server;
}
