import { prepare, themeColor, timeAt, xOf } from './canvas';

export interface ScrubberEvents {
  /** The user dragged or clicked to a time. */
  onScrub(timeMs: number): void;
  /** Arrow keys: the next or previous change. */
  onStep(direction: 'next' | 'previous'): void;
  onPlayPause(): void;
}

/**
 * The scrubber: the whole recording from left to right, with where things happened drawn along it
 * (changes per pixel column, on a log scale so that one busy second does not flatten the rest;
 * the followed field's or selection's changes over it in the accent colour), the current time as
 * a line, and moment A (Compare Two Moments) as a flag. A slider for keyboards and screen readers:
 * arrows step by change, Shift+arrows by 1 %, Home and End, Space plays.
 */
export class Scrubber {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private all: number[] = [];
  private scoped: number[] | undefined;
  private now = 0;
  private markA: number | undefined;
  durationMs = 0;

  constructor(private readonly events: ScrubberEvents) {
    this.element = document.createElement('div');
    this.element.className = 'scrubber';
    this.element.tabIndex = 0;
    this.element.setAttribute('role', 'slider');
    this.element.setAttribute('aria-label', 'Time in the recording (arrows: previous and next change)');
    this.element.setAttribute('aria-valuemin', '0');
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-hidden', 'true');
    this.element.append(this.canvas);
    this.bind();
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  /** How many density buckets fit: one per CSS pixel. */
  get buckets(): number {
    return Math.max(1, Math.min(4096, Math.floor(this.canvas.clientWidth)));
  }

  setDensity(all: number[], scoped: number[] | undefined): void {
    this.all = all;
    this.scoped = scoped;
    this.draw();
  }

  setTime(timeMs: number): void {
    this.now = timeMs;
    this.element.setAttribute('aria-valuenow', timeMs.toFixed(3));
    this.element.setAttribute('aria-valuetext', `${timeMs.toFixed(3)} ms`);
    this.draw();
  }

  setMarkA(timeMs: number | undefined): void {
    this.markA = timeMs;
    this.draw();
  }

  setDuration(ms: number): void {
    this.durationMs = ms;
    this.element.setAttribute('aria-valuemax', ms.toFixed(3));
    this.draw();
  }

  draw(): void {
    const c = prepare(this.canvas);
    if (!c) return;
    const { g, width, height } = c;
    const base = themeColor(this.element, '--vscode-foreground', '#ccc');
    const accent = themeColor(this.element, '--vscode-charts-orange', '#d18616');
    const cursor = themeColor(this.element, '--vscode-editorCursor-foreground', '#fff');
    const bars = (counts: number[], color: string, alpha: number, top: number, h: number): void => {
      const max = Math.max(1, ...counts);
      g.fillStyle = color;
      g.globalAlpha = alpha;
      const w = width / Math.max(1, counts.length);
      counts.forEach((n, i) => {
        if (n === 0) return;
        const bh = Math.max(2, (Math.log1p(n) / Math.log1p(max)) * h);
        g.fillRect(i * w, top + h - bh, Math.max(1, w), bh);
      });
      g.globalAlpha = 1;
    };
    // The whole recording's changes in the upper part, the followed scope's below it.
    const split = this.scoped ? Math.round(height * 0.55) : height - 2;
    bars(this.all, base, 0.45, 2, split - 2);
    if (this.scoped) bars(this.scoped, accent, 0.9, split + 2, height - split - 4);
    if (this.markA !== undefined) {
      const x = Math.round(xOf(this.markA, this.durationMs, width)) + 0.5;
      g.fillStyle = accent;
      g.fillRect(x - 0.5, 0, 1, height);
      g.fillText('A', Math.min(width - 8, x + 3), 10);
    }
    const x = Math.round(xOf(this.now, this.durationMs, width));
    g.fillStyle = cursor;
    g.fillRect(x - 1, 0, 2, height);
  }

  private bind(): void {
    let dragging = false;
    const at = (e: PointerEvent): number => timeAt(e.clientX - this.canvas.getBoundingClientRect().left, this.durationMs, this.canvas.clientWidth);
    this.element.addEventListener('pointerdown', (e) => {
      dragging = true;
      this.element.setPointerCapture(e.pointerId);
      if (document.activeElement !== this.element) this.element.focus();
      this.events.onScrub(at(e));
    });
    this.element.addEventListener('pointermove', (e) => {
      if (dragging) this.events.onScrub(at(e));
    });
    this.element.addEventListener('pointerup', () => (dragging = false));
    this.element.addEventListener('keydown', (e) => {
      const percent = this.durationMs / 100;
      const keys: Record<string, () => void> = {
        ArrowRight: () => (e.shiftKey ? this.events.onScrub(this.now + percent) : this.events.onStep('next')),
        ArrowLeft: () => (e.shiftKey ? this.events.onScrub(Math.max(0, this.now - percent)) : this.events.onStep('previous')),
        Home: () => this.events.onScrub(0),
        End: () => this.events.onScrub(this.durationMs),
        ' ': () => this.events.onPlayPause(),
      };
      const run = keys[e.key];
      if (!run) return;
      e.preventDefault();
      run();
    });
  }
}
