import { prepare, themeColor, xOf } from './canvas';
import type { FieldHistory } from './timeline-protocol';

/** Rows of the transitions table drawn at once: a history may hold thousands of changes. */
const MAX_ROWS = 1000;
const PAD = 8;

/**
 * A field's (or a selection's) history. Numbers as a chart under the scrubber, on the same time
 * axis: the value as a step line, each change a point to click (the timeline jumps there), the
 * current time as a line. Text, enums, flags and raw bytes as a list of transitions. The table of
 * transitions is always there, under the chart: the chart's data for screen readers, and rows to
 * click as well.
 */
export class FieldChart {
  readonly element: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly body: HTMLTableSectionElement;
  private readonly note: HTMLElement;
  private readonly table: HTMLTableElement;
  private history: FieldHistory | undefined;
  private rows: HTMLTableRowElement[] = [];
  private current = -1;
  private now = 0;
  durationMs = 0;

  constructor(private readonly onJump: (timeMs: number) => void) {
    this.element = document.createElement('section');
    this.element.className = 'history';
    this.heading = document.createElement('h2');
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.note = document.createElement('p');
    this.note.className = 'note';
    const table = (this.table = document.createElement('table'));
    table.className = 'points';
    const head = document.createElement('thead');
    const hr = document.createElement('tr');
    for (const h of ['t (ms)', 'sample', 'old', 'new']) {
      const th = document.createElement('th');
      th.textContent = h;
      hr.append(th);
    }
    head.append(hr);
    this.body = document.createElement('tbody');
    table.append(head, this.body);
    this.element.append(this.heading, this.canvas, this.note, table);
    this.canvas.addEventListener('click', (e) => this.clicked(e.offsetX));
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  /** Shows a history (undefined: a hint instead). */
  show(history: FieldHistory | undefined, hint = ''): void {
    this.history = history;
    this.current = -1;
    this.heading.textContent = history ? `${history.name}: ${history.points.length} change(s)${history.truncated ? ' (the first ones)' : ''}` : '';
    this.canvas.hidden = history?.kind !== 'number';
    this.table.hidden = !history;
    this.note.textContent = history ? (history.points.length > MAX_ROWS ? `The first ${MAX_ROWS} changes are listed.` : '') : hint;
    this.rows = (history?.points ?? []).slice(0, MAX_ROWS).map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.t = String(p.timeMs);
      const jump = document.createElement('button');
      jump.className = 'jump';
      jump.textContent = p.timeMs.toFixed(3);
      jump.title = 'Go to this change';
      jump.addEventListener('click', () => this.onJump(p.timeMs));
      const cells = [String(p.sample), p.old, p.text].map((text) => {
        const td = document.createElement('td');
        td.textContent = text;
        return td;
      });
      const first = document.createElement('td');
      first.append(jump);
      tr.append(first, ...cells);
      return tr;
    });
    this.body.replaceChildren(...this.rows);
    this.setTime(this.now);
  }

  setTime(timeMs: number): void {
    this.now = timeMs;
    const points = this.history?.points ?? [];
    // The change shown now: the last at or before the time.
    let lo = 0;
    let hi = points.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid]!.timeMs <= timeMs) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found !== this.current) {
      this.rows[this.current]?.classList.remove('current');
      this.rows[found]?.classList.add('current');
      this.current = found;
    }
    this.draw();
  }

  /** The y (CSS pixels) of a value on the chart, and the value range drawn. */
  private scale(height: number): { y: (v: number) => number; min: number; max: number } {
    const h = this.history!;
    const values = [h.initial.value ?? 0, ...h.points.map((p) => p.value ?? 0)];
    let min = Math.min(...values);
    let max = Math.max(...values);
    if (min === max) [min, max] = [min - 1, max + 1];
    return { y: (v) => PAD + (1 - (v - min) / (max - min)) * (height - 2 * PAD), min, max };
  }

  draw(): void {
    const h = this.history;
    if (!h || h.kind !== 'number' || this.canvas.hidden) return;
    const c = prepare(this.canvas);
    if (!c) return;
    const { g, width, height } = c;
    const { y, min, max } = this.scale(height);
    this.canvas.dataset.min = String(min);
    this.canvas.dataset.max = String(max);
    const fg = themeColor(this.element, '--vscode-foreground', '#ccc');
    const line = themeColor(this.element, '--vscode-charts-blue', '#3794ff');
    const dot = themeColor(this.element, '--vscode-charts-orange', '#d18616');
    const x = (t: number): number => xOf(t, this.durationMs, width);
    // The value as a step line: it holds until the next change.
    g.strokeStyle = line;
    g.lineWidth = 1.5;
    g.beginPath();
    let value = h.initial.value ?? 0;
    g.moveTo(0, y(value));
    for (const p of h.points) {
      g.lineTo(x(p.timeMs), y(value));
      value = p.value ?? value;
      g.lineTo(x(p.timeMs), y(value));
    }
    g.lineTo(width, y(value));
    g.stroke();
    g.fillStyle = dot;
    h.points.forEach((p, i) => {
      g.beginPath();
      g.arc(x(p.timeMs), y(p.value ?? 0), i === this.current ? 5 : 3.5, 0, 2 * Math.PI);
      g.fill();
    });
    g.fillStyle = fg;
    g.globalAlpha = 0.7;
    g.font = '10px sans-serif';
    g.fillText(String(max), 2, 10);
    g.fillText(String(min), 2, height - 2);
    g.globalAlpha = 1;
    g.fillRect(Math.round(x(this.now)) - 0.5, 0, 1, height);
  }

  /** A click on the chart: the nearest change within 8 px of it. */
  private clicked(offsetX: number): void {
    const h = this.history;
    if (!h) return;
    const width = this.canvas.clientWidth;
    let best: { t: number; d: number } | undefined;
    for (const p of h.points) {
      const d = Math.abs(xOf(p.timeMs, this.durationMs, width) - offsetX);
      if (d <= 8 && (!best || d < best.d)) best = { t: p.timeMs, d };
    }
    if (best) this.onJump(best.t);
  }
}
