/**
 * The bytes the view has fetched, in 4 KiB pages with a bound on how many it keeps (least recently
 * used go first), and when each byte last changed (for the highlight). Only what is on screen is
 * ever fetched, so memory does not grow with the segment.
 */
export const PAGE = 4096;
const MAX_PAGES = 512;

export class PageCache {
  private readonly pages = new Map<number, Uint8Array>();
  private readonly inFlight = new Set<number>();
  /** offset → time of its last change, ms (performance.now clock of the webview). */
  readonly changedAt = new Map<number, number>();

  constructor(readonly size: number) {}

  /** The byte at offset, or undefined when its page is not here yet. */
  byte(offset: number): number | undefined {
    const page = this.pages.get(Math.floor(offset / PAGE));
    if (!page) return undefined;
    return page[offset % PAGE];
  }

  /** Marks the pages of a range as recently used (called once per render for what is on screen). */
  touch(offset: number, length: number): void {
    for (let p = Math.floor(offset / PAGE); p * PAGE < offset + length; p++) {
      const page = this.pages.get(p);
      if (page) {
        this.pages.delete(p);
        this.pages.set(p, page);
      }
    }
  }

  /** Up to `length` bytes from offset if all their pages are here. */
  bytes(offset: number, length: number): Uint8Array | undefined {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.byte(offset + i);
      if (b === undefined) return undefined;
      out[i] = b;
    }
    return out;
  }

  /** Page-aligned ranges covering [offset, offset+length) that are neither here nor on the way. */
  missing(offset: number, length: number): { offset: number; length: number }[] {
    const out: { offset: number; length: number }[] = [];
    const first = Math.floor(offset / PAGE);
    const last = Math.floor((Math.min(this.size, offset + length) - 1) / PAGE);
    for (let p = first; p <= last; p++) {
      if (this.pages.has(p) || this.inFlight.has(p)) continue;
      const start = p * PAGE;
      const prev = out[out.length - 1];
      const len = Math.min(PAGE, this.size - start);
      if (prev && prev.offset + prev.length === start && prev.length < 64 * PAGE) prev.length += len;
      else out.push({ offset: start, length: len });
    }
    return out;
  }

  markInFlight(range: { offset: number; length: number }, on: boolean): void {
    for (let p = range.offset / PAGE; p * PAGE < range.offset + range.length; p++) {
      if (on) this.inFlight.add(p);
      else this.inFlight.delete(p);
    }
  }

  /** Stores fetched bytes (page-aligned), evicting the oldest pages beyond the bound. */
  store(offset: number, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += PAGE) {
      const p = (offset + at) / PAGE;
      this.pages.delete(p);
      this.pages.set(p, bytes.slice(at, at + PAGE));
    }
    while (this.pages.size > MAX_PAGES) this.pages.delete(this.pages.keys().next().value as number);
  }

  /** Applies a live change; bytes of pages not here are not kept (they are fetched when shown). */
  apply(offset: number, bytes: Uint8Array, now: number): void {
    for (let i = 0; i < bytes.length; i++) {
      const at = offset + i;
      const page = this.pages.get(Math.floor(at / PAGE));
      if (page) page[at % PAGE] = bytes[i]!;
      this.changedAt.set(at, now);
    }
  }

  /** Overwrites the bytes of pages that are here with current ones, without highlighting them. */
  refresh(offset: number, bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      const at = offset + i;
      const page = this.pages.get(Math.floor(at / PAGE));
      if (page) page[at % PAGE] = bytes[i]!;
    }
  }

  /** Forgets highlights older than fadeMs. */
  prune(now: number, fadeMs: number): void {
    for (const [offset, t] of this.changedAt) if (now - t > fadeMs) this.changedAt.delete(offset);
  }

  clear(): void {
    this.pages.clear();
    this.inFlight.clear();
  }
}
