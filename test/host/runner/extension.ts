/**
 * The test-runner extension, installed next to the product in code-server's extensions folder by
 * test/host/host.test.ts. On start-up it loads the suite files (SHMEM_HOST_TEST_FILES), runs them
 * in the real extension host, and writes the results as JSON to SHMEM_HOST_TEST_RESULTS.
 */
import * as fs from 'node:fs';
import { runAll } from './harness';

export async function activate(): Promise<void> {
  const out = process.env.SHMEM_HOST_TEST_RESULTS;
  const files = (process.env.SHMEM_HOST_TEST_FILES ?? '').split(':').filter(Boolean);
  if (!out) return;
  let payload: unknown;
  try {
    // Loaded by path at run time, so a plain require is the tool (these files register tests).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (const file of files) require(file);
    // The name of the test running now, for the driver to say which one hung if none finishes.
    const running = (name: string): void => fs.writeFileSync(`${out}.running`, name);
    payload = { results: await runAll(undefined, running), node: process.version, execPath: process.execPath, pid: process.pid };
  } catch (err) {
    payload = { crashed: (err as Error)?.stack ?? String(err) };
  }
  fs.writeFileSync(`${out}.tmp`, JSON.stringify(payload, null, 2));
  fs.renameSync(`${out}.tmp`, out);
}

export function deactivate(): void {
  // nothing to release
}
