import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame } from 'playwright-core';
import { NEWEST_CODE_SERVER, frameWith, hexFrame, openWorkbench, quickOpen, runCommand, type Workbench } from '../helpers/vscode';
import { cellText, poll } from './frame-helpers';
import { ROOT, tempDir } from '../helpers/temp';
import { scripted } from '../helpers/recording';

/**
 * The timeline editor in a real browser (Debian's chromium) inside a real VS Code (code-server): a
 * recording of a ring buffer whose every sample is known, scrubbed, stepped, charted and compared,
 * as a user does it. Screenshots go to test-output/; the README's picture of the timeline is taken
 * here (test-output/timeline.png; `node scripts/screenshots.mjs` puts it in docs/images/).
 */
const OUT = path.join(ROOT, 'test-output');
const SAMPLES = 40;
const STEP_MS = 100;

/**
 * The demo's ring buffer (examples/ring.shmlayout.json), written sample by sample: each sample puts
 * "msg k" into slot k-1 with its seq; every second sample also moves header.head (so the head's
 * changes are every other sample) and header.seq.
 */
function writeRing(bytes: Buffer, k: number): void {
  if (k === 1) {
    bytes.write('RING', 0, 'latin1');
    bytes.writeUInt32LE(1, 4);
    bytes.writeUInt32LE(64, 24);
    bytes.writeUInt32LE(64, 28);
  }
  const slot = 0x100 + (k - 1) * 64;
  bytes.writeBigUInt64LE(BigInt(k), slot);
  bytes.write(`msg ${k}`.padEnd(12, '\0'), slot + 16, 'latin1');
  if (k % 2 === 0) {
    bytes.writeUInt32LE(k / 2, 8);
    bytes.writeBigUInt64LE(BigInt(k * 10), 16);
  }
}

/** Go to an offset in the hex view as a user does (the Go to field, Enter), until its row shows. */
async function goTo(hex: Frame, offset: number): Promise<void> {
  await hex.evaluate((o) => {
    const field = document.querySelector('#goto') as HTMLElement & { value: string };
    field.value = `0x${o.toString(16)}`;
    field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  }, offset);
  await poll(hex, async () => /^[0-9a-f]{2}$/.test((await cellText(hex, offset)) ?? ''), `the row of 0x${offset.toString(16)}`);
}

/** The text of `length` bytes in the hex view's ASCII column (after Go to their offset). */
async function asciiAt(hex: Frame, offset: number, length: number): Promise<string> {
  await goTo(hex, offset);
  return hex.evaluate(([o, n]) => Array.from({ length: n }, (_, i) => document.querySelector(`.ascii .c[data-offset="${o + i}"]`)?.textContent).join(''), [offset, length] as const);
}

/**
 * Waits until the hex view's marked cells (a step's bytes) are exactly those of `expected` that are
 * on screen (the marks of the step before may still show for a moment), then asserts it; returns
 * how many are marked.
 */
async function expectMarked(hex: Frame, expected: number[], what: string): Promise<number> {
  const read = (): Promise<{ marked: number[]; wanted: number[] }> =>
    hex.evaluate((all) => {
      const offsets = (selector: string): number[] => [...document.querySelectorAll(selector)].map((e) => Number((e as HTMLElement).dataset.offset));
      const shown = new Set(offsets('.hex .b'));
      return { marked: offsets('.hex .b.step'), wanted: all.filter((o) => shown.has(o)) };
    }, expected);
  let last = await read();
  await poll(hex, async () => JSON.stringify((last = await read()).marked) === JSON.stringify(last.wanted), what).catch(() => undefined);
  assert.deepEqual(last.marked, last.wanted, what);
  return last.marked.length;
}

/**
 * Picks what the timeline follows as a user does: a click on the Follow list, a click on the
 * option (found by its value's label in the list); then waits until the page follows it.
 */
async function follow(timeline: Frame, value: string): Promise<void> {
  const label = await timeline.locator(`#scope vscode-option[value="${value}"]`).textContent();
  assert.ok(label, `no option ${value}`);
  await timeline.locator('#scope').click();
  await timeline.locator('#scope').getByRole('option', { name: label.trim(), exact: true }).click();
  await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.scope)) === value, `following ${value}`);
  // The list shows what is followed.
  assert.equal(await timeline.evaluate(() => (document.querySelector('#scope') as HTMLElement & { value: string }).value), value);
}

