/** What the in-host suites share: the product's API and a poll for what happens asynchronously. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ShmemInspectorApi } from '../../../extension/main';

export const ID = 'shmem-tools.shmem-inspector';

export async function api(): Promise<ShmemInspectorApi> {
  const ext = vscode.extensions.getExtension<ShmemInspectorApi>(ID);
  assert.ok(ext, `extension ${ID} is not installed`);
  return ext.activate();
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
