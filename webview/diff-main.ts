/**
 * The diff view: changed ranges listed with their count, side-by-side hex of both sides around the
 * selected range with the differing bytes marked, next/previous change, the per-region and
 * per-field summary, and a jump to the live session's hex view.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { Client } from '../shared/messenger';
import { toExtension } from './extension-link';
import { diffProtocol, type DiffModel } from './diff-protocol';
import { failure } from './failure';
import { el } from './dom';


const hex = (n: number): string => `0x${n.toString(16)}`;
const LIST_LIMIT = 2000;
const CONTEXT = 32;

let model: DiffModel;
let selected = 0;
const list = el('ol', 'ranges');
const pane = el('div', 'pane');
const status = el('span', 'status');

function render(m: DiffModel): void {
  model = m;
  const app = document.getElementById('app')!;
  const head = el('header');
  head.append(el('div', 'sides', `A: ${m.a.source} (${m.a.size} bytes)    B: ${m.b.source} (${m.b.size} bytes)`));
  const summary = m.changedBytes === 0 ? `identical over ${m.compared} bytes` : `${m.changedBytes} byte(s) differ in ${m.ranges.length}${m.rangesTruncated ? '+' : ''} range(s)`;
  head.append(el('div', 'summary', summary));
  if (m.tail) head.append(el('div', 'tail', `${m.tail.side.toUpperCase()} is ${m.tail.length} bytes longer: ${hex(m.tail.offset)}..${hex(m.tail.offset + m.tail.length)} only in ${m.tail.side.toUpperCase()}`));
  const nav = el('div', 'nav');
  const prev = el('vscode-button', undefined, 'Previous change');
  prev.id = 'prev';
  prev.setAttribute('secondary', '');
  const next = el('vscode-button', undefined, 'Next change');
  next.id = 'next';
  prev.addEventListener('click', () => select(selected - 1));
  next.addEventListener('click', () => select(selected + 1));
  nav.append(prev, next, status);
  for (const side of ['a', 'b'] as const) {
    if (!m[side].live) continue;
    const b = el('vscode-button', undefined, `Show in ${side.toUpperCase()}'s hex view`);
    b.setAttribute('secondary', '');
    b.addEventListener('click', () => {
      const r = m.ranges[selected];
      if (r) void host.request('reveal', { side, offset: r.offset, length: r.length }).catch((err: unknown) => say(failure(err, 'cannot show it').text));
    });
    nav.append(b);
  }
  head.append(nav);
  list.replaceChildren(
    ...m.ranges.slice(0, LIST_LIMIT).map((r, i) => {
      const li = el('li', undefined, `${hex(r.offset)} +${r.length}`);
      li.dataset.index = String(i);
      li.tabIndex = 0;
      li.addEventListener('click', () => select(i));
      return li;
    }),
  );
  if (m.ranges.length > LIST_LIMIT || m.rangesTruncated) list.append(el('li', 'more', 'more ranges not listed'));
  const side = el('aside', 'summaries');
  if (m.regions.length > 0) {
    side.append(el('h2', undefined, 'By region'));
    const t = el('table');
    for (const r of m.regions) {
      const tr = el('tr');
      tr.append(el('td', undefined, r.name), el('td', undefined, `${r.changedBytes} byte(s), ${r.ranges} range(s)`));
      t.append(tr);
    }
    side.append(t, el('h2', undefined, 'By field'));
    const f = el('table', 'fields');
    for (const x of m.fields) {
      const tr = el('tr');
      tr.append(el('td', undefined, x.field), el('td', 'old', x.old), el('td', undefined, '→'), el('td', 'new', x.new));
      f.append(tr);
    }
    side.append(f);
  }
  const body = el('div', 'body');
  const left = el('div', 'left');
  left.append(list, side);
  body.append(left, pane);
  app.replaceChildren(head, body);
  if (m.ranges.length > 0) select(0);
}

function say(text: string): void {
  status.textContent = text;
}

async function select(i: number): Promise<void> {
  if (!model || model.ranges.length === 0) return;
  selected = Math.max(0, Math.min(Math.min(model.ranges.length, LIST_LIMIT) - 1, i));
  for (const li of list.querySelectorAll('li')) li.classList.toggle('selected', li.dataset.index === String(selected));
  const r = model.ranges[selected]!;
  say(`change ${selected + 1} of ${model.ranges.length}: ${hex(r.offset)} +${r.length}`);
  const from = Math.max(0, Math.floor((r.offset - CONTEXT) / 16) * 16);
  const to = Math.min(Math.max(model.a.size, model.b.size), Math.ceil((r.offset + Math.min(r.length, 4096) + CONTEXT) / 16) * 16);
  try {
    const { a, b } = await host.request('pair', { offset: from, length: to - from });
    pane.replaceChildren(rows(from, a, b));
  } catch (err) {
    say(failure(err, 'cannot read the bytes').text);
  }
}

/** Side-by-side rows: offset, A's 16 bytes, B's 16 bytes; differing bytes marked on both. */
function rows(from: number, a: Uint8Array, b: Uint8Array): HTMLElement {
  const table = el('table', 'hex');
  const head = el('tr');
  head.append(el('th', undefined, 'offset'), el('th', undefined, 'A'), el('th', undefined, 'B'));
  table.append(head);
  const n = Math.max(a.length, b.length);
  for (let row = 0; row < n; row += 16) {
    const tr = el('tr');
    tr.append(el('td', 'off', (from + row).toString(16).padStart(8, '0')));
    for (const [mine, theirs] of [[a, b], [b, a]] as const) {
      const td = el('td', 'bytes');
      for (let i = row; i < Math.min(n, row + 16); i++) {
        const v = mine[i];
        const span = el('span', v === undefined ? 'b none' : v !== theirs[i] ? 'b diff' : 'b', v === undefined ? '  ' : v.toString(16).padStart(2, '0'));
        span.dataset.offset = String(from + i);
        td.append(span);
      }
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

const host = new Client(diffProtocol, toExtension, { model: render });
window.addEventListener('message', (event: MessageEvent<unknown>) => host.receive(event.data));
window.addEventListener('keydown', (e) => {
  if (e.key === 'n' || e.key === 'F8') void select(selected + 1);
  if (e.key === 'p' || (e.key === 'F8' && e.shiftKey)) void select(selected - 1);
});
host.notify('ready', {});
