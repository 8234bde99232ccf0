import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { NEWEST_CODE_SERVER, frameWith, hexFrame, openWorkbench, type Workbench } from '../helpers/vscode';
import { ROOT, eventually, tempDir } from '../helpers/temp';

/**
 * The hex view in a real browser (Debian's chromium) inside a real VS Code (code-server): what a
 * user sees. Screenshots go to test-output/.
 */
const OUT = path.join(ROOT, 'test-output');
const BIG = 5 * 2 ** 30;
const FAR = 2 ** 32 + 16;

/**
 * A write by another process (not the extension, not its agent, not this test process). Returns
 * the time of the write itself (Date.now() in the writer, right after pwrite returned).
 */
function writeFromAnotherProcess(file: string, offset: number, bytes: number[]): number {
  const script = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'r+');fs.writeSync(fd,Buffer.from(JSON.parse(process.argv[3])),0,${bytes.length},Number(process.argv[2]));process.stdout.write(String(Date.now()));fs.closeSync(fd)`;
  const r = spawnSync(process.execPath, ['-e', script, file, String(offset), JSON.stringify(bytes)], { encoding: 'utf8' });
  assert.equal(r.status, 0, String(r.stderr));
  return Number(r.stdout);
}

async function cellText(frame: Frame, offset: number): Promise<string | undefined> {
  return frame.evaluate((o) => document.querySelector(`.hex .b[data-offset="${o}"]`)?.textContent ?? undefined, offset);
}

async function cellChanged(frame: Frame, offset: number): Promise<boolean> {
  return frame.evaluate((o) => document.querySelector(`.hex .b[data-offset="${o}"]`)?.classList.contains('changed') ?? false, offset);
}

async function frameFor(page: Page, source: string): Promise<Frame> {
  return hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === source);
}

async function poll(frame: Frame, fn: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await frame.waitForTimeout(20);
  }
}

/**
 * Runs a command from the command palette the way a user does, but waits for what a user sees
 * before each key: the palette open, then the command on top of the filtered list. Pressing Enter
 * before the list has filtered runs whatever was on top (a recently used command).
 */
async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  const focused = page.locator('.quick-input-widget .monaco-list-row.focused');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`);
      const until = Date.now() + 5000;
      while (!((await focused.getAttribute('aria-label', { timeout: 1000 }).catch(() => null)) ?? '').startsWith(title)) {
        if (Date.now() > until) throw new Error(`the command palette did not offer "${title}"`);
        await page.waitForTimeout(50);
      }
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      if (attempt === 3) {
        await page.screenshot({ path: path.join(OUT, 'command-palette-failure.png') });
        throw err;
      }
      console.log(`# the command palette did not run "${title}" at try ${attempt}; again`);
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Answers VS Code's own file dialog in code-server: a quick input that takes a typed path. It opens
 * after the command palette has closed, in the same widget, and writes its starting folder into the
 * box once it has read it: a path typed before that is overwritten, so wait for it, type, check the
 * box holds the path, and see the dialog close.
 */
async function answerFileDialog(page: Page, title: string, file: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('input');
  const fail = async (err: unknown): Promise<never> => {
    await page.screenshot({ path: path.join(OUT, 'file-dialog-failure.png') });
    throw err;
  };
  await widget.locator(`.quick-input-title:has-text("${title}")`).waitFor({ timeout: 20_000 }).catch(fail);
  // Its box may still hold the palette's text, then gets the starting path (seen: a path typed
  // before that was overwritten, or had the folder put in front of it): wait for a path that
  // stays the same for 300 ms.
  let shown = '';
  let since = Date.now();
  for (const until = Date.now() + 20_000; Date.now() < until; await page.waitForTimeout(50)) {
    const v = await input.inputValue();
    if (v !== shown) [shown, since] = [v, Date.now()];
    else if (v.startsWith('/') && Date.now() - since >= 300) break;
  }
  for (let attempt = 1; ; attempt++) {
    await input.fill(file);
    await page.waitForTimeout(300);
    const typed = await input.inputValue();
    let why = `its box held "${typed}" instead`;
    if (typed === file) {
      await page.keyboard.press('Enter');
      if (await widget.waitFor({ state: 'hidden', timeout: 5000 }).then(() => true, () => false)) return;
      why = `it stayed open after Enter (its box holds "${await input.inputValue()}", it says "${(await widget.locator('.quick-input-message').textContent().catch(() => '')) ?? ''}")`;
    }
    if (attempt === 3) await fail(new Error(`the file dialog "${title}" did not take ${file}: ${why}`));
    console.log(`# the file dialog "${title}" did not take the path at try ${attempt}: ${why}; again`);
  }
}

