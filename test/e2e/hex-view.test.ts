import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { NEWEST_CODE_SERVER, frameWith, hexFrame, openWorkbench, runCommand, type Workbench } from '../helpers/vscode';
import { cellText, poll } from './frame-helpers';
import { ROOT, eventually, tempDir } from '../helpers/temp';
import { writeSnapshot } from '../../core/snapshot/writer';
import { MemorySource } from '../../core/sources/memory-source';

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

async function cellChanged(frame: Frame, offset: number): Promise<boolean> {
  return frame.evaluate((o) => document.querySelector(`.hex .b[data-offset="${o}"]`)?.classList.contains('changed') ?? false, offset);
}

async function frameFor(page: Page, source: string): Promise<Frame> {
  return hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === source);
}

/**
 * Shows a tab and returns its hex view's frame once it shows `source`. A view opened at start-up
 * may take the front again a moment after its tab appeared (the editor opens after the tab), and
 * a restored tab's view is built only when shown: click again until it is the one shown.
 */
async function showTab(page: Page, tab: ReturnType<Page['locator']>, source: string | ((source: string) => boolean), tries = 6): Promise<Frame> {
  const wanted = typeof source === 'string' ? (s: string) => s === source : source;
  for (let attempt = 1; ; attempt++) {
    await tab.click();
    try {
      return await hexFrame(page, async (f) => wanted((await f.evaluate(() => document.body.dataset.source)) ?? '') && (await f.isVisible('.rows')), 10_000);
    } catch (err) {
      if (attempt >= tries) {
        const sources = await Promise.all(page.frames().map((f) => f.evaluate(() => `${document.body?.dataset.source}:${document.querySelectorAll('.row').length}`).catch(() => '?')));
        throw new Error(`${(err as Error).message} (${await tab.textContent()}); frames: ${sources.join(' ')}`, { cause: err });
      }
      console.log(`# the view of ${await tab.textContent()} was not shown after try ${attempt}; again`);
    }
  }
}

/**
 * Waits for the notification whose text matches `what`, and checks that it shows `text` as text and
 * holds no link that runs a command (VS Code renders [label](command:...) in a notification as one).
 */
