import { PageCache } from './page-cache';

const ROW_HEIGHT = 20;
const HEX = '0123456789abcdef';

export interface HexViewEvents {
  /** The rows on screen, the cursor or the selection (from anchor to cursor) moved. */
  onViewport(offset: number, length: number, cursor: number, anchor: number): void;
  /** Pages that must be fetched to draw the screen. */
  onMissing(ranges: { offset: number; length: number }[]): void;
  /** The user typed a byte at offset (read-write sessions only). */
  onEdit(offset: number, value: number): void;
  onCursor(offset: number): void;
  /** The pointer rests on offset: call back with the text to show on hover. */
  onHover?(offset: number, show: (label: string) => void): void;
}

/** Whether offset lies in one of the sorted, non-overlapping ranges. */
function inRanges(ranges: readonly { offset: number; length: number }[], offset: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (offset < r.offset) hi = mid - 1;
    else if (offset >= r.offset + r.length) lo = mid + 1;
    else return true;
  }
  return false;
}

function hex2(b: number): string {
  return HEX[b >> 4]! + HEX[b & 15]!;
}

/** Offsets as xxd prints them: at least 8 hex digits, more past 4 GiB. */
export function formatOffset(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

/** One byte's two cells (hex and ASCII) and what they show now. */
interface Cell {
  h: HTMLElement;
  a: HTMLElement;
  hText: Text;
  aText: Text;
  at: number;
  text: string;
  cls: string;
  heat: string;
  band: string;
  selected: boolean;
  cursor: boolean;
}

interface Row {
  row: HTMLElement;
  offset: HTMLElement;
  cells: Cell[];
  /** The offset the row shows now (-2: not drawn yet). */
  base: number;
}

/**
 * The hex grid: offset, hex and ASCII columns over the whole segment, drawn only for the rows on
 * screen from a fixed pool of row elements, with its own scrollbar (a browser's scroll height is
 * capped far below 2^48 / 16 rows, so native scrolling cannot reach offsets past 4 GiB and more).
 * An ARIA grid; the focused cell is the grid's active descendant.
 */
export class HexView {
  readonly element: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private readonly track: HTMLElement;
  private readonly thumb: HTMLElement;
  /**
   * The row pool, with what each cell shows now, property by property, so that a draw writes only
   * what changed: writing every property of ~1,300 cells cost 25-90 ms per draw on a 2-core
   * machine, most of the write-to-screen budget. Texts are changed through their Text nodes.
   */
  private rows: Row[] = [];
  private topRow = 0;
  cursor = 0;
  private anchor = 0;
  private pendingNibble: number | undefined;
  private drawScheduled = false;
  /** Set once the first bytes are on screen (a performance mark, read by the live-view bench). */
  private firstBytesMarked = false;
  private fadeTimer: ReturnType<typeof setTimeout> | undefined;
  writable = false;
  fadeMs = 1500;
  /** The rows' and the scrollbar's heights, as of the last resize (undefined: not measured yet). */
  private rowsHeight: number | undefined;
  private trackHeight: number | undefined;
  /** The layout's regions, sorted by offset: drawn as coloured bands under the bytes. */
  bands: { name: string; offset: number; size: number; color: string | undefined }[] = [];
  /** Bytes marked until further notice (a recording's step), sorted by offset. */
  marks: { offset: number; length: number }[] = [];

  /** `beside`: an element drawn between the rows and the scrollbar (the heat strip). */
  constructor(
    private readonly cache: PageCache,
    public bytesPerRow: number,
    private readonly events: HexViewEvents,
    beside?: HTMLElement,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'hex-view';
    this.rowsEl = document.createElement('div');
    this.rowsEl.className = 'rows';
    this.rowsEl.setAttribute('role', 'grid');
    this.rowsEl.setAttribute('aria-label', 'Shared memory bytes');
    this.rowsEl.setAttribute('aria-readonly', 'true');
    this.rowsEl.tabIndex = 0;
    this.track = document.createElement('div');
    this.track.className = 'scroll-track';
    this.track.setAttribute('aria-hidden', 'true');
    this.thumb = document.createElement('div');
    this.thumb.className = 'scroll-thumb';
    this.track.append(this.thumb);
    this.element.append(this.rowsEl, ...(beside ? [beside] : []), this.track);
    this.bindInput();
    // Heights are read here, when the layout is clean, never in a draw: reading one after a draw's
    // writes forced a layout of the whole grid each time (3.4 s of 8.1 s of the renderer's time over
    // 12 timeline seeks with their fades, in the timeline bench's CPU profile; 60-80 ms frames).
    const resized = new ResizeObserver(() => {
      this.rowsHeight = this.rowsEl.clientHeight;
      this.trackHeight = this.track.clientHeight;
      this.layout();
    });
    resized.observe(this.rowsEl);
    resized.observe(this.track);
  }

  get size(): number {
    return this.cache.size;
  }

  private get totalRows(): number {
    return Math.ceil(this.size / this.bytesPerRow);
  }

  private get visibleRows(): number {
    return Math.max(1, Math.floor((this.rowsHeight ??= this.rowsEl.clientHeight) / ROW_HEIGHT));
  }

  private get maxTop(): number {
    return Math.max(0, this.totalRows - this.visibleRows);
  }

  get topOffset(): number {
    return this.topRow * this.bytesPerRow;
  }

  /** Rebuilds the row pool for the current height and row width. */
  layout(): void {
    const wanted = this.visibleRows + 1;
    if (this.rows.length !== wanted || this.rows[0]?.cells.length !== this.bytesPerRow) {
      this.rowsEl.replaceChildren();
      this.rows = [];
      for (let r = 0; r < wanted; r++) {
        const row = document.createElement('div');
        row.className = 'row';
        row.setAttribute('role', 'row');
        const offset = document.createElement('span');
        offset.className = 'offset';
        offset.setAttribute('role', 'rowheader');
        const hexBox = document.createElement('span');
        hexBox.className = 'hex';
        const asciiBox = document.createElement('span');
        asciiBox.className = 'ascii';
        const cells: Cell[] = [];
        for (let i = 0; i < this.bytesPerRow; i++) {
          const h = document.createElement('span');
          h.className = 'b';
          h.setAttribute('role', 'gridcell');
          const hText = document.createTextNode('');
          h.append(hText);
          hexBox.append(h);
          const a = document.createElement('span');
          a.className = 'c';
          a.setAttribute('aria-hidden', 'true');
          const aText = document.createTextNode('');
          a.append(aText);
          asciiBox.append(a);
          cells.push({ h, a, hText, aText, at: -1, text: '', cls: 'b', heat: '', band: '', selected: false, cursor: false });
        }
        row.append(offset, hexBox, asciiBox);
        this.rowsEl.append(row);
        this.rows.push({ row, offset, cells, base: -2 });
      }
    }
    this.rowsEl.setAttribute('aria-rowcount', String(this.totalRows));
    this.scrollToRow(this.topRow);
  }

  /** Puts the cursor on offset and scrolls so that it is on screen (centred if it was off screen). */
  goto(offset: number, selectLength = 1): void {
    const target = Math.max(0, Math.min(this.size - 1, offset));
    this.cursor = target + Math.max(0, selectLength - 1);
    this.anchor = target;
    const row = Math.floor(target / this.bytesPerRow);
    if (row < this.topRow || row >= this.topRow + this.visibleRows) this.scrollToRow(row - Math.floor(this.visibleRows / 2));
    else this.draw();
    this.events.onCursor(this.cursor);
  }

  scrollToRow(row: number): void {
    this.topRow = Math.max(0, Math.min(this.maxTop, Math.floor(row)));
    this.draw();
  }

  /** Redraws at the next frame (many changes in one tick cost one draw). */
  draw(): void {
    // Bytes not here are asked for now, not at the next frame: the round trip overlaps the wait.
    this.fetchMissing();
    if (this.drawScheduled) return;
    this.drawScheduled = true;
    requestAnimationFrame(() => {
      this.drawScheduled = false;
      this.drawNow();
    });
  }

  get selection(): { offset: number; length: number } {
    const from = Math.min(this.anchor, this.cursor);
    return { offset: from, length: Math.abs(this.cursor - this.anchor) + 1 };
  }

  private fetchMissing(): void {
    const first = this.topOffset;
    const length = Math.min(this.size - first, this.rows.length * this.bytesPerRow);
    if (length <= 0) return;
    const missing = this.cache.missing(first, length);
    if (missing.length > 0) this.events.onMissing(missing);
  }

  private drawNow(): void {
    const now = performance.now();
    this.cache.prune(now, this.fadeMs);
    const first = this.topOffset;
    const length = Math.min(this.size - first, this.rows.length * this.bytesPerRow);
    this.cache.touch(first, length);
    this.fetchMissing();
    const sel = this.selection;
    for (let r = 0; r < this.rows.length; r++) {
      const line = this.rows[r]!;
      const rowIndex = this.topRow + r;
      const base = rowIndex * this.bytesPerRow;
      if (base !== line.base) {
        line.base = base;
        line.row.hidden = base >= this.size;
        if (!line.row.hidden) {
          line.row.setAttribute('aria-rowindex', String(rowIndex + 1));
          line.offset.textContent = formatOffset(base);
        }
      }
      if (line.row.hidden) continue;
      for (let i = 0; i < this.bytesPerRow; i++) {
        const cell = line.cells[i]!;
        const at = base + i;
        const past = at >= this.size;
        const b = past ? undefined : this.cache.byte(at);
        const text = past ? '  ' : b === undefined ? '··' : at === this.cursor && this.pendingNibble !== undefined ? `${HEX[this.pendingNibble]}_` : hex2(b);
        const selected = !past && at >= sel.offset && at < sel.offset + sel.length;
        const cursor = !past && at === this.cursor;
        const changed = past ? undefined : this.cache.changedAt.get(at);
        const band = past ? undefined : this.bandAt(at);
        const marked = !past && inRanges(this.marks, at);
        let cls = past ? 'b past' : 'b';
        if (selected) cls += ' selected';
        if (cursor) cls += ' cursor';
        if (changed !== undefined) cls += ' changed';
        if (band) cls += ' band';
        if (marked) cls += ' step';
        // The highlight fades with the byte's age; the next draws (below) carry it on.
        const heat = changed === undefined ? '' : this.fadeMs > 0 ? Math.max(0, 1 - (now - changed) / this.fadeMs).toFixed(2) : '0';
        const bandColor = band ? (band.color ?? 'var(--vscode-editorInfo-foreground)') : '';
        const { h, a } = cell;
        if (cell.at !== at) {
          cell.at = at;
          h.dataset.offset = String(at);
          a.dataset.offset = String(at);
        }
        if (cell.text !== text) {
          cell.text = text;
          cell.hText.nodeValue = text;
          cell.aText.nodeValue = past ? ' ' : b === undefined ? '·' : b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.';
        }
        if (cell.cls !== cls) {
          cell.cls = cls;
          h.className = cls;
          a.className = cls.replace(/^b/, 'c');
        }
        if (cell.heat !== heat && heat !== '') {
          h.style.setProperty('--heat', heat);
          a.style.setProperty('--heat', heat);
        }
        cell.heat = heat;
        if (cell.band !== bandColor && bandColor !== '') {
          h.style.setProperty('--band', bandColor);
          a.style.setProperty('--band', bandColor);
        }
        cell.band = bandColor;
        if (cell.selected !== selected) {
          cell.selected = selected;
          if (selected) h.setAttribute('aria-selected', 'true');
          else h.removeAttribute('aria-selected');
        }
        // Only the active cell carries an id and a spoken label (the grid points at it with
        // aria-activedescendant); a label on every cell was a thousand writes per draw.
        const label = cursor ? `offset 0x${at.toString(16)}: ${b === undefined ? 'loading' : `0x${hex2(b)}`}` : '';
        if (cursor) {
          h.id = 'cursor-cell';
          if (h.getAttribute('aria-label') !== label) h.setAttribute('aria-label', label);
        } else if (cell.cursor) {
          h.removeAttribute('id');
          h.removeAttribute('aria-label');
        }
        cell.cursor = cursor;
      }
    }
    if (!this.firstBytesMarked && length > 0 && this.cache.byte(first) !== undefined) {
      this.firstBytesMarked = true;
      performance.mark('shmem-inspector:first-bytes');
    }
    // While something fades, redraw ten times a second; an idle view draws nothing.
    if (this.cache.changedAt.size > 0 && !this.fadeTimer) {
      this.fadeTimer = setTimeout(() => {
        this.fadeTimer = undefined;
        this.draw();
      }, 100);
    }
    this.rowsEl.setAttribute('aria-activedescendant', 'cursor-cell');
    this.rowsEl.setAttribute('aria-readonly', String(!this.writable));
    this.placeThumb();
    this.events.onViewport(first, length, this.cursor, this.anchor);
  }

  private bandAt(offset: number): { color: string | undefined } | undefined {
    let lo = 0;
    let hi = this.bands.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const b = this.bands[mid]!;
      if (offset < b.offset) hi = mid - 1;
      else if (offset >= b.offset + b.size) lo = mid + 1;
      else return b;
    }
    return undefined;
  }

  private placeThumb(): void {
    const trackHeight = (this.trackHeight ??= this.track.clientHeight);
    const ratio = this.totalRows > 0 ? Math.min(1, this.visibleRows / this.totalRows) : 1;
    const thumbHeight = Math.max(24, Math.round(trackHeight * ratio));
    const top = this.maxTop > 0 ? (this.topRow / this.maxTop) * (trackHeight - thumbHeight) : 0;
    this.thumb.style.height = `${thumbHeight}px`;
    this.thumb.style.transform = `translateY(${Math.round(top)}px)`;
    this.thumb.hidden = ratio >= 1;
  }

  private moveCursor(to: number, extend: boolean): void {
    this.pendingNibble = undefined;
    this.cursor = Math.max(0, Math.min(this.size - 1, to));
    if (!extend) this.anchor = this.cursor;
    const row = Math.floor(this.cursor / this.bytesPerRow);
    if (row < this.topRow) this.scrollToRow(row);
    else if (row >= this.topRow + this.visibleRows) this.scrollToRow(row - this.visibleRows + 1);
    else this.draw();
    this.events.onCursor(this.cursor);
  }

  private bindInput(): void {
    this.rowsEl.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rows = e.deltaMode === 1 ? e.deltaY : e.deltaY / ROW_HEIGHT;
      this.scrollToRow(this.topRow + (Math.abs(rows) < 1 ? Math.sign(rows) : Math.round(rows)));
    }, { passive: false });
    this.rowsEl.addEventListener('mousedown', (e) => {
      const target = (e.target as HTMLElement).closest('[data-offset]') as HTMLElement | null;
      if (!target?.dataset.offset) return;
      // Shift+click extends the view's selection; the browser's own text selection would extend
      // too, a second grey highlight over recycled rows that no longer match it.
      if (e.shiftKey) e.preventDefault();
      this.rowsEl.focus();
      this.moveCursor(Number(target.dataset.offset), e.shiftKey);
    });
    this.rowsEl.addEventListener('keydown', (e) => this.key(e));
    // Hovering a byte asks for the layout's name of it (once per cell and layout).
    let hoverTimer: ReturnType<typeof setTimeout> | undefined;
    this.rowsEl.addEventListener('mouseover', (e) => {
      const target = (e.target as HTMLElement).closest('[data-offset]') as HTMLElement | null;
      if (!target?.dataset.offset || this.bands.length === 0) return;
      if (hoverTimer) clearTimeout(hoverTimer);
      hoverTimer = setTimeout(() => this.events.onHover?.(Number(target.dataset.offset), (label) => (target.title = label)), 150);
    });
    let drag: { startY: number; startTop: number } | undefined;
    this.thumb.addEventListener('pointerdown', (e) => {
      drag = { startY: e.clientY, startTop: this.topRow };
      this.thumb.setPointerCapture(e.pointerId);
      e.preventDefault();
    });
    this.thumb.addEventListener('pointermove', (e) => {
      if (!drag) return;
      const usable = this.track.clientHeight - this.thumb.clientHeight;
      if (usable <= 0) return;
      this.scrollToRow(drag.startTop + ((e.clientY - drag.startY) / usable) * this.maxTop);
    });
    this.thumb.addEventListener('pointerup', () => (drag = undefined));
    this.track.addEventListener('mousedown', (e) => {
      if (e.target !== this.track) return;
      const above = e.offsetY < this.thumb.offsetTop;
      this.scrollToRow(this.topRow + (above ? -1 : 1) * this.visibleRows);
    });
  }

  private key(e: KeyboardEvent): void {
    const bpr = this.bytesPerRow;
    const page = this.visibleRows * bpr;
    const moves: Record<string, number | undefined> = {
      ArrowLeft: this.cursor - 1,
      ArrowRight: this.cursor + 1,
      ArrowUp: this.cursor - bpr,
      ArrowDown: this.cursor + bpr,
      PageUp: this.cursor - page,
      PageDown: this.cursor + page,
      Home: e.ctrlKey ? 0 : this.cursor - (this.cursor % bpr),
      End: e.ctrlKey ? this.size - 1 : this.cursor - (this.cursor % bpr) + bpr - 1,
    };
    const to = moves[e.key];
    if (to !== undefined) {
      e.preventDefault();
      this.moveCursor(to, e.shiftKey);
      return;
    }
    if (this.writable && /^[0-9a-fA-F]$/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      const nibble = parseInt(e.key, 16);
      if (this.pendingNibble === undefined) {
        this.pendingNibble = nibble;
        this.draw();
        return;
      }
      const value = (this.pendingNibble << 4) | nibble;
      const at = this.cursor;
      this.pendingNibble = undefined;
      this.events.onEdit(at, value);
      this.moveCursor(at + 1, false);
      return;
    }
    if (e.key === 'Escape' && this.pendingNibble !== undefined) {
      this.pendingNibble = undefined;
      this.draw();
    }
  }
}