/** The page-space point of a canvas pixel (CSS pixels from its top left). */
async function pagePoint(frame: Frame, selector: string, x: number, y: number): Promise<{ x: number; y: number }> {
  const box = await frame.locator(selector).boundingBox();
  assert.ok(box, `${selector} has no box`);
  return { x: box.x + x, y: box.y + y };
}

test('the timeline editor: scrub, step, the marked bytes, the chart, the heatmap, Compare Two Moments', async (t) => {
  fs.mkdirSync(OUT, { recursive: true });
  const { dir, cleanup } = tempDir('shmem-inspect-e2e-timeline-');
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(path.join(workspace, 'recordings'), { recursive: true });
  const file = path.join(workspace, 'recordings', 'ring.shmrec');
  const truth = scripted({ file, size: 65536, samples: SAMPLES, stepMs: STEP_MS, layout: fs.readFileSync(path.join(ROOT, 'examples', 'ring.shmlayout.json'), 'utf8'), write: writeRing });
  const live = path.join(dir, 'live.bin');
  fs.writeFileSync(live, Buffer.alloc(65536));
  const opened: Workbench[] = [];
  t.after(async () => {
    for (const w of opened) await w.close();
    cleanup();
  });
  // No chat beside the editors (VS Code 1.139 opens one): the timeline and its hex view get the room.
  const settings = { 'shmemInspector.autoAttach': [live], 'shmemInspector.tickInterval': 20, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.disableAIFeatures': true };
  const wb = await openWorkbench({ dir, version: NEWEST_CODE_SERVER, settings });
  opened.push(wb);
  const page = wb.page;
  // Room for the timeline and its hex view (with its data inspector) side by side.
  await page.setViewportSize({ width: 1800, height: 1000 });
  await runCommand(page, 'View: Close Primary Side Bar');
  if (await page.locator('.part.auxiliarybar').isVisible()) await runCommand(page, 'View: Hide Secondary Side Bar');
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|apply|execute)/i.test(m.text())) violations.push(m.text());
  });

  await t.test('a live view counts its changes into the heat strip beside the scrollbar', async () => {
    const frame = await hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === live, 120_000);
    await poll(frame, async () => (await cellText(frame, 0x20)) === '00', 'the first rows');
    const fd = fs.openSync(live, 'r+');
    for (let i = 0; i < 6; i++) {
      fs.writeSync(fd, Buffer.from([i + 1]), 0, 1, 0x40);
      await frame.waitForTimeout(80);
    }
    fs.closeSync(fd);
    // The first heat may come before the writes were counted: wait for the slice that changed.
    await poll(frame, async () => /0x0\.\.0x100: \d+/.test((await frame.evaluate(() => document.querySelector('canvas.heat-strip[data-of="live"]')?.getAttribute('aria-label'))) ?? ''), 'the live heat strip', 15_000);
    const pixels = await frame.evaluate(() => {
      const c = document.querySelector('canvas.heat-strip') as HTMLCanvasElement;
      const g = c.getContext('2d')!;
      // 0x40 is in the first of 256 slices of 64 KiB: the top rows; the middle of the strip saw nothing.
      return { top: g.getImageData(Math.floor(c.width / 2), 0, 1, 1).data[3], middle: g.getImageData(Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1).data[3], label: c.getAttribute('aria-label') };
    });
    assert.ok(pixels.top! > 0, 'the slice that changed is not drawn');
    assert.equal(pixels.middle, 0, 'a slice that never changed is drawn');
    assert.match(pixels.label ?? '', /0x0\.\.0x100: \d+/);
  });

  let timeline: Frame;
  let hex: Frame;
  await t.test('a .shmrec opens in the timeline editor, with the hex view of its first state beside it', async () => {
    await quickOpen(page, 'ring.shmrec');
    timeline = await frameWith(page, '.scrubber', 'timeline editor', async () => true, 60_000);
    hex = await hexFrame(page, async (f) => (await f.evaluate(() => document.body.dataset.source)) === file, 30_000);
    assert.match((await timeline.locator('.summary').textContent()) ?? '', /40 with changes/);
    await poll(hex, async () => (await cellText(hex, 0)) === '00', 'the first state (all zeros)');
  });

  const timeOf = (k: number): number => truth.times[k]!;
  const scrubTo = async (ms: number): Promise<void> => {
    const box = (await timeline.locator('.scrubber canvas').boundingBox())!;
    await page.mouse.click(box.x + (ms / truth.times[SAMPLES]!) * box.width, box.y + box.height / 2);
  };

  await t.test('scrub: a click on the scrubber shows the segment as of that time', async () => {
    // Between samples 20 and 21: the state of sample 20 (header.head = 10, "msg 20" in slot 19).
    await scrubTo(timeOf(20) + STEP_MS / 2);
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '20', 'sample 20');
    await poll(hex, async () => (await cellText(hex, 8)) === '0a', 'header.head = 10 in the hex view');
    assert.equal(await asciiAt(hex, 0x100 + 19 * 64 + 16, 6), 'msg 20');
    // Slot 20 is still empty at sample 20.
    assert.equal(await cellText(hex, 0x100 + 20 * 64), '00');
  });

  await t.test('step: the next change, and exactly its bytes marked in the hex view', async () => {
    await timeline.locator('.scrubber').focus();
    await page.keyboard.press('ArrowRight');
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '21', 'sample 21');
    // Sample 21 wrote slot 20's seq and text (odd: the head stays).
    const expected: number[] = [];
    for (let i = 0; i < 65536; i++) if (truth.states[21]![i] !== truth.states[20]![i]) expected.push(i);
    // The marked cells on screen are exactly the step's bytes (those on screen).
    await goTo(hex, expected[0]!);
    assert.ok((await expectMarked(hex, expected, 'the bytes marked at sample 21')) > 0);
    assert.equal(await asciiAt(hex, 0x100 + 20 * 64 + 16, 6), 'msg 21');
    await goTo(hex, 0);
    assert.equal(await cellText(hex, 8), '0a', 'the head changed on an odd sample');
    await page.screenshot({ path: path.join(OUT, 'timeline-step.png') });
  });

  await t.test('the chart of header.head: one point per change; a click on a point moves the scrubber there', async () => {
    await follow(timeline, 'field:header.head');
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.historyPoints)) === String(SAMPLES / 2), 'the 20 changes of header.head');
    const rows = await timeline.locator('table.points tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows[0], [timeOf(2).toFixed(3), '2', '0', '1']);
    assert.deepEqual(rows[9], [timeOf(20).toFixed(3), '20', '9', '10']);
    // The point of the 5th change (sample 10, value 5) is drawn where its time and value are.
    const at = await timeline.evaluate((ms) => {
      const c = document.querySelector('canvas.chart') as HTMLCanvasElement;
      const min = Number(c.dataset.min);
      const max = Number(c.dataset.max);
      const x = (ms.t / ms.duration) * c.clientWidth;
      const y = 8 + (1 - (5 - min) / (max - min)) * (c.clientHeight - 16);
      const ratio = c.width / c.clientWidth;
      const px = c.getContext('2d')!.getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data;
      const blank = c.getContext('2d')!.getImageData(Math.round(x * ratio), Math.round((c.clientHeight - 3) * ratio), 1, 1).data;
      return { x, y, px: [...px], blank: [...blank] };
    }, { t: timeOf(10), duration: truth.times[SAMPLES]! });
    assert.ok(at.px[3]! > 200, `no point drawn at sample 10: ${at.px}`);
    assert.ok(at.px[0]! > at.px[2]!, `the point is not in the accent (orange) colour: ${at.px}`);
    assert.equal(at.blank[3], 0, 'the chart is drawn where no value is');
    const p = await pagePoint(timeline, 'canvas.chart', at.x, at.y);
    await page.mouse.click(p.x, p.y);
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '10', 'the scrubber at sample 10');
    assert.equal(Number(await timeline.locator('.scrubber').getAttribute('aria-valuenow')), timeOf(10));
    await poll(hex, async () => (await cellText(hex, 8)) === '05', 'header.head = 5 in the hex view');
    assert.equal(await timeline.locator('table.points tr.current td').first().textContent(), timeOf(10).toFixed(3));
    // Steps now follow header.head: from sample 10 the next is 12, not 11.
    await timeline.locator('#next').click();
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '12', 'the next change of header.head (sample 12)');
    await timeline.locator('#previous').click();
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '10', 'the previous change of header.head (sample 10)');
    await page.screenshot({ path: path.join(OUT, 'timeline-chart.png') });
  });

  await t.test("the scrubber's density: a bar at each sample's time and none between; header.head's own bars at its changes only", async () => {
    // Sample k is at k * 100 ms; the agent counts it in bucket floor(t / (duration + 0.001) * buckets),
    // one bucket per CSS pixel column. The whole recording's bars stand in the upper part, the
    // followed field's (header.head: even samples) in the lower part.
    const check = (): Promise<string[]> =>
      timeline.evaluate(({ times, duration }) => {
        const c = document.querySelector('.scrubber canvas') as HTMLCanvasElement;
        const g = c.getContext('2d')!;
        const ratio = c.width / c.clientWidth;
        const buckets = Math.floor(c.clientWidth);
        const w = c.clientWidth / buckets;
        const split = Math.round(c.clientHeight * 0.55);
        const cursor = (Number(document.body.dataset.time) / duration) * c.clientWidth;
        const alpha = (x: number, y: number): number => g.getImageData(Math.floor(x * ratio), Math.floor(y * ratio), 1, 1).data[3]!;
        const columnOf = (t: number): number => (Math.min(buckets - 1, Math.floor((t / (duration + 0.001)) * buckets)) + 0.5) * w;
        const problems: string[] = [];
        for (let k = 1; k < times.length; k++) {
          const x = columnOf(times[k]!);
          if (Math.abs(x - cursor) < 4) continue;
          if (alpha(x, split - 3) === 0) problems.push(`no bar at sample ${k}`);
          if ((alpha(x, c.clientHeight - 3) > 0) !== (k % 2 === 0)) problems.push(`header.head's bar at sample ${k} is ${k % 2 === 0 ? 'missing' : 'drawn'}`);
          const between = columnOf(times[k]! + 50);
          if (k < times.length - 1 && Math.abs(between - cursor) >= 4 && (alpha(between, split - 3) > 0 || alpha(between, c.clientHeight - 3) > 0)) problems.push(`a bar between samples ${k} and ${k + 1}`);
        }
        return problems;
      }, { times: truth.times, duration: truth.times[SAMPLES]! });
    let problems: string[] = [];
    await poll(timeline, async () => (problems = await check()).length === 0, 'the density drawn', 5000).catch(() => undefined);
    assert.deepEqual(problems, []);
  });

  await t.test('a text field is a list of transitions', async () => {
    await follow(timeline, 'field:slots[3].text');
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.historyPoints)) === '1', 'the one change of slots[3].text');
    assert.equal(await timeline.locator('canvas.chart').isVisible(), false, 'text is charted');
    const row = await timeline.locator('table.points tbody tr').first().evaluate((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
    assert.deepEqual(row, [timeOf(4).toFixed(3), '4', '""', '"msg 4"']);
  });

  await t.test('step through the changes of the bytes selected in the hex view', async () => {
    // Slot 2's seq to slot 3's seq (0x180..0x1c7): written by samples 3 and 4 only.
    await goTo(hex, 0x180);
    await hex.locator('.hex .b[data-offset="384"]').click();
    await hex.locator('.hex .b[data-offset="455"]').click({ modifiers: ['Shift'] });
    // The view's own selection, and no browser text selection beside it.
    assert.deepEqual(await hex.evaluate(() => { const s = [...document.querySelectorAll('.hex .b.selected')].map((e) => Number((e as HTMLElement).dataset.offset)); return [s[0], s.length, String(window.getSelection())]; }), [384, 72, '']);
    // (Go to put the cursor there already: the list offered a selection of one byte before the Shift+click.)
    await poll(timeline, async () => /0x180\+72/.test((await timeline.locator('#scope vscode-option[value="selection"]').textContent().catch(() => '')) ?? ''), 'the 72 selected bytes offered to follow');
    await follow(timeline, 'selection');
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.historyPoints)) === '2', 'the two changes of the selection');
    const rows = await timeline.locator('table.points tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
    assert.deepEqual(rows, [[timeOf(3).toFixed(3), '3'], [timeOf(4).toFixed(3), '4']]);
    await timeline.locator('#start').click();
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '0', 'the first state');
    for (const k of [3, 4]) {
      await timeline.locator('#next').click();
      await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === String(k), `the selection's change at sample ${k}`);
      const expected: number[] = [];
      for (let i = 0; i < 65536; i++) if (truth.states[k]![i] !== truth.states[k - 1]![i]) expected.push(i);
      assert.ok((await expectMarked(hex, expected, `the bytes marked at sample ${k}`)) > 0);
    }
    // No later change of the selection: the timeline stays at sample 4 and says so.
    await timeline.locator('#next').click();
    await poll(timeline, async () => /no later change/.test((await timeline.locator('.status').textContent()) ?? ''), 'no later change');
    assert.equal(await timeline.evaluate(() => document.body.dataset.sample), '4');
    await timeline.locator('#previous').click();
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '3', "the selection's previous change (sample 3)");
    // A new selection (Go to puts the cursor on one byte) is followed now, and the list still says so.
    await goTo(hex, 0);
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.historyPoints)) === '1', 'the history of the byte at 0x0 (one change: sample 1)');
    assert.match((await timeline.locator('#scope vscode-option[value="selection"]').textContent()) ?? '', /0x0\+1/);
    assert.equal(await timeline.evaluate(() => (document.querySelector('#scope') as HTMLElement & { value: string }).value), 'selection');
  });

  await t.test("the recording's heat strip: where the segment changed over the whole recording", async () => {
    const strip = await hex.evaluate(() => {
      const c = document.querySelector('canvas.heat-strip') as HTMLCanvasElement;
      const g = c.getContext('2d')!;
      const alphaAt = (offset: number): number => g.getImageData(Math.floor(c.width / 2), Math.floor((offset / 65536) * c.height), 1, 1).data[3]!;
      return { of: c.dataset.of, label: c.getAttribute('aria-label'), header: alphaAt(8), slots: alphaAt(0x100 + 20 * 64), far: alphaAt(0xc000) };
    });
    assert.equal(strip.of, 'recording');
    // The header changed in sample 1 and every even one (21 samples); each 256-byte slice of slots in 4.
    assert.match(strip.label ?? '', /: 0x0\.\.0x100: 21; /);
    assert.ok(strip.header > strip.slots, `the busier header is not drawn warmer: ${JSON.stringify(strip)}`);
    assert.ok(strip.header > 0 && strip.slots > 0, `the busy slices are not drawn: ${JSON.stringify(strip)}`);
    assert.equal(strip.far, 0, 'a slice that never changed is drawn');
  });

  await t.test('play runs the recording forward; Compare Two Moments opens the diff between A and now', async () => {
    await follow(timeline, 'field:header.head');
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.historyPoints)) === String(SAMPLES / 2), 'the history again');
    await scrubTo(timeOf(10) + STEP_MS / 2);
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === '10', 'sample 10');
    await timeline.locator('#mark-a').click();
    await timeline.locator('#play').click();
    await poll(timeline, async () => Number(await timeline.evaluate(() => document.body.dataset.sample)) >= 14, 'playing past sample 14', 15_000);
    await timeline.locator('#play').click();
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.seeking)) === 'false', 'the last seek answered');
    const played = Number(await timeline.evaluate(() => document.body.dataset.sample));
    assert.ok(played >= 14 && played <= SAMPLES, `played to sample ${played}`);
    // Back to the change of header.head before it: an even sample, its head and seq marked in the hex view.
    await timeline.locator('#previous').click();
    const at = played % 2 === 0 ? played - 2 : played - 1;
    await poll(timeline, async () => (await timeline.evaluate(() => document.body.dataset.sample)) === String(at), `the previous change of header.head (sample ${at})`);
    const bMs = Number(await timeline.evaluate(() => document.body.dataset.time));
    assert.equal(bMs, timeOf(at));
    await poll(hex, async () => (await cellText(hex, 8)) === (at >> 1).toString(16).padStart(2, '0'), `header.head of sample ${at}`);
    await poll(hex, async () => (await hex.evaluate(() => document.querySelector('.hex .b[data-offset="8"]')?.classList.contains('step'))) === true, 'header.head marked as the step');
    // The README's picture of the timeline (scripts/screenshots.mjs copies it to docs/images/).
    await page.screenshot({ path: path.join(OUT, 'timeline.png') });
    await timeline.locator('#compare').click();
    const diff = await frameWith(page, '.ranges li', 'diff view', async () => true, 30_000);
    const expected: string[] = [];
    const [a, b] = [truth.states[10]!, truth.states[at]!];
    for (let i = 0; i < a.length; ) {
      if (a[i] === b[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j < a.length && a[j] !== b[j]) j++;
      expected.push(`0x${i.toString(16)} +${j - i}`);
      i = j;
    }
    assert.deepEqual(await diff.locator('.ranges li').allTextContents(), expected);
    // The diff's tab names the two moments: A (where the scrubber was) and the time shown at Compare.
    const names = `ring at ${(timeOf(10) + STEP_MS / 2).toFixed(3)} ms.shmsnap ↔ ring at ${bMs.toFixed(3)} ms.shmsnap`;
    assert.equal(await page.locator(`.tab.active[aria-label^="${names}"]`).count(), 1, `no active tab named ${names}`);
    await page.screenshot({ path: path.join(OUT, 'timeline-compare.png') });
  });

  await t.test('no Content Security Policy violation happened', () => {
    assert.deepEqual(violations, []);
  });
});
