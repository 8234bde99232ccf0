import type { HeatStrip } from './hex-protocol';

/**
 * The heatmap beside the hex view's scrollbar: the whole segment from top to bottom, like the
 * scrollbar's track, each slice as warm as it was busy (how many ticks or samples changed it, on a
 * log scale: one busy ring slot must not wash out every other change). A click scrolls there.
 * Drawn on a canvas; its label says the same in words (the hottest slices), for screen readers.
 */
export class HeatStripView {
  readonly element: HTMLCanvasElement;
  private heat: HeatStrip | undefined;

  constructor(
    private readonly size: () => number,
    private readonly onPick: (offset: number) => void,
  ) {
    this.element = document.createElement('canvas');
    this.element.className = 'heat-strip';
    this.element.setAttribute('role', 'img');
    this.element.hidden = true;
    this.element.addEventListener('mousedown', (e) => {
      const h = this.element.clientHeight;
      if (h > 0) this.onPick(Math.min(this.size() - 1, Math.floor((e.offsetY / h) * this.size())));
    });
    new ResizeObserver(() => this.draw()).observe(this.element);
  }

  set(heat: HeatStrip): void {
    this.heat = heat;
    this.element.hidden = !heat.counts.some((c) => c > 0);
    this.element.dataset.of = heat.of;
    this.element.setAttribute('aria-label', describe(heat, this.size()));
    this.draw();
  }

  /** The canvas pixel row (from the top, CSS pixels) where a segment offset is drawn. */
  rowOf(offset: number): number {
    return (offset / this.size()) * this.element.clientHeight;
  }

  private draw(): void {
    const heat = this.heat;
    const canvas = this.element;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const g = canvas.getContext('2d');
    if (!g || !heat) return;
    g.clearRect(0, 0, width, height);
    const max = Math.max(...heat.counts, 1);
    const color = getComputedStyle(canvas).getPropertyValue('--heat-color').trim() || '#d18616';
    const size = this.size();
    g.fillStyle = color;
    heat.counts.forEach((count, i) => {
      if (count === 0) return;
      const top = Math.floor(((i * heat.sliceSize) / size) * height);
      const bottom = Math.ceil((Math.min(size, (i + 1) * heat.sliceSize) / size) * height);
      g.globalAlpha = 0.3 + (0.7 * Math.log1p(count)) / Math.log1p(max);
      // At least one device pixel: a slice smaller than a pixel still shows.
      g.fillRect(0, top, width, Math.max(1, bottom - top));
    });
    g.globalAlpha = 1;
  }
}

function describe(heat: HeatStrip, size: number): string {
  const hottest = heat.counts
    .map((count, i) => ({ count, i }))
    .filter((x) => x.count > 0)
    .sort((a, b) => b.count - a.count)
    .slice(0, 3)
    .map((x) => `0x${(x.i * heat.sliceSize).toString(16)}..0x${Math.min(size, (x.i + 1) * heat.sliceSize).toString(16)}: ${x.count}`);
  const what = heat.of === 'live' ? 'change ticks since the view opened' : 'samples of the recording';
  return hottest.length === 0 ? 'No changes yet' : `Where the segment changed most (${what}): ${hottest.join('; ')}`;
}
