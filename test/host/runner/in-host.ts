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

/**
 * Answers the product's modal confirmations (vscode.window.showWarningMessage) with `answer` while
 * `body` runs, and records what was asked. The test hook lives here, in the tests: the product has
 * no argument that skips a confirmation. (Stubbed on the product's own `vscode` API object; another
 * extension gets an API object of its own and cannot reach the product's dialogs.)
 */
export async function answering<T>(answer: string | undefined, body: () => Promise<T> | Thenable<T>): Promise<{ result: T; asked: string[] }> {
  const window = productVscode().window as unknown as { showWarningMessage: (...args: unknown[]) => Thenable<unknown> };
  const original = window.showWarningMessage;
  const asked: string[] = [];
  window.showWarningMessage = async (message: unknown, ...rest: unknown[]) => {
    const modal = typeof rest[0] === 'object' && rest[0] !== null && (rest[0] as { modal?: boolean }).modal === true;
    if (!modal) return original(message, ...rest);
    asked.push(String(message));
    return answer;
  };
  try {
    return { result: await body(), asked };
  } finally {
    window.showWarningMessage = original;
  }
}

/** A webview panel the product created, seen from its page's side. */
export interface PagePanel {
  viewType: string;
  panel: vscode.WebviewPanel;
  /** Every message the host posted to the page. */
  posted: unknown[];
  /** Sends a message as the page would (a button's click, a request). */
  send(message: unknown): void;
  /** The body of the last note of this type the host posted. */
  lastNote<T>(type: string): T | undefined;
}

/**
 * Records the webview panels the product creates until stop(): what the host posts to each page,
 * and a way to play the page's part (as a click in the browser would) without a browser.
 */
export function watchPanels(): { panels: PagePanel[]; stop(): void } {
  const window = productVscode().window as unknown as { createWebviewPanel: (...args: unknown[]) => vscode.WebviewPanel };
  const original = window.createWebviewPanel;
  const panels: PagePanel[] = [];
  window.createWebviewPanel = (...args: unknown[]) => {
    const panel = original(...args);
    const webview = panel.webview;
    const listeners: ((m: unknown) => unknown)[] = [];
    const posted: unknown[] = [];
    const post = webview.postMessage.bind(webview);
    const receive = webview.onDidReceiveMessage;
    Object.defineProperty(webview, 'postMessage', { value: (m: unknown) => (posted.push(m), post(m)), configurable: true });
    Object.defineProperty(webview, 'onDidReceiveMessage', {
      value: (listener: (m: unknown) => unknown, thisArg?: unknown, disposables?: vscode.Disposable[]) => {
        listeners.push(listener);
        return receive(listener, thisArg, disposables);
      },
      configurable: true,
    });
    panels.push({
      viewType: String(args[0]),
      panel,
      posted,
      send: (m) => listeners.forEach((l) => l(m)),
      lastNote: <T>(type: string) => (posted.filter((m) => (m as { m?: string; type?: string }).m === 'note' && (m as { type: string }).type === type).at(-1) as { body: T } | undefined)?.body,
    });
    return panel;
  };
  return {
    panels,
    stop: () => {
      window.createWebviewPanel = original;
    },
  };
}
