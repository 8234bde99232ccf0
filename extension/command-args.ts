import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import type { Session } from './session';
import type { SessionManager } from './session-manager';
import type { PeerItem } from './views';

/**
 * A command's arguments as VS Code (a menu's item or Uri, nothing from the palette) or a caller
 * (executeCommand, any extension) gave them: read only through these typed, checked getters, so a
 * command body never casts. A value of the wrong kind is treated as absent (the command then asks
 * the user), or refused with an InputError where nothing sensible can be asked. There is no
 * argument that skips a confirmation: tests answer the dialogs themselves (test/host/runner).
 */
export class CommandArgs {
  constructor(
    private readonly values: readonly unknown[],
    private readonly manager: SessionManager,
  ) {}

  /** The session given (the object, or its id), else the focused one (or the only one). */
  session(i: number): Session {
    const v = this.values[i];
    const s = this.manager.sessions.find((x) => x === v || x.id === v) ?? this.manager.active;
    if (!s) throw new InputError('no session is selected: attach a backing file or an ivshmem server first');
    return s;
  }

  /** A file given as a Uri or a path. */
  uri(i: number): vscode.Uri | undefined {
    const v = this.values[i];
    if (v instanceof vscode.Uri) return v;
    if (typeof v === 'string' && v.length > 0 && v.length <= 4096 && !v.includes('\0')) return vscode.Uri.file(v);
    return undefined;
  }

  /** A path (or a socket's path, or unix:PATH) given as text or a Uri. */
  path(i: number): string | undefined {
    const v = this.values[i];
    if (v instanceof vscode.Uri) return v.fsPath;
    return typeof v === 'string' && v.length > 0 && v.length <= 4096 && !v.includes('\0') ? v : undefined;
  }

  /** Text such as an offset typed elsewhere ("0x10"); a number is taken as its decimal text. */
  text(i: number): string | undefined {
    const v = this.values[i];
    if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
    return typeof v === 'string' && v.length <= 4096 ? v : undefined;
  }

  /** A whole number that is not negative. */
  count(i: number): number | undefined {
    const v = this.values[i];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  }

  /** A finite number that is not negative (a time in ms). */
  number(i: number): number | undefined {
    const v = this.values[i];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
  }

  /** A peer of the Peers view (its item), of a session we hold. */
  peer(i: number): Extract<PeerItem, { kind: 'peer' }> {
    const v = this.values[i] as Partial<PeerItem> | undefined;
    if (typeof v !== 'object' || v === null || v.kind !== 'peer' || !this.manager.sessions.includes(v.session as Session)) throw new InputError('choose a peer in the Peers view to ring');
    const { id, vectors } = v as { id?: unknown; vectors?: unknown };
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || typeof vectors !== 'number' || !Number.isSafeInteger(vectors)) throw new InputError('choose a peer in the Peers view to ring');
    return { kind: 'peer', session: v.session as Session, id, vectors };
  }

  /** A range of bytes: { offset, length } with whole numbers. */
  range(i: number): { offset: number; length: number } | undefined {
    const v = this.values[i] as { offset?: unknown; length?: unknown } | undefined;
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.offset) || !Number.isSafeInteger(v.length)) throw new InputError('a range is { offset, length } in whole numbers');
    return { offset: v.offset as number, length: v.length as number };
  }

  /** A boolean option of an options object, e.g. { consistent: true }. */
  option(i: number, key: string): boolean | undefined {
    const v = this.values[i];
    if (typeof v !== 'object' || v === null) return undefined;
    const o = (v as Record<string, unknown>)[key];
    return typeof o === 'boolean' ? o : undefined;
  }

  /** Edits a script makes to a guest-side copy: [{ offset, bytes: number[] }]. */
  edits(i: number): { offset: number; bytes: Uint8Array }[] | undefined {
    const v = this.values[i] as { edits?: unknown } | undefined;
    if (typeof v !== 'object' || v === null || v.edits === undefined) return undefined;
    if (!Array.isArray(v.edits) || v.edits.length > 10_000) throw new InputError('edits must be a list of { offset, bytes }');
    return v.edits.map((e: { offset?: unknown; bytes?: unknown }) => {
      const ok = typeof e === 'object' && e !== null && Number.isSafeInteger(e.offset) && (e.offset as number) >= 0 && Array.isArray(e.bytes) && e.bytes.length <= 1 << 20 && e.bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
      if (!ok) throw new InputError('an edit is { offset, bytes } with bytes 0..255');
      return { offset: e.offset as number, bytes: Uint8Array.from(e.bytes as number[]) };
    });
  }
}
