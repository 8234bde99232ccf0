import type { Change } from '../core/watch/changes';

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

/** How much a session keeps of what it last saw; oldest pieces go first beyond this. */
export const LAST_BYTES_LIMIT = 64 * 1024 * 1024;

/**
 * The bytes a session last received from its agent (reads and watched ranges, kept current with
 * each tick's changes). When the agent dies, this is what stays on screen.
 */
export class LastBytes {
  private pieces: Piece[] = [];
  private total = 0;

  /** Keeps a copy of bytes seen at offset, replacing any older piece it covers. */
  record(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    this.pieces = this.pieces.filter((p) => {
      const covered = p.offset >= offset && p.offset + p.bytes.length <= end;
      if (covered) this.total -= p.bytes.length;
      return !covered;
    });
    this.pieces.push({ offset, bytes: new Uint8Array(bytes) }); // a copy, even of a Buffer
    this.total += bytes.length;
    while (this.total > LAST_BYTES_LIMIT && this.pieces.length > 1) this.total -= this.pieces.shift()!.bytes.length;
  }

  /** Brings every piece that overlaps a change up to date. */
  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      for (const p of this.pieces) {
        const from = Math.max(c.offset, p.offset);
        const to = Math.min(c.offset + c.after.length, p.offset + p.bytes.length);
        if (from < to) p.bytes.set(c.after.subarray(from - c.offset, to - c.offset), from - p.offset);
      }
    }
  }

  /** The last bytes seen for [offset, offset+length), if one piece holds all of them. */
  get(offset: number, length: number): Uint8Array | undefined {
    for (let i = this.pieces.length - 1; i >= 0; i--) {
      const p = this.pieces[i]!;
      if (offset >= p.offset && offset + length <= p.offset + p.bytes.length) {
        return p.bytes.slice(offset - p.offset, offset - p.offset + length);
      }
    }
    return undefined;
  }
}
