/**
 * A minimal test harness for code that must run inside the VS Code extension host (Node's own
 * runner starts each file in a child process without the `vscode` module, so it cannot be used
 * there). Tests register with test(); runAll() runs them one by one and reports each result.
 */
export interface HostTestResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  /** Why the test did not run (reported as a skip by the driver). */
  skipped?: string;
}

type Fn = () => Promise<void> | void;
const registered: { name: string; fn: Fn; skip?: string; timeoutMs?: number }[] = [];

/** Registers a test; with `skip` (a reason) it is reported as skipped, not run; `timeoutMs` for a long one. */
export function test(name: string, fn: Fn, options: { skip?: string; timeoutMs?: number } = {}): void {
  registered.push({ name, fn, ...options });
}

/** Runs every registered test in turn; `onStart` hears each name first (so a hang can be named). */
export async function runAll(timeoutMs = 60_000, onStart: (name: string) => void = () => undefined): Promise<HostTestResult[]> {
  const results: HostTestResult[] = [];
  for (const { name, fn, skip, timeoutMs: own } of registered) {
    if (skip) {
      results.push({ name, ok: true, ms: 0, skipped: skip });
      continue;
    }
    const started = Date.now();
    onStart(name);
    try {
      await Promise.race([
        Promise.resolve().then(fn),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${own ?? timeoutMs} ms`)), own ?? timeoutMs)),
      ]);
      results.push({ name, ok: true, ms: Date.now() - started });
    } catch (err) {
      results.push({ name, ok: false, ms: Date.now() - started, error: (err as Error)?.stack ?? String(err) });
    }
  }
  return results;
}
