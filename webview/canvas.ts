/** What the timeline's canvases share: a crisp backing store and the theme's colours. */

/** Sizes the canvas's backing store to its CSS box at the device's pixel ratio; returns the 2D context scaled to CSS pixels. */
export function prepare(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; width: number; height: number } | undefined {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return undefined;
  const w = Math.round(width * ratio);
  const h = Math.round(height * ratio);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext('2d');
  if (!g) return undefined;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return { g, width, height };
}

/** A theme colour (a CSS custom property of VS Code's), with a fallback outside VS Code. */
export function themeColor(el: Element, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** x (CSS pixels) of a time on a canvas of `width` that spans [0, durationMs]; the scrubber and the chart share it. */
export function xOf(timeMs: number, durationMs: number, width: number): number {
  return durationMs > 0 ? (Math.min(Math.max(timeMs, 0), durationMs) / durationMs) * width : 0;
}

/** The time at x on such a canvas. */
export function timeAt(x: number, durationMs: number, width: number): number {
  return width > 0 ? Math.min(durationMs, Math.max(0, (x / width) * durationMs)) : 0;
}
