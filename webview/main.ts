/**
 * The hex view webview: toolbar (go to, search), banner, grid and data inspector. Runs in the
 * browser; talks to the extension host only through the messages of protocol.ts.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { HostChannel } from './channel';
import { HexView, formatOffset } from './hex-view';
import { parseOffsetInput, parsePattern } from './input';
import { inspect } from './inspector';
import { MAX_READ, type HostMessage, type SessionView, type ViewSettings, type WebviewMessage } from './protocol';
import { PageCache } from './page-cache';
import { el } from './dom';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  setState(state: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const channel = new HostChannel((m) => vscode.postMessage(m));

/** A vscode-elements control, typed loosely: the parts we use. */
type Field = HTMLElement & { value: string };

class App {
  private session!: SessionView;
  private cache!: PageCache;
  private view!: HexView;
  private readonly banner = el('div', 'banner');
  private readonly status = el('span', 'status');
  private readonly inspectorBody = el('tbody');
  private searchId: number | undefined;
  private lastViewport = '';
  private wasGuestCopy: boolean | undefined = false;

  constructor(private readonly root: HTMLElement) {}

  init(session: SessionView, settings: ViewSettings, top: number, cursor: number, first?: { offset: number; bytes: Uint8Array }): void {
    this.session = session;
    this.cache = new PageCache(session.size);
    if (first) this.cache.store(first.offset, first.bytes);
    this.view = new HexView(this.cache, settings.bytesPerRow, {
      onViewport: (o, l, c) => this.viewport(o, l, c),
      onMissing: (ranges) => this.fetch(ranges),
      onEdit: (at, value) => void this.edit(at, value),
      onCursor: () => this.showInspector(),
      onHover: (offset, show) => {
        channel.request({ type: 'describe', offset }).then(({ label }) => label && show(label), () => undefined);
      },
    });
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
      if ('error' in r) this.say(r.error, true);
      else {
        this.view.goto(r.offset);
        this.say(`at 0x${r.offset.toString(16)}`);
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
      if ('error' in parsed) return this.say(parsed.error, true);
      const from = Math.min(this.view.cursor + 1, this.session.size - 1);
      cancel.hidden = false;
      ring.hidden = false;
      this.say('searching…');
      try {
        const { offset } = await channel.request(
          { type: 'search', pattern: parsed.bytes, from },
          { timeoutMs: 0, onId: (id) => (this.searchId = id), onProgress: (d, t) => this.say(`searching… ${Math.floor((d / t) * 100)}%`) },
        );
        if (offset === null) this.say('not found', true);
        else {
          this.view.goto(offset, parsed.bytes.length);
          this.say(`found at 0x${offset.toString(16)}`);
        }
      } catch (err) {
        this.say((err as Error).message, true);
      } finally {
        this.searchId = undefined;
        cancel.hidden = true;
        ring.hidden = true;
      }
    };
    findButton.addEventListener('click', () => void find());
    findField.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && void find());
    cancel.addEventListener('click', () => {
      if (this.searchId !== undefined) void channel.request({ type: 'cancel', request: this.searchId }).catch(() => undefined);
    });
    bar.append(gotoField, gotoButton, el('span', 'sep'), findField, mode, findButton, cancel, ring, this.status);
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
    this.view.writable = session.writable && (session.state !== 'disconnected' || session.guestCopy === true);
    const notes: string[] = [];
    if (session.guestCopy) notes.push(`Disconnected: ${session.reason}. Reconnect as Master writes it back; Reconnect as Peer throws it away.`);
    else if (session.state === 'disconnected') notes.push(`Disconnected: ${session.reason ?? 'the source went away'}. Showing the last bytes received.`);
    else if (session.state === 'paused') notes.push('Live view paused: the bytes are not updated.');
    this.banner.textContent = notes.join(' ');
    this.banner.hidden = notes.length === 0;
    this.banner.className = `banner ${session.state}`;
    document.body.dataset.state = session.state;
    document.body.dataset.source = session.source;
    document.body.dataset.writable = String(session.writable);
    document.body.dataset.guestCopy = String(session.guestCopy === true);
    if (session.guestCopy !== this.wasGuestCopy) {
      // Entering or leaving the guest-side copy: what the view holds belongs to the other side.
      this.wasGuestCopy = session.guestCopy;
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

  changes(changes: { offset: number; bytes: Uint8Array }[]): void {
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

  layout(regions: { name: string; offset: number; size: number; color: string | undefined }[]): void {
    this.view.bands = [...regions].sort((a, b) => a.offset - b.offset);
    this.view.draw();
  }

  private viewport(offset: number, length: number, cursor: number): void {
    const key = `${offset}:${length}:${cursor}`;
    if (key === this.lastViewport) return;
    this.lastViewport = key;
    vscode.setState({ source: this.session.source, offset });
    channel.send({ type: 'viewport', offset, length, cursor });
  }

  private fetch(ranges: { offset: number; length: number }[]): void {
    for (const range of ranges) {
      const r = { offset: range.offset, length: Math.min(range.length, MAX_READ) };
      this.cache.markInFlight(r, true);
      channel.request({ type: 'read', ...r }).then(
        ({ bytes }) => {
          this.cache.markInFlight(r, false);
          this.cache.store(r.offset, bytes);
          this.view.draw();
          this.showInspector();
        },
        (err: Error) => {
          this.cache.markInFlight(r, false);
          this.say(`cannot read 0x${r.offset.toString(16)}: ${err.message}`, true);
        },
      );
    }
  }

  private async edit(at: number, value: number): Promise<void> {
    const before = this.cache.byte(at);
    this.cache.apply(at, new Uint8Array([value]), performance.now());
    this.view.draw();
    try {
      await channel.request({ type: 'write', offset: at, bytes: new Uint8Array([value]) });
      this.say(`wrote 0x${value.toString(16).padStart(2, '0')} at 0x${at.toString(16)}`);
    } catch (err) {
      if (before !== undefined) this.cache.apply(at, new Uint8Array([before]), performance.now());
      this.view.draw();
      this.say(`not written: ${(err as Error).message}`, true);
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

  private say(text: string, warn = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('warn', warn);
  }
}

const app = new App(document.getElementById('app')!);
let ready = false;
window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const m = event.data;
  if (channel.receive(m)) return;
  switch (m.type) {
    case 'init':
      app.init(m.session, m.settings, m.top, m.cursor, m.first);
      ready = true;
      break;
    case 'session':
      if (ready) app.updateSession(m.session);
      break;
    case 'settings':
      if (ready) app.settings(m.settings);
      break;
    case 'changes':
      if (ready) app.changes(m.changes);
      break;
    case 'fresh':
      if (ready) app.fresh(m.offset, m.bytes);
      break;
    case 'goto':
      if (ready) app.goto(m.offset, m.length);
      break;
    case 'layout':
      if (ready) app.layout(m.regions);
      break;
  }
});
channel.send({ type: 'ready' });
