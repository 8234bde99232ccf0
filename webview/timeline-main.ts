/**
 * The timeline editor's page: what the recording holds, the scrubber with its change density,
 * play/pause at several speeds, steps by change (of everything, of the hex view's selection, of a
 * field), a field's history (webview/field-chart.ts) and Compare Two Moments. It moves the
 * recording's session; the hex view and the Regions view beside it follow. Talks to the extension
 * host only through timeline-protocol.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { Client } from '../shared/messenger';
import { toExtension } from './extension-link';
import { el } from './dom';
import { StatusLine } from './status-line';
import { FieldChart } from './field-chart';
import { Scrubber } from './timeline-scrubber';
import { timelineProtocol, type Position, type Scope, type TimelineModel } from './timeline-protocol';


type Select = HTMLElement & { value: string };
const SPEEDS = ['0.25', '1', '4', '16', '64'];

class App {
  private model!: TimelineModel;
  /** Where the scrubber is (the asked time); the state shown is the last change at or before it. */
  private now = 0;
  private position: Position = { timeMs: 0, sample: 0, changedBytes: 0, found: true };
  private scope: Scope = { kind: 'all' };
  private selection: { offset: number; length: number; field: string | null } | null = null;
  private inFlight = false;
  private pending: number | undefined;
  private playing = false;
  private lastFrame = 0;
  private markA: number | undefined;
  private readonly scrubber = new Scrubber({ onScrub: (t) => this.seek(t), onStep: (d) => void this.step(d), onPlayPause: () => this.togglePlay() });
  private readonly chart = new FieldChart((t) => {
    this.stopPlaying();
    this.seek(t);
  });
  private readonly time = el('span', 'time');
  private readonly status = new StatusLine();
  private readonly play = el('vscode-button', undefined, 'Play');
  private readonly speed = document.createElement('vscode-single-select') as Select;
  private readonly scopeSelect = document.createElement('vscode-single-select') as Select;
  private readonly compare = el('vscode-button', undefined, 'Compare A ↔ now');

  constructor(private readonly root: HTMLElement) {}

  init(model: TimelineModel): void {
    this.model = model;
    this.scrubber.setDuration(model.durationMs);
    this.chart.durationMs = model.durationMs;
    this.root.replaceChildren(this.summary(), this.controls(), this.scrubber.element, this.chart.element);
    this.fillScopes();
    this.showTime();
    this.scrubber.setTime(0);
    this.chart.show(undefined, 'Pick a field, or select bytes in the hex view and pick "Selected bytes", to see its history here.');
    void this.loadDensity();
    new ResizeObserver(() => void this.loadDensity()).observe(this.scrubber.element);
  }

  private summary(): HTMLElement {
    const m = this.model;
    const box = el('header', 'summary');
    const name = m.file.split('/').pop() ?? m.file;
    box.append(el('h1', undefined, name));
    const facts = [
      `${m.source} · 0x${m.range.offset.toString(16)}..0x${(m.range.offset + m.range.length).toString(16)} of ${m.segmentSize} bytes`,
      `${(m.durationMs / 1000).toFixed(2)} s from ${new Date(m.startTime).toISOString()}, ${m.samples} samples every ${m.intervalMs} ms (${m.changeSamples} with changes, ${m.changedBytes} bytes changed)`,
      m.ended ? `the recorder ${m.ended}` : 'the recorder did not end the file (killed, or still recording): shown up to its last whole record',
    ];
    for (const f of facts) box.append(el('p', undefined, f));
    const warnings = [
      `Changes between two samples collapse into one: this recording is as fine as its interval (${m.intervalMs} ms).`,
      ...(m.missedTicks > 0 ? [`${m.missedTicks} tick(s) were missed (the recorder was late): what changed meanwhile shows in the next sample.`] : []),
      ...(m.tail ? [`A torn tail was ignored: ${m.tail}.`] : []),
    ];
    for (const w of warnings) box.append(el('p', 'note', w));
    return box;
  }

  private controls(): HTMLElement {
    const bar = el('div', 'controls');
    const button = (text: string, id: string, title: string, run: () => void): HTMLElement => {
      const b = el('vscode-button', undefined, text);
      b.id = id;
      b.title = title;
      b.addEventListener('click', run);
      return b;
    };
    this.play.id = 'play';
    this.play.addEventListener('click', () => this.togglePlay());
    this.speed.id = 'speed';
    this.speed.setAttribute('aria-label', 'Speed');
    for (const s of SPEEDS) {
      const o = el('vscode-option', undefined, `${s}×`);
      o.setAttribute('value', s);
      if (s === '1') o.setAttribute('selected', '');
      this.speed.append(o);
    }
    this.scopeSelect.id = 'scope';
    this.scopeSelect.setAttribute('aria-label', 'Follow');
    this.scopeSelect.addEventListener('change', () => this.scopeChanged());
    this.compare.id = 'compare';
    this.compare.title = 'Compare the recording at moment A with the moment shown now (the diff view)';
    this.compare.setAttribute('disabled', '');
    this.compare.addEventListener('click', () => void this.compareMoments());
    bar.append(
      button('Start', 'start', 'The first state', () => this.seek(0)),
      button('◀ Change', 'previous', 'The previous change of what is followed (←)', () => void this.step('previous')),
      this.play,
      button('Change ▶', 'next', 'The next change of what is followed (→)', () => void this.step('next')),
      this.speed,
      el('span', 'label', 'Follow'),
      this.scopeSelect,
      button('Set A', 'mark-a', 'Remember the moment shown now as A, to compare with another', () => this.setMarkA()),
      this.compare,
      button('Hex View', 'show-hex', 'Show the hex view of the recording', () => void host.request('showHex', {}).catch((err: unknown) => this.status.fail(err, 'hex view'))),
      this.time,
      this.status.el,
    );
    return bar;
  }

  /** The scope list: every change, the selection (when there is one), the layout's fields. */
  private fillScopes(): void {
    const keep = this.scopeSelect.value;
    const options: [string, string][] = [['all', 'Every change']];
    if (this.selection) options.push(['selection', `Selected bytes (0x${this.selection.offset.toString(16)}+${this.selection.length}${this.selection.field ? `: ${this.selection.field}` : ''})`]);
    for (const f of this.model.fields) options.push([`field:${f.path}`, `${f.path}${f.kind === 'number' ? '' : ' (text)'}`]);
    // The kept choice is marked `selected` on its new option: vscode-single-select reads its options
    // again on slotchange, after this, and a value set before that would fall back to the first.
    const kept = options.some(([v]) => v === keep) ? keep : 'all';
    this.scopeSelect.replaceChildren(
      ...options.map(([value, label]) => {
        const o = el('vscode-option', undefined, label);
        o.setAttribute('value', value);
        if (value === kept) o.setAttribute('selected', '');
        return o;
      }),
    );
    this.scopeSelect.value = kept;
  }

  /** Follows a scope: its density on the scrubber, its history below, its changes for the steps. */
  followScope(value: string): void {
    this.scopeSelect.value = value;
    this.scopeChanged();
  }

  private scopeChanged(): void {
    const v = this.scopeSelect.value;
    this.scope = v === 'selection' ? { kind: 'selection' } : v.startsWith('field:') ? { kind: 'field', path: v.slice(6) } : { kind: 'all' };
    document.body.dataset.scope = v;
    void this.loadDensity();
    void this.loadHistory();
  }

  private async loadDensity(): Promise<void> {
    const buckets = this.scrubber.buckets;
    try {
      const all = await host.request('density', { buckets, scope: { kind: 'all' } });
      const scoped = this.scope.kind === 'all' ? undefined : await host.request('density', { buckets, scope: this.scope });
      this.scrubber.setDensity(all.counts, scoped?.counts);
    } catch (err) {
      this.status.fail(err, 'density');
    }
  }

  private async loadHistory(): Promise<void> {
    if (this.scope.kind === 'all') {
      this.chart.show(undefined, 'Pick a field, or select bytes in the hex view and pick "Selected bytes", to see its history here.');
      return;
    }
    try {
      const history = await host.request('history', { scope: this.scope });
      this.chart.show(history);
      document.body.dataset.historyPoints = String(history.points.length);
    } catch (err) {
      this.chart.show(undefined, '');
      this.status.fail(err, 'history');
    }
  }

  /** Moves to a time: the scrubber at once, the views when the host has moved the session (one seek in flight). */
  seek(timeMs: number): void {
    this.now = Math.max(0, Math.min(this.model.durationMs, timeMs));
    this.scrubber.setTime(this.now);
    this.chart.setTime(this.now);
    this.showTime();
    if (this.inFlight) {
      this.pending = this.now;
      return;
    }
    this.inFlight = true;
    document.body.dataset.seeking = 'true';
    const asked = this.now;
    host.request('seek', { timeMs: asked }).then(
      (p) => this.arrived(p),
      (err: unknown) => {
        this.inFlight = false;
        document.body.dataset.seeking = 'false';
        this.status.fail(err, 'seek');
      },
    );
  }

  private arrived(p: Position): void {
    this.inFlight = false;
    this.position = p;
    this.showTime();
    const next = this.pending;
    this.pending = undefined;
    if (next !== undefined) this.seek(next);
    else document.body.dataset.seeking = 'false';
  }

  /** The next or previous change of what is followed. */
  async step(direction: 'next' | 'previous'): Promise<void> {
    this.stopPlaying();
    const fromMs = direction === 'next' ? this.now : Math.min(this.now, this.position.timeMs);
    try {
      const p = await host.request('step', { direction, fromMs, scope: this.scope });
      if (!p.found) return this.status.say(direction === 'next' ? 'no later change' : 'no earlier change');
      this.position = p;
      this.now = p.timeMs;
      this.scrubber.setTime(this.now);
      this.chart.setTime(this.now);
      this.showTime();
      this.status.say('');
    } catch (err) {
      this.status.fail(err, 'step');
    }
  }

  /** Outside the page (a command) moved the timeline. */
  moved(p: Position): void {
    this.position = p;
    this.now = p.timeMs;
    this.scrubber.setTime(this.now);
    this.chart.setTime(this.now);
    this.showTime();
  }

  private togglePlay(): void {
    if (this.playing) return this.stopPlaying();
    if (this.now >= this.model.durationMs) this.seek(0);
    this.playing = true;
    this.play.textContent = 'Pause';
    this.lastFrame = performance.now();
    requestAnimationFrame((t) => this.frame(t));
  }

  private stopPlaying(): void {
    this.playing = false;
    this.play.textContent = 'Play';
  }

  /** A frame while playing: time runs at the chosen speed; seeks go out one at a time, the latest wins. */
  private frame(t: number): void {
    if (!this.playing) return;
    const speed = Number(this.speed.value) || 1;
    const next = this.now + (t - this.lastFrame) * speed;
    this.lastFrame = t;
    this.seek(next);
    if (next >= this.model.durationMs) return this.stopPlaying();
    requestAnimationFrame((f) => this.frame(f));
  }

  private setMarkA(): void {
    this.markA = this.now;
    this.scrubber.setMarkA(this.now);
    this.compare.removeAttribute('disabled');
    this.status.say(`A = ${this.now.toFixed(3)} ms`);
  }

  private async compareMoments(): Promise<void> {
    if (this.markA === undefined) return;
    this.status.say('comparing…');
    try {
      await host.request('compare', { aMs: this.markA, bMs: this.now });
      this.status.say('');
    } catch (err) {
      this.status.fail(err, 'compare');
    }
  }

  setSelection(s: { offset: number; length: number; field: string | null } | null): void {
    this.selection = s;
    if (!this.model) return;
    this.fillScopes();
    // Following the selection: its new bytes are followed now.
    if (this.scope.kind === 'selection') this.scopeChanged();
  }

  private showTime(): void {
    const p = this.position;
    this.time.textContent = `t = ${this.now.toFixed(3)} ms · state of ${p.sample === 0 ? 'the first sample' : `sample ${p.sample} (t = ${p.timeMs.toFixed(3)} ms), ${p.changedBytes} byte(s) changed`}`;
    document.body.dataset.time = String(this.now);
    document.body.dataset.stateTime = String(p.timeMs);
    document.body.dataset.sample = String(p.sample);
  }
}

const app = new App(document.getElementById('app')!);
let ready = false;
const host = new Client(
  timelineProtocol,
  toExtension,
  {
    model: (m) => {
      app.init(m);
      ready = true;
    },
    selection: (s) => app.setSelection(s),
    position: (p) => {
      if (ready) app.moved(p);
    },
  },
);
window.addEventListener('message', (event: MessageEvent<unknown>) => host.receive(event.data));
host.notify('ready', {});