async function assertInertNotification(page: Page, what: RegExp, text: string): Promise<void> {
  const toast = page.locator('.notifications-toasts .notification-list-item').filter({ hasText: what });
  await toast.first().waitFor({ timeout: 30_000 }).catch(async (err) => {
    await page.screenshot({ path: path.join(OUT, 'notification-failure.png') });
    throw err;
  });
  const seen = await toast.first().evaluate((el) => ({
    text: (el.querySelector('.notification-list-item-message')?.textContent ?? '').replace(/\u2060/g, ''),
    links: [...el.querySelectorAll('a, [href], [data-href]')].map((a) => `${a.getAttribute('href') ?? ''} ${a.getAttribute('data-href') ?? ''} ${a.getAttribute('title') ?? ''}`),
  }));
  assert.ok(seen.text.includes(text), `the notification does not show the name as text: ${seen.text}`);
  assert.deepEqual(seen.links.filter((l) => /command:/i.test(l)), [], `a command link in the notification: ${seen.text}`);
  await page.screenshot({ path: path.join(OUT, 'inert-notification.png') });
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
  // Two sources with the same file name in different folders: two sessions, two views.
  const twins = ['a', 'b'].map((d) => path.join(dir, d, 'ivshmem'));
  for (const [i, twin] of twins.entries()) {
    fs.mkdirSync(path.dirname(twin));
    // As large as live.bin: the default layout fits (no error notification in the way).
    fs.writeFileSync(twin, Buffer.alloc(65536, 0xa0 + i));
  }
  const opened: Workbench[] = [];
  t.after(async () => {
    for (const w of opened) await w.close();
    cleanup();
  });
  const wb = await openWorkbench({
    dir,
    version: NEWEST_CODE_SERVER,
    // live.bin last: its view is the one in front at start-up.
    settings: { 'shmemInspector.autoAttach': [...twins, big, live], 'shmemInspector.tickInterval': 50, 'shmemInspector.defaultLayout': path.join(ROOT, 'examples', 'ring.shmlayout.json') },
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
    // Typing in a read-only session changes nothing. Keys are handled in order: once the arrow
    // after the digits has moved the cursor, the digits were handled, and an edit would already
    // show in the page (it draws an edit before the host has it) and be on its way to the file.
    await frame.click(`.hex .b[data-offset="${0x40}"]`);
    await frame.locator('.rows').press('7');
    await frame.locator('.rows').press('7');
    await frame.locator('.rows').press('ArrowRight');
    await poll(frame, async () => (await frame.evaluate(() => document.querySelector('.hex .b.cursor')?.getAttribute('data-offset'))) === String(0x41), 'the cursor to move past the typed digits');
    assert.equal(await cellText(frame, 0x40), '00', 'the page took an edit in a read-only session');
    assert.doesNotMatch((await frame.locator('.status').textContent()) ?? '', /wrote/);
    assert.equal(fs.readFileSync(live)[0x40], 0);
    // Make it read-write the way a user does: the command, then the confirmation.
    await runCommand(page, 'Shared Memory: Make Session Read-Write');
    await page.click('.monaco-dialog-box .monaco-button:has-text("Make Read-Write")');
    await poll(frame, async () => (await frame.evaluate(() => document.body.dataset.writable)) === 'true', 'the read-write session');
    await frame.click(`.hex .b[data-offset="${0x40}"]`);
    await frame.locator('.rows').press('a');
    await frame.locator('.rows').press('5');
    await eventually(() => fs.readFileSync(live)[0x40] === 0xa5, 5000, 'the byte in the file');
    // The page draws the edit, then redraws its rows when the file's new bytes come back (a cell
    // is briefly not there under load): what it shows once drawn is the edited byte.
    await poll(frame, async () => (await cellText(frame, 0x40)) === 'a5', 'the edited byte shown as a5');
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
    // Of the two views named "ivshmem (hex)", the user closes b's: after the reload a's comes back,
    // and b's is opened again by the start-up attach (a tab's label cannot tell them apart).
    const twinTabs = page.locator('.tab:has-text("ivshmem (hex)")');
    assert.equal(await twinTabs.count(), 2);
    // a's view is seen once, so that it has a place to come back to (a view never shown has none:
    // VS Code builds a hidden tab's page only when it is shown).
    await showTab(page, twinTabs.nth(0), twins[0]!);
    await showTab(page, twinTabs.nth(1), twins[1]!);
    // A middle click closes a tab (the palette offers "Close All Editor Groups" before "Close
    // Editor", and the tab's close button shows only on hover in VS Code 1.139).
    await twinTabs.nth(1).click({ button: 'middle' });
    await eventually(async () => (await twinTabs.count()) === 1, 10_000, "b's view to close");
    // Reload the way VS Code does it (the command saves the workbench state first; a bare browser
    // reload may cut that short, and then VS Code has no views to restore).
    // Mark this page, then wait for a workbench in a page without the mark: a new one (however long
    // VS Code takes to save its state before it navigates).
    await page.evaluate(() => ((window as unknown as { beforeReload?: boolean }).beforeReload = true));
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForFunction(() => !(window as unknown as { beforeReload?: boolean }).beforeReload && document.querySelector('.monaco-workbench') !== null, undefined, { timeout: 60_000, polling: 200 });
    // The start-up attach opens (and focuses) b's view, the one closed above: wait for it, then
    // show live.bin's tab (VS Code restores a hidden tab's webview only when it is shown).
    await eventually(async () => (await twinTabs.count()) === 2, 60_000, 'two "ivshmem (hex)" views after the reload').catch(async (err) => {
      await page.screenshot({ path: path.join(OUT, 'restore-failure.png') });
      throw new Error(`${(err as Error).message}; tabs: ${(await page.locator('.tab').allTextContents()).join(' | ')}`);
    });
    const liveTab = page.locator('.tab:has-text("live.bin (hex)")');
    await liveTab.waitFor({ timeout: 60_000 });
    const frame = await showTab(page, liveTab, live).catch(async (err) => {
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
    // Both twins have their view again, each of its own source.
    const shown: string[] = [];
    for (let i = 0; i < 2; i++) {
      const f = await showTab(page, twinTabs.nth(i), (source) => twins.includes(source));
      shown.push((await f.evaluate(() => document.body.dataset.source)) ?? '');
    }
    assert.deepEqual(shown.sort(), [...twins].sort());
  });

  await t.test('a file name holding a command: link is shown as text in the error notification, never as a link', async () => {
    const hostile = path.join(dir, '[x](command:workbench.action.quit)');
    fs.writeFileSync(hostile, ''); // empty: the attach fails, and the error names the file
    await runCommand(page, 'Shared Memory: Attach Backing File');
    await answerFileDialog(page, 'Attach Backing File', hostile);
    await assertInertNotification(page, /is empty: there is nothing to map/, '[x](command:workbench.action.quit)');
    // Out of the way of the next steps.
    await runCommand(page, 'Notifications: Clear All Notifications');
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
    await poll(frame, async () => (await frame.evaluate(() => [...document.querySelectorAll('.hex .b.selected')].map((e) => (e as HTMLElement).dataset.offset).join(','))) === '8,9,10,11', 'the field\'s bytes selected').catch(async (err) => {
      await page.screenshot({ path: path.join(OUT, 'regions-failure.png') });
      throw err;
    });
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
    // One byte, to a new value: the report must count exactly one byte changed by the guest.
    assert.notEqual(before, 0xee);
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
    // Exactly what happened: one byte by the guest, nothing in the segment, no conflict; one row.
    const counts = await report.locator('.counts tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(counts, [
      ['1', 'byte(s) changed by the guest only'],
      ['0', 'byte(s) changed in the segment only'],
      ['0', 'byte(s) changed on both sides, the same'],
      ['0', 'byte(s) changed on both sides differently'],
    ]);
    const rows = await report.locator('.ranges tr').evaluateAll((trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows, [['0x30', '1', 'changed by the guest only', 'kept (written back)', 'discarded']]);
    await report.locator('#apply-peer').click();
    await poll(report, async () => /Applied role=peer: 1 byte\(s\) of the guest's changes were discarded/.test((await report.locator('.result').textContent().catch(() => '')) ?? ''), 'the applied result');
    await page.screenshot({ path: path.join(OUT, 'reconnect-report.png') });
    // role=peer wrote nothing: the segment is as it was at the disconnect.
    assert.ok(fs.readFileSync(live).equals(segmentBefore), 'role=peer changed the segment');
    assert.equal(fs.readFileSync(live)[0x30], before);
    await page.click('.tab:has-text("live.bin (hex)")');
    const after = await frameFor(page, live);
    await poll(after, async () => (await after.evaluate(() => document.body.dataset.guestCopy)) === 'false', 'the live view again');
  });

  await t.test('a snapshot whose data fails its checksum opens with a warning naming the bad ranges; its bytes are not shown', async () => {
    const damaged = path.join(dir, 'damaged.shmsnap');
    fs.copyFileSync(path.join(dir, 'e2e.shmsnap'), damaged);
    const fd = fs.openSync(damaged, 'r+');
    const head = Buffer.alloc(16);
    fs.readSync(fd, head, 0, 16, 0);
    const at = head.readUInt32LE(12) + 0x100;
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.from([byte[0]! ^ 1]), 0, 1, at);
    fs.closeSync(fd);
    await runCommand(page, 'Shared Memory: Open Snapshot…');
    await answerFileDialog(page, 'Open Snapshot', damaged);
    const toast = page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'damaged.shmsnap is damaged' });
    await toast.waitFor({ timeout: 20_000 });
    assert.equal(await toast.textContent(), 'damaged.shmsnap is damaged: the data at 0x0..0x10000 does not match its checksum: the bytes there are not shown.');
    const frame = await frameFor(page, damaged);
    await poll(frame, async () => /cannot read 0x0: .*is damaged: the data at 0x0\.\.0x10000 does not match its checksum/.test((await frame.locator('.status').textContent()) ?? ''), 'the hex view saying why it shows no bytes');
    assert.equal(await cellText(frame, 0x100), '··', 'a byte of the damaged block was shown');
    await page.screenshot({ path: path.join(OUT, 'damaged-snapshot.png') });
  });

  await t.test('no Content Security Policy violation happened', () => {
    assert.deepEqual(violations, []);
  });


});

test('in Restricted Mode, a snapshot planted in the folder whose embedded layout holds a command: link: the error shows it as text', async (t) => {
  fs.mkdirSync(OUT, { recursive: true });
  const { dir, cleanup } = tempDir('shmem-inspect-e2e-untrusted-');
  const opened: Workbench[] = [];
  t.after(async () => {
    for (const w of opened) await w.close();
    cleanup();
  });
  // What a cloned repository could carry: a valid snapshot whose layout has an unknown property,
  // which the layout compiler quotes verbatim in its error.
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  const planted = path.join(workspace, 'planted.shmsnap');
  const layout = JSON.stringify({ regions: [{ name: 'r', offset: 0, type: 'u8', '[x](command:workbench.action.quit)': 1 }] });
  await writeSnapshot(new MemorySource(new Uint8Array(4096), '/dev/shm/planted', false), { target: planted, layout, force: false });
  const wb = await openWorkbench({ dir, untrusted: true });
  opened.push(wb);
  await runCommand(wb.page, 'Shared Memory: Open Snapshot');
  await answerFileDialog(wb.page, 'Open Snapshot', planted);
  await assertInertNotification(wb.page, /unknown property/, '[x](command:workbench.action.quit)');
});
