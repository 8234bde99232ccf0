/**
 * The hex view webview: toolbar (go to, search), banner, grid and data inspector. Runs in the
 * browser; talks to the extension host only through the messages of protocol.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { Client } from '../shared/messenger';
import { toExtension, vscode } from './extension-link';
import { HexView, formatOffset } from './hex-view';
import { HeatStripView } from './heat-strip';
import { parseOffsetInput, parsePattern } from './input';
import { inspect } from './inspector';
import { MAX_READ, hexProtocol, type Band, type Bytes, type HeatStrip, type SessionView, type ViewSettings } from './hex-protocol';
import { PageCache } from './page-cache';
import { stateSentence } from './session-state';
import { StatusLine } from './status-line';
import { el } from './dom';


/** A vscode-elements control, typed loosely: the parts we use. */
type Field = HTMLElement & { value: string };

class App {
  private session!: SessionView;
  private cache!: PageCache;
  private view!: HexView;
  private strip!: HeatStripView;
  private readonly banner = el('div', 'banner');
  private readonly status = new StatusLine();
  private readonly inspectorBody = el('tbody');
  private search: AbortController | undefined;
  private lastViewport = '';
  private wasGuestCopy = false;

  constructor(private readonly root: HTMLElement) {}

  init(session: SessionView, settings: ViewSettings, top: number, cursor: number, first?: Bytes): void {
    this.session = session;
    this.cache = new PageCache(session.size);
    if (first) this.cache.store(first.offset, first.bytes);
    this.strip = new HeatStripView(() => this.session.size, (offset) => this.view.goto(offset));
    this.view = new HexView(this.cache, settings.bytesPerRow, {
      onViewport: (o, l, c, a) => this.viewport(o, l, c, a),
      onMissing: (ranges) => this.fetch(ranges),
      onEdit: (at, value) => void this.edit(at, value),
      onCursor: () => this.showInspector(),
      onHover: (offset, show) => {
        host.request('describe', { offset }).then(({ label }) => label && show(label), () => undefined);
      },
    }, this.strip.element);
    this.view.fadeMs = settings.highlightFadeMs;
    this.root.replaceChildren(this.toolbar(), this.banner, this.main());
    this.updateSession(session);
    this.view.layout();
    this.view.scrollToRow(Math.floor(top / settings.bytesPerRow));
    this.view.goto(cursor);
    this.showInspector();
  }

  private toolbar(): HTMLElement {
    const bar = el('div', 'toolbar');
    const gotoField = document.createElement('vscode-textfield') as Field;
    gotoField.setAttribute('placeholder', 'Go to offset (0x…)');
    gotoField.setAttribute('aria-label', 'Go to offset');
    gotoField.id = 'goto';
    const gotoButton = el('vscode-button', undefined, 'Go');
    const go = (): void => {
      const r = parseOffsetInput(gotoField.value, this.session.size);
      if ('error' in r) this.status.say(r.error, true);
      else {
        this.view.goto(r.offset);
        this.status.say(`at 0x${r.offset.toString(16)}`);
      }
    };
    gotoButton.addEventListener('click', go);
    gotoField.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && go());

