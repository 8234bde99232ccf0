/**
 * The run-time checks of every message that crosses a boundary (webview → host, parent ↔ agent),
 * written once. Each takes an untrusted value and returns it typed, or throws a MessageError that
 * names the field in one line: the receiver logs it and never acts on the message.
 */

/** A message (or one of its fields) that failed its check. */
export class MessageError extends Error {
  override readonly name = 'MessageError';
}

/** Checks an untrusted value and returns it typed, or throws a MessageError. */
export type Check<T> = (value: unknown) => T;

export type Obj = Record<string, unknown>;

/** Largest segment or offset anything accepts, a message included: 2^48 bytes (256 TiB); core/numbers says why. */
export const MAX_OFFSET = 2 ** 48;

/** Quotes at most 40 characters of something unexpected, for an error message. */
export function quote(v: unknown): string {
  return JSON.stringify(String(v).slice(0, 40));
}

export function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MessageError(`${what} is not an object`);
  return v as Obj;
}

export function int(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new MessageError(`${key} must be an integer in ${min}..${max}, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

/** A finite number (not necessarily whole: times in ms carry µs) in min..max. */
export function num(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new MessageError(`${key} must be a number in ${min}..${max}, got ${typeof v === 'number' ? v : typeof v}`);
  return v;
}

export function str(o: Obj, key: string, maxLength = 4096): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLength || v.includes('\0')) throw new MessageError(`${key} must be a string of at most ${maxLength} characters without NUL`);
  return v;
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new MessageError(`${key} must be true or false`);
  return v;
}

/** Bytes travel as Uint8Array (structured clone), never as number arrays or base64. */
export function bytes(o: Obj, key: string, min: number, max: number): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max) throw new MessageError(`${key} must be ${min}..${max} bytes`);
  return v;
}

export function oneOf<T extends string>(o: Obj, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new MessageError(`${key} must be one of ${values.join(', ')}, got ${quote(v)}`);
  return v as T;
}

/** An optional field: undefined stays undefined, anything else must pass `check`. */
export function optional<T>(o: Obj, key: string, check: (o: Obj, key: string) => T): T | undefined {
  return o[key] === undefined ? undefined : check(o, key);
}

/** A body without fields (`{}`): anything else is refused, so nothing unexpected is carried along. */
export const empty: Check<Record<string, never>> = (v) => {
  const o = obj(v, 'body');
  if (Object.keys(o).length > 0) throw new MessageError(`unexpected field ${quote(Object.keys(o)[0])}`);
  return {};
};

/**
 * A body the receiver trusts as it is (the webview trusts its host; nothing else should): typed,
 * not checked. Use it only for messages that travel from the more trusted side to the less.
 */
export function trusted<T>(): Check<T> {
  return (v) => v as T;
}
