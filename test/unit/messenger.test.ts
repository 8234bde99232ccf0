import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CancelledError, InputError, SourceLostError, TimeoutError, errorCode, errorFromCode } from '../../core/errors';
import { MessageError, bytes, empty, int, obj, trusted } from '../../shared/checks';
import { Client, RequestError, Server, defineProtocol, request, type Handlers, type Wire } from '../../shared/messenger';

const demo = defineProtocol({
  requests: {
    read: request((v) => {
      const o = obj(v, 'read');
      return { offset: int(o, 'offset', 0, 1 << 20), length: int(o, 'length', 1, 4096) };
    }, trusted<{ bytes: Uint8Array }>()),
    search: request((v) => ({ pattern: bytes(obj(v, 'search'), 'pattern', 1, 16) }), trusted<{ offset: number | null }>(), { timeoutMs: 0 }),
    hang: request(empty, trusted<Record<string, never>>(), { timeoutMs: 40 }),
  },
  up: { ready: empty, viewport: (v) => ({ offset: int(obj(v, 'viewport'), 'offset', 0, 100) }) },
  down: { changed: (v) => ({ n: int(obj(v, 'changed'), 'n', 0, 100) }), model: trusted<{ name: string }>() },
});

/** Timers alive in this process (real handles, as Node counts them). */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/**
 * A client and a server joined the way postMessage joins them: structured clone (so a Uint8Array
 * stays one), delivered on a later turn. `drop` loses messages on the way to the server.
 */
function pair(handlers: Partial<Handlers<typeof demo>> = {}, options: { drop?: (m: Wire) => boolean } = {}) {
  const seenByServer: Wire[] = [];
  const notes: unknown[] = [];
  const noteErrors: unknown[] = [];
  const malformed: string[] = [];
  const never = (): never => {
    throw new Error('not in this test');
  };
  const server: Server<typeof demo> = new Server(
    demo,
    {
      post: (m) => void setImmediate(() => client.receive(structuredClone(m))),
      describe: (err) => ({ code: errorCode(err), message: (err as Error).message }),
      onMalformed: (err) => malformed.push(err.message),
    },
    { read: never, search: never, hang: () => new Promise(() => undefined), ...handlers } as Handlers<typeof demo>,
    { ready: () => undefined, viewport: (v) => void notes.push(v) },
  );
  const client: Client<typeof demo> = new Client(
    demo,
    {
      post: (m) => {
        seenByServer.push(m);
        if (!options.drop?.(m)) setImmediate(() => void server.receive(structuredClone(m)));
      },
      peer: 'the test server',
      timeoutMs: 1000,
      onHandlerError: (err) => noteErrors.push(err),
    },
    {
      changed: (c) => {
        if (c.n === 2) throw new Error('a listener that throws');
        notes.push(c);
      },
      model: (m) => void notes.push(m),
    },
  );
  return { client, server, seenByServer, notes, noteErrors, malformed };
}

test('a request gets the reply its type names, with bytes as Uint8Array', async () => {
  const { client } = pair({ read: (r) => ({ bytes: new Uint8Array(r.length).fill(r.offset) }) });
  const { bytes: got } = await client.request('read', { offset: 7, length: 3 });
  assert.ok(got instanceof Uint8Array, 'bytes did not arrive as a Uint8Array');
  assert.deepEqual([...got], [7, 7, 7]);
  assert.equal(client.waiting, 0);
});

test('answering a request with another request\'s reply does not compile', () => {
  // The check is TypeScript's: this file does not build if the directive below goes unused.
  const handlers: Pick<Handlers<typeof demo>, 'read'> = {
    // @ts-expect-error: a read answered with a search result
    read: () => ({ offset: null }),
  };
  assert.equal(typeof handlers.read, 'function');
});

test('the error kind travels: the client gets the code, and toError rebuilds the class', async () => {
  const throwing = (err: Error) => () => {
    throw err;
  };
  for (const [err, code] of [
    [new InputError('offset 9 is past the end'), 'input'],
    [new SourceLostError('the backing file was deleted'), 'lost'],
    [new CancelledError(), 'cancelled'],
    [new TimeoutError('slow'), 'timeout'],
    [new TypeError('a bug'), 'internal'],
  ] as const) {
    const { client } = pair({ read: throwing(err) });
    await assert.rejects(client.request('read', { offset: 0, length: 1 }), (e: unknown) => e instanceof RequestError && e.code === code && e.message === err.message);
  }
  // A Node-side client gets the classes of core/errors back.
  assert.ok(errorFromCode('lost', 'x') instanceof SourceLostError);
  assert.ok(errorFromCode('timeout', 'x') instanceof TimeoutError);
});

test('a request whose reply never comes ends in a timeout, tells the server to stop, and leaves no timer behind', async () => {
  let stopped = false;
  const { client, seenByServer } = pair({
    hang: (_p, context) =>
      new Promise((_resolve, reject) => {
        context.signal.addEventListener('abort', () => {
          stopped = true;
          reject(new CancelledError());
        });
      }),
  });
  const before = timers();
  const started = Date.now();
  await assert.rejects(client.request('hang', {}), (e: unknown) => e instanceof RequestError && e.code === 'timeout' && /no answer from the test server to a hang request within 0.04 s/.test(e.message));
  assert.ok(Date.now() - started >= 35, 'it gave up before its timeout');
  assert.equal(client.waiting, 0);
  assert.ok(seenByServer.some((m) => m.m === 'cancel'), 'the server was not told');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(stopped, true, 'the server went on working for nobody');
  assert.equal(timers(), before, 'a timer outlived its request');
});

