/** The answering side of the messenger (shared/messenger.ts): a panel in the extension host, or an agent. */
import { MessageError } from './checks';
import { checkForServer, isolated, type Endpoint, type ErrorCode, type NoteBody, type NoteHandlers, type Params, type Protocol, type Reply, type RequestName, type Wire } from './protocol';

export interface ServerOptions extends Endpoint {
  /** What a failed handler's error becomes for the other side: its kind and one line. */
  describe(err: unknown, type: string): { code: ErrorCode; message: string };
}

export interface RequestContext {
  readonly id: number;
  /** Aborts when the client cancels (or gives up waiting), and when the server is disposed. */
  readonly signal: AbortSignal;
  progress(done: number, total: number): void;
}

/** One handler per request type, each returning that type's reply: a missing or mistyped one does not compile. */
export type Handlers<S extends Protocol> = { [K in RequestName<S>]: (params: Params<S, K>, context: RequestContext) => Reply<S, K> | Promise<Reply<S, K>> };

/** The answering side. Feed it every message from the client with receive(). */
export class Server<S extends Protocol> {
  private readonly running = new Map<number, AbortController>();
  private disposed = false;

  constructor(
    readonly protocol: S,
    private readonly options: ServerOptions,
    private readonly handlers: Handlers<S>,
    private readonly notes: NoteHandlers<S['up']>,
  ) {}

  /** Handles one message from the client; resolves once a request it carried has been answered. */
  async receive(raw: unknown): Promise<void> {
    if (this.disposed) return;
    let m: Wire;
    try {
      m = checkForServer(this.protocol, raw);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      // A request with a readable id gets its 'input' error: the client does not wait for nothing.
      const r = raw as { m?: unknown; id?: unknown } | null;
      return this.refuse(err, raw, r?.m === 'request' ? r.id : undefined);
    }
    switch (m.m) {
      case 'request':
        return this.answer(m.id, m.type, m.params, raw);
      case 'cancel':
        this.running.get(m.id)?.abort();
        return;
      case 'note': {
        const handler = this.notes[m.type as keyof S['up']] as (body: unknown) => unknown;
        const body = m.body;
        return isolated(() => handler(body), this.options.onHandlerError);
      }
    }
  }

  /** Sends a one-way note to the client. */
  notify<K extends keyof S['down'] & string>(type: K, body: NoteBody<S['down'], K>): void {
    this.send({ m: 'note', type, body });
  }

  /** Requests being answered now. */
  get answering(): number {
    return this.running.size;
  }

  /** Aborts every running handler: each still answers (as cancelled, if it stops for it). */
  abortAll(): void {
    for (const abort of this.running.values()) abort.abort();
  }

  /**
   * The client started over (a webview's page is built again when its tab is shown again, and its
   * ids start again at 1): the old page's requests are aborted and their answers dropped, so that
   * none can reach the new page under a reused id.
   */
  restart(): void {
    for (const abort of this.running.values()) abort.abort();
    this.running.clear();
  }

  /** Aborts every running handler; nothing is sent from now on. */
  dispose(): void {
    if (this.disposed) return;
    for (const abort of this.running.values()) abort.abort();
    this.disposed = true;
  }

  private async answer(id: number, type: string, params: unknown, raw: unknown): Promise<void> {
    if (this.running.has(id)) return this.refuse(new MessageError(`request id ${id} is already in use`), raw, id);
    const abort = new AbortController();
    this.running.set(id, abort);
    const context: RequestContext = {
      id,
      signal: abort.signal,
      progress: (done, total) => {
        if (this.running.get(id) === abort) this.send({ m: 'progress', id, done, total });
      },
    };
    // Only the request that is still this id's may answer (see restart).
    const current = (): boolean => this.running.get(id) === abort;
    try {
      const handler = this.handlers[type as RequestName<S>] as (params: unknown, context: RequestContext) => unknown;
      const body = await handler(params, context);
      if (current()) this.send({ m: 'reply', id, ok: true, body });
    } catch (err) {
      const { code, message } = this.options.describe(err, type);
      if (current()) this.send({ m: 'reply', id, ok: false, code: abort.signal.aborted ? 'cancelled' : code, message });
    } finally {
      if (current()) this.running.delete(id);
    }
  }

  /** A message that failed its checks: reported, and a request with a readable id gets an 'input' error. */
  private refuse(err: MessageError, raw: unknown, id: unknown): void {
    this.options.onMalformed?.(err, raw);
    if (typeof id === 'number' && Number.isSafeInteger(id) && id >= 1) this.send({ m: 'reply', id, ok: false, code: 'input', message: `malformed request: ${err.message}` });
  }

  private send(message: Wire): void {
    if (this.disposed) return;
    try {
      const sent = this.options.post(message);
      if (sent && typeof sent.then === 'function') sent.then(undefined, (err: unknown) => this.options.onHandlerError?.(err));
    } catch (err) {
      this.options.onHandlerError?.(err);
    }
  }
}