    const findField = document.createElement('vscode-textfield') as Field;
    findField.setAttribute('placeholder', 'Find (hex bytes or text)');
    findField.setAttribute('aria-label', 'Find');
    findField.id = 'find';
    const mode = document.createElement('vscode-single-select') as Field;
    mode.setAttribute('aria-label', 'Search as');
    for (const [value, label] of [['hex', 'Hex'], ['text', 'Text']]) {
      const o = el('vscode-option', undefined, label);
      o.setAttribute('value', value!);
      mode.append(o);
    }
    mode.id = 'find-mode';
    const findButton = el('vscode-button', undefined, 'Find Next');
    findButton.id = 'find-next';
    const cancel = el('vscode-button', undefined, 'Cancel');
    cancel.setAttribute('secondary', '');
    cancel.hidden = true;
    const ring = document.createElement('vscode-progress-ring');
    ring.hidden = true;
    const find = async (): Promise<void> => {
      const parsed = parsePattern(findField.value, mode.value === 'text' ? 'text' : 'hex');
      if ('error' in parsed) return this.status.say(parsed.error, true);
      const from = Math.min(this.view.cursor + 1, this.session.size - 1);
      cancel.hidden = false;
      ring.hidden = false;
      this.status.say('searching…');
      const search = new AbortController();
      this.search = search;
      try {
        const { offset } = await host.request('search', { pattern: parsed.bytes, from }, { signal: search.signal, onProgress: (d, t) => this.status.say(`searching… ${Math.floor((d / t) * 100)}%`) });
        if (offset === null) this.status.say('not found', true);
        else {
          this.view.goto(offset, parsed.bytes.length);
          this.status.say(`found at 0x${offset.toString(16)}`);
        }
      } catch (err) {
        this.status.fail(err, 'search');
      } finally {
        if (this.search === search) this.search = undefined;
        cancel.hidden = true;
        ring.hidden = true;
      }
    };
    findButton.addEventListener('click', () => void find());
    findField.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && void find());
    cancel.addEventListener('click', () => this.search?.abort());
    bar.append(gotoField, gotoButton, el('span', 'sep'), findField, mode, findButton, cancel, ring, this.status.el);
    return bar;
  }

  private main(): HTMLElement {
    const main = el('div', 'main');
    const inspector = el('aside', 'inspector');
    inspector.setAttribute('aria-label', 'Data inspector');
    const table = el('table');
    const head = el('thead');
    const hr = el('tr');
    for (const h of ['type', 'little endian', 'big endian']) hr.append(el('th', undefined, h));
    head.append(hr);
    table.append(head, this.inspectorBody);
    inspector.append(el('h2', undefined, 'Data inspector'), table);
    main.append(this.view.element, inspector);
    return main;
  }

  updateSession(session: SessionView): void {
    this.session = session;
    const state = session.state;
    const guestCopy = state.name === 'guest';
    this.view.writable = session.writable && state.name !== 'lost';
    const note = stateSentence(state);
    this.banner.textContent = note;
    this.banner.hidden = note === '';
    this.banner.className = `banner ${state.name === 'lost' || guestCopy ? 'disconnected' : state.name}`;
    document.body.dataset.state = state.name;
    document.body.dataset.source = session.source;
    document.body.dataset.writable = String(session.writable);
    document.body.dataset.guestCopy = String(guestCopy);
    if (guestCopy !== this.wasGuestCopy) {
      // Entering or leaving the guest-side copy: what the view holds belongs to the other side.
      this.wasGuestCopy = guestCopy;
      this.cache.clear();
    }
    this.view.draw();
  }

  settings(s: ViewSettings): void {
    this.view.fadeMs = s.highlightFadeMs;
    if (s.bytesPerRow !== this.view.bytesPerRow) {
      const top = this.view.topOffset;
      this.view.bytesPerRow = s.bytesPerRow;
      this.view.layout();
      this.view.scrollToRow(Math.floor(top / s.bytesPerRow));
    }
  }

  changes(changes: Bytes[]): void {
    const now = performance.now();
    for (const c of changes) this.cache.apply(c.offset, c.bytes, now);
    this.view.draw();
    this.showInspector();
  }

  fresh(offset: number, bytes: Uint8Array): void {
    this.cache.refresh(offset, bytes);
    this.view.draw();
    this.showInspector();
  }

  goto(offset: number, length = 1): void {
    this.view.goto(offset, length);
  }

  layout(regions: Band[]): void {
    this.view.bands = [...regions].sort((a, b) => a.offset - b.offset);
    this.view.draw();
  }

  marks(ranges: { offset: number; length: number }[]): void {
    this.view.marks = ranges;
    document.body.dataset.marks = ranges.map((r) => `${r.offset}+${r.length}`).join(',');
    this.view.draw();
  }

  heat(heat: HeatStrip): void {
    this.strip.set(heat);
  }

  private viewport(offset: number, length: number, cursor: number, anchor: number): void {
    const key = `${offset}:${length}:${cursor}:${anchor}`;
    if (key === this.lastViewport) return;
    this.lastViewport = key;
    vscode.setState({ source: this.session.source, offset });
    host.notify('viewport', { offset, length, cursor, anchor });
  }

  private fetch(ranges: { offset: number; length: number }[]): void {
    for (const range of ranges) {
      const r = { offset: range.offset, length: Math.min(range.length, MAX_READ) };
      this.cache.markInFlight(r, true);
      host.request('read', r).then(
        ({ bytes }) => {
          this.cache.markInFlight(r, false);
          this.cache.store(r.offset, bytes);
          this.view.draw();
          this.showInspector();
        },
        (err: unknown) => {
          this.cache.markInFlight(r, false);
          this.status.fail(err, `cannot read 0x${r.offset.toString(16)}`);
        },
      );
    }
  }

  private async edit(at: number, value: number): Promise<void> {
    const before = this.cache.byte(at);
    this.cache.apply(at, new Uint8Array([value]), performance.now());
    this.view.draw();
    try {
      await host.request('write', { offset: at, bytes: new Uint8Array([value]) });
      this.status.say(`wrote 0x${value.toString(16).padStart(2, '0')} at 0x${at.toString(16)}`);
    } catch (err) {
      if (before !== undefined) this.cache.apply(at, new Uint8Array([before]), performance.now());
      this.view.draw();
      this.status.fail(err, 'not written');
    }
  }

  private showInspector(): void {
    const at = this.view.cursor;
    const bytes = this.cache.bytes(at, 8);
    const rows = bytes ? inspect(bytes) : [];
    const caption = el('tr');
    const cell = el('td', 'at', `offset 0x${formatOffset(at)}`);
    cell.colSpan = 3;
    caption.append(cell);
    this.inspectorBody.replaceChildren(
      caption,
      ...rows.map((r) => {
        const tr = el('tr');
        tr.append(el('td', 'type', r.type), el('td', undefined, r.little), el('td', undefined, r.big));
        return tr;
      }),
    );
  }

}

const app = new App(document.getElementById('app')!);
let ready = false;
const host = new Client(
  hexProtocol,
  toExtension,
  {
    init: (m) => {
      app.init(m.session, m.settings, m.top, m.cursor, m.first);
      ready = true;
      if (m.select) app.goto(m.select.offset, m.select.length);
    },
    // Until init, there is no view to update: what init brings is current.
    session: (s) => {
      if (ready) app.updateSession(s);
    },
    settings: (s) => {
      if (ready) app.settings(s);
    },
    changes: (m) => {
      if (ready) app.changes(m.changes);
    },
    fresh: (m) => {
      if (ready) app.fresh(m.offset, m.bytes);
    },
    goto: (m) => {
      if (ready) app.goto(m.offset, m.length);
    },
    layout: (m) => {
      if (ready) app.layout(m.regions);
    },
    marks: (m) => {
      if (ready) app.marks(m.ranges);
    },
    heat: (m) => {
      if (ready) app.heat(m);
    },
  },
);
window.addEventListener('message', (event: MessageEvent<unknown>) => host.receive(event.data));
host.notify('ready', {});