test('the hex view in a real browser', async (t) => {
  fs.mkdirSync(OUT, { recursive: true });
  const { dir, cleanup } = tempDir('shmem-inspect-e2e-');
  const live = path.join(dir, 'live.bin');
  fs.writeFileSync(live, Buffer.alloc(65536));
  const big = path.join(dir, 'big.bin');
  const fd = fs.openSync(big, 'w+');
  fs.ftruncateSync(fd, BIG);
  fs.writeSync(fd, Buffer.from('past 4 GiB!'), 0, 11, FAR);
  fs.closeSync(fd);
  const opened: Workbench[] = [];
  t.after(async () => {
    for (const w of opened) await w.close();
    cleanup();
  });
  const wb = await openWorkbench({
    dir,
    version: NEWEST_CODE_SERVER,
    settings: { 'shmemInspector.autoAttach': [big, live], 'shmemInspector.tickInterval': 50, 'shmemInspector.defaultLayout': path.join(ROOT, 'examples', 'ring.shmlayout.json') },
  });
  opened.push(wb);
  const page = wb.page;
  // The webview's CSP (nonce script, no inline style) must hold: any violation is a failure.
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|apply|execute)/i.test(m.text())) violations.push(m.text());
  });

  await t.test('a write by another process shows up highlighted', async () => {
    // The first view appears once the extension host has started and attached: allow for it.
    const frame = await hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === live, 120_000);
    await poll(frame, async () => (await cellText(frame, 0x20)) === '00', 'the first rows');
    writeFromAnotherProcess(live, 0x20, [0xde, 0xad, 0xbe, 0xef]);
    await poll(frame, async () => (await cellText(frame, 0x23)) === 'ef' && (await cellChanged(frame, 0x20)), 'the highlighted bytes');
    assert.equal(await cellText(frame, 0x20), 'de');
    assert.equal(await cellChanged(frame, 0x24), false, 'an unchanged byte is highlighted');
    await page.screenshot({ path: path.join(OUT, 'hex-view-live.png') });
  });

  await t.test('time from a write to its highlight on screen (figures in test-output/latency.json)', async () => {
    const frame = await frameFor(page, live);
    // The frame records when each watched cell turns highlighted with the new value.
    await frame.evaluate(() => {
      const w = window as unknown as { seen: Record<string, number> };
      w.seen = {};
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('.hex .b.changed')) {
          const key = `${(el as HTMLElement).dataset.offset}:${el.textContent}`;
          if (!(key in w.seen)) w.seen[key] = Date.now();
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class'] });
    });
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const offset = 0x100 + i * 7;
      const value = 0x10 + i;
      const sent = writeFromAnotherProcess(live, offset, [value]);
      const key = `${offset}:${value.toString(16)}`;
      let seen: number | undefined;
      const until = Date.now() + 5000;
      while (seen === undefined && Date.now() < until) {
        seen = await frame.evaluate((k) => (window as unknown as { seen: Record<string, number> }).seen[k], key);
        if (seen === undefined) await frame.waitForTimeout(5);
      }
      assert.ok(seen !== undefined, `write ${i} at 0x${offset.toString(16)} never showed`);
      latencies.push(seen - sent);
      await frame.waitForTimeout(30 + (i % 5) * 11);
    }
    latencies.sort((a, b) => a - b);
    const pick = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    const figures = { writes: latencies.length, tickMs: 50, medianMs: pick(0.5), p95Ms: pick(0.95), maxMs: latencies.at(-1), note: 'from the writer process\'s Date.now() right after its pwrite to the page\'s Date.now() when the cell turned highlighted with the new value' };
    fs.writeFileSync(path.join(OUT, 'latency.json'), JSON.stringify(figures, null, 2));
    console.log(`write -> highlight: median ${figures.medianMs} ms, p95 ${figures.p95Ms} ms over ${figures.writes} writes`);
  });

  await t.test('Go to an offset past 4 GiB in a sparse 5 GiB file', async () => {
    await page.click('.tab:has-text("big.bin (hex)")');
    const frame = await frameFor(page, big);
    await frame.locator('#goto input').fill(`0x${FAR.toString(16)}`);
    await frame.locator('#goto input').press('Enter');
    await poll(frame, async () => (await cellText(frame, FAR)) === '70', 'the bytes past 4 GiB');
    const row = await frame.evaluate((o) => document.querySelector(`.hex .b[data-offset="${o}"]`)?.closest('.row')?.querySelector('.offset')?.textContent, FAR);
    assert.equal(row, (FAR - (FAR % 16)).toString(16).padStart(8, '0'));
    const text = await frame.evaluate((o) => Array.from({ length: 11 }, (_, i) => document.querySelector(`.ascii .c[data-offset="${o + i}"]`)?.textContent).join(''), FAR);
    assert.equal(text, 'past 4 GiB!');
    await page.screenshot({ path: path.join(OUT, 'hex-view-past-4GiB.png') });
  });

  await t.test('edit a byte in a read-write session; it is in the file', async () => {
    await page.click('.tab:has-text("live.bin (hex)")');
    const frame = await frameFor(page, live);
    // Typing in a read-only session changes nothing.
    await frame.click(`.hex .b[data-offset="${0x40}"]`);
    await frame.locator('.rows').press('7');
    await frame.locator('.rows').press('7');
    await frame.waitForTimeout(300);
    assert.equal(fs.readFileSync(live)[0x40], 0);
    // Make it read-write the way a user does: the command, then the confirmation.
    await runCommand(page, 'Shared Memory: Make Session Read-Write');
    await page.click('.monaco-dialog-box .monaco-button:has-text("Make Read-Write")');
    await poll(frame, async () => (await frame.evaluate(() => document.body.dataset.writable)) === 'true', 'the read-write session');
    await frame.click(`.hex .b[data-offset="${0x40}"]`);
    await frame.locator('.rows').press('a');
    await frame.locator('.rows').press('5');
    await eventually(() => fs.readFileSync(live)[0x40] === 0xa5, 5000, 'the byte in the file');
    assert.equal(await cellText(frame, 0x40), 'a5');
    await page.screenshot({ path: path.join(OUT, 'hex-view-edit.png') });
  });

  await t.test('Find: hex bytes, then text, from the cursor on; not found is said so', async () => {
    const frame = await frameFor(page, live);
    writeFromAnotherProcess(live, 0x3000, [...Buffer.from('needle in shm')]);
    await frame.locator('#find input').fill('6e 65 65 64 6c 65');
    await frame.locator('#find-next').click();
    await poll(frame, async () => (await frame.evaluate(() => document.querySelector('.status')?.textContent)) === 'found at 0x3000', 'the hex search');
    await poll(frame, async () => (await cellText(frame, 0x3000)) === '6e', 'the found bytes on screen');
    assert.ok(await frame.evaluate(() => document.querySelector('.hex .b.cursor')?.classList.contains('selected')));
    await frame.locator('#find input').fill('zzz-not-there');
    await frame.evaluate(() => {
      const select = document.querySelector('#find-mode') as HTMLElement & { value: string };
      select.value = 'text';
    });
    await frame.locator('#find-next').click();
    await poll(frame, async () => (await frame.evaluate(() => document.querySelector('.status')?.textContent)) === 'not found', 'not found');
  });

  await t.test('the Sessions and Peers views list the sessions', async () => {
    await page.click('.activitybar [aria-label^="Shared Memory"]');
    await page.waitForSelector('.pane-body .monaco-list-row:has-text("live.bin")', { timeout: 10_000 });
    const rows = await page.locator('.pane-body .monaco-list-row').allTextContents();
    assert.ok(rows.some((r) => r.includes('big.bin') && r.includes('5 GiB') && r.includes('live')), rows.join(' | '));
    assert.ok(rows.some((r) => r.includes('live.bin') && r.includes('read-write')), rows.join(' | '));
    await page.screenshot({ path: path.join(OUT, 'sessions-view.png') });
  });
  await t.test('after a window reload the hex views come back where they were', async () => {
    // Reload the way VS Code does it (the command saves the workbench state first; a bare browser
    // reload may cut that short, and then VS Code has no views to restore).
    // Mark this page, then wait for a workbench in a page without the mark: a new one (however long
    // VS Code takes to save its state before it navigates).
    await page.evaluate(() => ((window as unknown as { beforeReload?: boolean }).beforeReload = true));
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForFunction(() => !(window as unknown as { beforeReload?: boolean }).beforeReload && document.querySelector('.monaco-workbench') !== null, undefined, { timeout: 60_000, polling: 200 });
    // VS Code restores a hidden tab's webview only when it is shown, and the start-up attach may
    // have opened (and focused) a view meanwhile: show live.bin's tab.
    const liveTab = page.locator('.tab:has-text("live.bin (hex)")');
    await liveTab.waitFor({ timeout: 60_000 });
    await liveTab.click();
    const frame = await hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === live, 60_000).catch(async (err) => {
      await page.screenshot({ path: path.join(OUT, 'restore-failure.png') });
      const tabs = await page.locator('.tab').allTextContents();
      const sources = await Promise.all(page.frames().map((f) => f.evaluate(() => `${document.body?.dataset.source}:${document.querySelectorAll('.row').length}`).catch(() => '?')));
      throw new Error(`${(err as Error).message}; tabs: ${tabs.join(' | ')}; frames: ${sources.join(' ')}`);
    });
    // The search left the view at 0x3000: the restored view shows that place again.
    await poll(frame, async () => (await cellText(frame, 0x3000)) === '6e', 'the restored view at the search result').catch(async (err) => {
      await page.screenshot({ path: path.join(OUT, 'restore-failure.png') });
      throw new Error(`${(err as Error).message}; first row: ${await frame.evaluate(() => document.querySelector('.row .offset')?.textContent)}`);
    });
    assert.ok(await page.locator('.tab:has-text("big.bin (hex)")').count(), 'the other view was not restored');
    // One session per source: the start-up attach and the restored views share it. (The reload
    // keeps the Shared Memory side bar open, and a click would close it: click only when its
    // Sessions view is not showing; its rows may come later than the view.)
    if (!(await page.locator('.pane-header:has-text("Sessions")').isVisible())) await page.click('.activitybar [aria-label^="Shared Memory"]');
    await page.waitForSelector('.pane-body .monaco-list-row:has-text("live.bin")', { timeout: 10_000 });
    const rows = await page.locator('.pane-body .monaco-list-row').allTextContents();
    assert.equal(rows.filter((r) => r.includes('live.bin')).length, 1, rows.join(' | '));
  });

  await t.test('the Regions view shows a field written by another process change', async () => {
    await page.click('.tab:has-text("live.bin (hex)")');
    if ((await page.locator('.pane-header:has-text("Regions")').count()) === 0) await page.click('.activitybar [aria-label^="Shared Memory"]');
    const header = page.locator('.pane-body .monaco-list-row:has-text("header")');
    await header.waitFor({ timeout: 10_000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    const head = page.locator('.pane-body .monaco-list-row[aria-level="2"]:has-text("head")').first();
    await head.waitFor({ timeout: 10_000 });
    const showing = async (want: RegExp): Promise<void> => {
      for (const until = Date.now() + 10_000; !want.test((await head.textContent()) ?? ''); await page.waitForTimeout(50)) {
        if (Date.now() > until) assert.fail(`the Regions view shows ${await head.textContent()}, not ${want}`);
      }
    };
    // The row shows "…" until the session has the field's bytes.
    await showing(/head\s*0$/);
    writeFromAnotherProcess(live, 8, [42, 0, 0, 0]);
    await showing(/head\s*42$/);
    // Selecting the field selects its bytes in the hex view.
    await head.click();
    const frame = await frameFor(page, live);
    await poll(frame, async () => (await frame.evaluate(() => [...document.querySelectorAll('.hex .b.selected')].map((e) => (e as HTMLElement).dataset.offset).join(','))) === '8,9,10,11', 'the field\'s bytes selected');
    await page.screenshot({ path: path.join(OUT, 'regions-view.png') });
  });

  await t.test('Take Snapshot, then Compare With Live: the diff view lists and marks the changes', async () => {
    await page.click('.tab:has-text("live.bin (hex)")');
    const snap = path.join(dir, 'e2e.shmsnap');
    await runCommand(page, 'Shared Memory: Take Snapshot');
    await answerFileDialog(page, 'Take Snapshot', snap);
    await eventually(() => fs.existsSync(snap), 20_000, 'the snapshot file').catch(async (err) => {
      await page.screenshot({ path: path.join(OUT, 'snapshot-failure.png') });
      throw err;
    });
    writeFromAnotherProcess(live, 0x2000, [1, 2, 3]);
    writeFromAnotherProcess(live, 0x2100, [9]);
    await runCommand(page, 'Shared Memory: Compare With Live');
    await answerFileDialog(page, 'Compare live.bin', snap);
    const diffFrame = await frameWith(page, '.ranges li', 'diff view');
    const items = await diffFrame.locator('.ranges li').allTextContents();
    assert.deepEqual(items, ['0x2000 +3', '0x2100 +1']);
    assert.match((await diffFrame.locator('.summary').textContent()) ?? '', /4 byte\(s\) differ in 2 range\(s\)/);
    // Side by side: the differing bytes are marked on both sides.
    await poll(diffFrame, async () => (await diffFrame.locator('.b.diff').count()) === 6, 'the marked bytes (3 on each side)');
    await diffFrame.locator('#next').click();
    await poll(diffFrame, async () => (await diffFrame.locator('.ranges li.selected').textContent()) === '0x2100 +1', 'the next change');
    await poll(diffFrame, async () => (await diffFrame.locator('.b.diff').count()) === 2, 'the marked byte of the second change');
    await page.screenshot({ path: path.join(OUT, 'diff-view.png') });
  });

  await t.test('Disconnect: the banner, an edit of the guest copy; Reconnect as Peer: the report, the edit discarded', async () => {
    await page.click('.tab:has-text("live.bin (hex)")');
    const frame = await frameFor(page, live);
    const segmentBefore = fs.readFileSync(live);
    await runCommand(page, 'Shared Memory: Disconnect');
    await poll(frame, async () => (await frame.evaluate(() => document.body.dataset.guestCopy)) === 'true', 'the guest copy');
    const banner = (await frame.locator('.banner').textContent()) ?? '';
    assert.match(banner, /Disconnected: disconnected by the user; showing the guest-side copy/);
    assert.match(banner, /Reconnect as Master writes it back; Reconnect as Peer throws it away/);
    // The disconnected guest edits its copy; the segment does not change.
    const before = fs.readFileSync(live)[0x30];
    await frame.click(`.hex .b[data-offset="${0x30}"]`);
    await frame.locator('.rows').press('e');
    await frame.locator('.rows').press('e');
    await poll(frame, async () => (await cellText(frame, 0x30)) === 'ee', 'the edited guest copy');
    // The page draws an edit before the host has it; the reconnect must come after the host's reply.
    await poll(frame, async () => /wrote 0xee at 0x30/.test((await frame.locator('.status').textContent()) ?? ''), 'the host to take the guest edit');
    assert.equal(fs.readFileSync(live)[0x30], before, 'an edit of the guest copy reached the segment');
    await page.screenshot({ path: path.join(OUT, 'disconnected-banner.png') });
    await runCommand(page, 'Shared Memory: Reconnect as Peer');
    const report = await frameWith(page, '#apply-peer', 'reconnect report');
    const counts = (await report.locator('.counts').textContent()) ?? '';
    const guestBytes = Number(/(\d+)byte\(s\) changed by the guest only/.exec(counts)?.[1]);
    assert.ok(guestBytes >= 1, counts);
    const rows = await report.locator('.ranges tr').allTextContents();
    assert.ok(rows.some((r) => /^0x30\d+changed by the guest onlykept \(written back\)discarded$/.test(r)), rows.join(' | '));
    await report.locator('#apply-peer').click();
    await poll(report, async () => new RegExp(`Applied role=peer: ${guestBytes} byte\\(s\\) of the guest's changes were discarded`).test((await report.locator('.result').textContent().catch(() => '')) ?? ''), 'the applied result');
    await page.screenshot({ path: path.join(OUT, 'reconnect-report.png') });
    // role=peer wrote nothing: the segment is as it was at the disconnect.
    assert.ok(fs.readFileSync(live).equals(segmentBefore), 'role=peer changed the segment');
    assert.equal(fs.readFileSync(live)[0x30], before);
    await page.click('.tab:has-text("live.bin (hex)")');
    const after = await frameFor(page, live);
    await poll(after, async () => (await after.evaluate(() => document.body.dataset.guestCopy)) === 'false', 'the live view again');
  });

  await t.test('no Content Security Policy violation happened', () => {
    assert.deepEqual(violations, []);
  });


});