test('no timer outlives a request that was answered (200 requests)', async () => {
  const { client } = pair({ read: (r) => ({ bytes: new Uint8Array(r.length) }) });
  const before = timers();
  await Promise.all(Array.from({ length: 200 }, (_, i) => client.request('read', { offset: i, length: 1 })));
  assert.equal(timers(), before);
  assert.equal(client.waiting, 0);
});

test('a lost message ends its request too (timeout), not a wait for ever', async () => {
  const { client } = pair({ read: (r) => ({ bytes: new Uint8Array(r.length) }) }, { drop: (m) => m.m === 'request' });
  await assert.rejects(client.request('read', { offset: 0, length: 1 }, { timeoutMs: 30 }), (e: unknown) => e instanceof RequestError && e.code === 'timeout');
});

test('cancellation: the handler sees its signal abort, the request ends as cancelled; progress arrives on the way', async () => {
  let aborted = false;
  const { client, server } = pair({
    search: (_p, context) =>
      new Promise((_resolve, reject) => {
        context.progress(1, 4);
        context.signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('stopped'));
        });
      }),
  });
  const abort = new AbortController();
  const progress: number[][] = [];
  const p = client.request('search', { pattern: new Uint8Array([1]) }, { signal: abort.signal, onProgress: (d, t) => progress.push([d, t]) });
  while (progress.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal(server.answering, 1);
  abort.abort();
  await assert.rejects(p, (e: unknown) => e instanceof RequestError && e.code === 'cancelled');
  assert.equal(aborted, true);
  assert.deepEqual(progress, [[1, 4]]);
  assert.equal(server.answering, 0);
  // Already cancelled: nothing is sent.
  await assert.rejects(client.request('search', { pattern: new Uint8Array([1]) }, { signal: abort.signal }), (e: unknown) => e instanceof RequestError && e.code === 'cancelled');
});

test('a cancel the server never confirms still ends the request (after the grace period)', async () => {
  const { client } = pair({ search: () => new Promise(() => undefined) }, { drop: (m) => m.m === 'cancel' });
  (client as unknown as { options: { cancelGraceMs: number } }).options.cancelGraceMs = 20;
  const abort = new AbortController();
  const p = client.request('search', { pattern: new Uint8Array([1]) }, { signal: abort.signal });
  abort.abort();
  await assert.rejects(p, (e: unknown) => e instanceof RequestError && e.code === 'cancelled');
  assert.equal(client.waiting, 0);
});

test('close() ends every pending request with its error, and later ones at once', async () => {
  const { client } = pair({ search: () => new Promise(() => undefined) });
  const before = timers();
  const p = client.request('read', { offset: 0, length: 1 }, { timeoutMs: 60_000 });
  const lost = new SourceLostError('the agent was killed by SIGKILL');
  client.close(lost);
  await assert.rejects(p, (e: unknown) => e === lost);
  await assert.rejects(client.request('read', { offset: 0, length: 1 }), (e: unknown) => e === lost);
  assert.equal(timers(), before);
});

test('a note handler that throws does not stop the notes after it, and its error is reported', async () => {
  const { client, server, notes, noteErrors } = pair();
  server.notify('changed', { n: 1 });
  server.notify('changed', { n: 2 });
  server.notify('model', { name: 'after' });
  while (notes.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepEqual(notes, [{ n: 1 }, { name: 'after' }]);
  assert.equal(noteErrors.length, 1);
  assert.equal((noteErrors[0] as Error).message, 'a listener that throws');
  assert.equal(client.waiting, 0);
});

test('malformed messages to the server: dropped and reported; a request with a readable id gets an input error', async () => {
  const { client, server, notes, malformed } = pair();
  const replies: Wire[] = [];
  (server as unknown as { options: { post: (m: Wire) => void } }).options.post = (m) => void replies.push(m);
  await server.receive({ m: 'note', type: 'viewport', body: { offset: -1 } });
  await server.receive({ m: 'request', id: 12, type: 'read', params: { offset: 0, length: 0 } });
  await server.receive({ m: 'request', id: 13, type: 'exec', params: { command: 'rm -rf /' } });
  await server.receive('junk');
  assert.deepEqual(notes, []);
  assert.equal(malformed.length, 4);
  assert.deepEqual(
    replies.map((r) => (r.m === 'reply' && !r.ok ? [r.id, r.code] : r)),
    [
      [12, 'input'],
      [13, 'input'],
    ],
  );
  assert.equal(client.waiting, 0);
  assert.throws(() => demo.up.viewport({ offset: 1000 }), MessageError);
});

test('restart(): answers for the old page are dropped, so they can never reach a new page under a reused id', async () => {
  let release: (() => void) | undefined;
  const sent: Wire[] = [];
  const server = new Server(
    demo,
    { post: (m) => void sent.push(m), describe: (err) => ({ code: errorCode(err), message: String(err) }) },
    {
      read: () => new Promise<{ bytes: Uint8Array }>((resolve) => (release = () => resolve({ bytes: new Uint8Array(1) }))),
      search: () => ({ offset: null }),
      hang: () => ({}),
    },
    { ready: () => undefined, viewport: () => undefined },
  );
  const old = server.receive({ m: 'request', id: 1, type: 'read', params: { offset: 0, length: 1 } });
  server.restart();
  await server.receive({ m: 'request', id: 1, type: 'search', params: { pattern: new Uint8Array([1]) } });
  release!();
  await old;
  assert.deepEqual(sent, [{ m: 'reply', id: 1, ok: true, body: { offset: null } }], 'the old page\'s read reached the new page');
});
