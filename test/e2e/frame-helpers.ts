import type { Frame } from 'playwright-core';

/** Waits until fn() holds, checking every 20 ms in the frame's page; fails naming what it waited for. */
export async function poll(frame: Frame, fn: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await frame.waitForTimeout(20);
  }
}

/** The text of the hex view's cell for that offset, or undefined while no such cell is drawn. */
export async function cellText(frame: Frame, offset: number): Promise<string | undefined> {
  return frame.evaluate((o) => document.querySelector(`.hex .b[data-offset="${o}"]`)?.textContent ?? undefined, offset);
}
