/** The asking side of the messenger (shared/messenger.ts): a webview, or the parent of an agent. */
import { MessageError } from './checks';
import { RequestError, checkForClient, isolated, type Endpoint, type ErrorCode, type NoteBody, type NoteHandlers, type Params, type Protocol, type Reply, type RequestName, type Wire } from './protocol';

export interface ClientOptions extends Endpoint {
  /** Who answers, in error messages: "the extension", "the agent". */
  peer: string;
  /** The timeout of a request whose type sets none; 0: none. */
  timeoutMs: number;
  /** Turns a failed request's kind and message into the Error it rejects with (default RequestError). */
  toError?(code: ErrorCode, message: string): Error;
  /** After a cancel, how long the server has to confirm before the request ends here anyway (5 s). */
  cancelGraceMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
  /** Overrides the request type's timeout; 0: none. */
  timeoutMs?: number;
}

interface Pending {
  type: string;
  resolve(body: unknown): void;
  reject(err: Error): void;
  onProgress: ((done: number, total: number) => void) | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  release(): void;
}

/** The asking side. Feed it every message from the other side with receive(). */
export class Client<S extends Protocol> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedWith: Error | undefined;

  constructor(
    readonly protocol: S,
    private readonly options: ClientOptions,
    private readonly notes: NoteHandlers<S['down']>,
  ) {}

  /** Asks; resolves with the reply the protocol names for `type`, or rejects with its error. */
  request<K extends RequestName<S>>(type: K, params: Params<S, K>, options: RequestOptions = {}): Promise<Reply<S, K>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (options.signal?.aborted) return Promise.reject(this.error('cancelled', 'cancelled'));
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.protocol.requests[type]?.timeoutMs ?? this.options.timeoutMs;
    return new Promise<Reply<S, K>>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => this.cancel(id);
      const entry: Pending = {
        type,
        resolve: resolve as (body: unknown) => void,
        reject,
        onProgress: options.onProgress,
        timer: undefined,
        release: () => signal?.removeEventListener('abort', onAbort),
      };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.send({ m: 'cancel', id });
          this.settle(id, undefined, this.error('timeout', `no answer from ${this.options.peer} to a ${type} request within ${timeoutMs / 1000} s`));
        }, timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, entry);
      this.send({ m: 'request', id, type, params }, id);
    });
  }

  /** Sends a one-way note to the server. */
  notify<K extends keyof S['up'] & string>(type: K, body: NoteBody<S['up'], K>): void {
    if (!this.closedWith) this.send({ m: 'note', type, body });
  }

  /** Requests still waiting for their end. */
  get waiting(): number {
    return this.pending.size;
  }

  /** The other side is gone: every pending request ends with `error`, and so will new ones. */
  close(error: Error): void {
    this.closedWith ??= error;
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, error);
  }

  /** Handles one message from the server: a reply, progress, or a note. */
  receive(raw: unknown): void {
    let m: Wire;
    try {
      m = checkForClient(this.protocol, raw);
    } catch (err) {
      if (err instanceof MessageError) return this.options.onMalformed?.(err, raw);
      throw err;
    }
    if (m.m === 'reply') {
      const entry = this.pending.get(m.id);
      if (!entry) return;
      if (!m.ok) return this.settle(m.id, undefined, this.error(m.code, m.message));
      let body: unknown;
      try {
        body = this.protocol.requests[entry.type]!.reply(m.body);
      } catch (err) {
        if (!(err instanceof MessageError)) throw err;
        this.options.onMalformed?.(err, raw);
        return this.settle(m.id, undefined, this.error('internal', `${this.options.peer} sent a malformed ${entry.type} reply: ${err.message}`));
      }
      return this.settle(m.id, body);
    }
    if (m.m === 'progress') {
      const onProgress = this.pending.get(m.id)?.onProgress;
      const { done, total } = m;
      if (onProgress) void isolated(() => onProgress(done, total), this.options.onHandlerError);
      return;
    }
    if (m.m === 'note') {
      const handler = this.notes[m.type as keyof S['down']] as (body: unknown) => unknown;
      const body = m.body;
      void isolated(() => handler(body), this.options.onHandlerError);
    }
  }

  private cancel(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.send({ m: 'cancel', id });
    // The server answers a cancel with a 'cancelled' error; if it cannot, the request ends anyway.
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.settle(id, undefined, this.error('cancelled', 'cancelled')), this.options.cancelGraceMs ?? 5000);
  }

  private send(message: Wire, id?: number): void {
    const fail = (err: unknown): void => {
      if (id !== undefined) this.settle(id, undefined, err instanceof Error ? err : this.error('lost', String(err)));
    };
    try {
      const sent = this.options.post(message);
      if (sent && typeof sent.then === 'function') sent.then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }

  private settle(id: number, body: unknown, error?: Error): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    entry.release();
    if (error) entry.reject(error);
    else entry.resolve(body);
  }

  private error(code: ErrorCode, message: string): Error {
    return this.options.toError ? this.options.toError(code, message) : new RequestError(code, message);
  }
}
