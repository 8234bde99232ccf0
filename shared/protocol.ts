/** The messenger's protocols and envelope (the door and its how-to: shared/messenger.ts). */
import { MAX_OFFSET, MessageError, int, obj, oneOf, quote, str, type Check } from './checks';

/** The kind of a failed request, the same across every boundary (core/errors.ts maps classes). */
export type ErrorCode = 'input' | 'lost' | 'cancelled' | 'timeout' | 'internal';
export const ERROR_CODES: readonly ErrorCode[] = ['input', 'lost', 'cancelled', 'timeout', 'internal'];

/** A failed request as a client sees it (unless its toError makes another class): kind and one line. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RequestType<P, R> {
  readonly params: Check<P>;
  readonly reply: Check<R>;
  /** 0: no timeout (a long request; it should be cancellable). Default: the client's. */
  readonly timeoutMs?: number;
}

/** One request type: how its params and its reply are checked where they arrive. */
export function request<P, R>(params: Check<P>, reply: Check<R>, options: { timeoutMs?: number } = {}): RequestType<P, R> {
  return { params, reply, ...options };
}

export type Notes = Readonly<Record<string, Check<unknown>>>;

export interface Protocol {
  readonly requests: Readonly<Record<string, RequestType<unknown, unknown>>>;
  /** Notes from the client to the server. */
  readonly up: Notes;
  /** Notes from the server to the client. */
  readonly down: Notes;
}

/** Returns the protocol as it is; it only makes TypeScript check its shape and keep its types. */
export function defineProtocol<S extends Protocol>(spec: S): S {
  return spec;
}

export type RequestName<S extends Protocol> = keyof S['requests'] & string;
export type Params<S extends Protocol, K extends RequestName<S>> = ReturnType<S['requests'][K]['params']>;
export type Reply<S extends Protocol, K extends RequestName<S>> = ReturnType<S['requests'][K]['reply']>;
export type NoteBody<M extends Notes, K extends keyof M> = ReturnType<M[K]>;
/** One handler per note: a view that forgets one does not compile. */
export type NoteHandlers<M extends Notes> = { [K in keyof M]: (body: NoteBody<M, K>) => void | Promise<void> };

/** What travels: one envelope for every protocol. */
export type Wire =
  | { m: 'request'; id: number; type: string; params: unknown }
  | { m: 'cancel'; id: number }
  | { m: 'note'; type: string; body: unknown }
  | { m: 'reply'; id: number; ok: true; body: unknown }
  | { m: 'reply'; id: number; ok: false; code: ErrorCode; message: string }
  | { m: 'progress'; id: number; done: number; total: number };

const MAX_ID = Number.MAX_SAFE_INTEGER;

/** Checks the envelope; bodies are checked by the protocol's own checks. */
export function parseWire(raw: unknown): Wire {
  const o = obj(raw, 'message');
  switch (o.m) {
    case 'request':
      return { m: 'request', id: int(o, 'id', 1, MAX_ID), type: str(o, 'type', 64), params: o.params };
    case 'cancel':
      return { m: 'cancel', id: int(o, 'id', 1, MAX_ID) };
    case 'note':
      return { m: 'note', type: str(o, 'type', 64), body: o.body };
    case 'reply': {
      const id = int(o, 'id', 1, MAX_ID);
      if (o.ok === true) return { m: 'reply', id, ok: true, body: o.body };
      if (o.ok === false) return { m: 'reply', id, ok: false, code: oneOf(o, 'code', ERROR_CODES), message: str(o, 'message', 64 * 1024) };
      throw new MessageError('ok must be true or false');
    }
    case 'progress':
      return { m: 'progress', id: int(o, 'id', 1, MAX_ID), done: int(o, 'done', 0, MAX_OFFSET), total: int(o, 'total', 0, MAX_OFFSET) };
    default:
      throw new MessageError(`unknown message kind ${quote(o.m)}`);
  }
}

/**
 * Checks a message as the server does before acting on it: the envelope, then the request's params
 * or the note's body by the protocol. Returns it with the checked values; throws a MessageError.
 */
export function checkForServer(protocol: Protocol, raw: unknown): Wire {
  const m = parseWire(raw);
  switch (m.m) {
    case 'request':
      if (!own(protocol.requests, m.type)) throw new MessageError(`unknown request ${quote(m.type)}`);
      return { ...m, params: protocol.requests[m.type]!.params(m.params) };
    case 'note':
      if (!own(protocol.up, m.type)) throw new MessageError(`unknown note ${quote(m.type)}`);
      return { ...m, body: protocol.up[m.type]!(m.body) };
    case 'cancel':
      return m;
    default:
      throw new MessageError(`a ${m.m} message for the answering side`);
  }
}

/** Checks a message as the client does: the envelope, and a note's body by the protocol (a reply's body is checked against the request it answers). */
export function checkForClient(protocol: Protocol, raw: unknown): Wire {
  const m = parseWire(raw);
  switch (m.m) {
    case 'note':
      if (!own(protocol.down, m.type)) throw new MessageError(`unknown note ${quote(m.type)}`);
      return { ...m, body: protocol.down[m.type]!(m.body) };
    case 'reply':
    case 'progress':
      return m;
    default:
      throw new MessageError(`a ${m.m} message for the asking side`);
  }
}

/** What both sides are given. */
export interface Endpoint {
  /** Sends a message. A returned promise that rejects fails the request the message carried. */
  post(message: Wire): void | PromiseLike<unknown>;
  /** A message from the other side that failed its checks: it is dropped (and should be logged). */
  onMalformed?(err: MessageError, raw: unknown): void;
  /** A note or progress handler threw: reported here; delivery goes on. */
  onHandlerError?(err: unknown): void;
}

export function own(table: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(table, key);
}

/** Runs a handler so that neither its exception nor its rejection escapes. */
export function isolated(run: () => unknown, report: ((err: unknown) => void) | undefined): Promise<void> {
  try {
    return Promise.resolve(run()).then(
      () => undefined,
      (err) => report?.(err),
    );
  } catch (err) {
    report?.(err);
    return Promise.resolve();
  }
}
