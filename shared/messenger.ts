/**
 * The one messenger: typed requests with replies, and notes (one-way messages), between the two
 * sides of a boundary. Every webview talks to its panel through it, and the parent to its agent.
 * The *client* asks (the webview, the parent); the *server* answers (the panel, the agent).
 *
 * - A protocol names each request's params and reply type, and how each is checked where it
 *   arrives (the checks of shared/checks.ts). A handler for `read` must return read's reply type:
 *   answering a read with a search result does not compile.
 * - Every request ends exactly once: a reply, a typed error (ErrorCode, the kinds of core/errors.ts),
 *   a cancellation (an AbortSignal; the server's handler sees its own signal abort) or a timeout.
 *   Its timer is cleared when it ends; nothing outlives it. `close()` ends every pending request
 *   when the other side is gone.
 * - Long requests report progress; notes go either way (`up`: client → server, `down`: server →
 *   client), one handler per note, and a handler that throws is reported, never stops the others.
 * - Bytes travel as Uint8Array (both transports use structured clone): never base64 or arrays.
 *
 * Why ours and not vscode-messenger (the Eclipse Memory Inspector's): that one types params as
 * JSON (no Uint8Array), has no timeout (a lost reply waits for ever), no progress, sends the
 * handler's stack to the other side as the error, carries no error kind, checks nothing, and works
 * only between a webview and the extension host, not with our agent process. This file is smaller
 * than what we would have to add to it.
 *
 * How to add a new view's protocol (e.g. a timeline editor, webview/timeline-protocol.ts):
 *
 *   export const timelineProtocol = defineProtocol({
 *     requests: {
 *       // params checked on the host (the webview is untrusted); reply trusted by the webview
 *       frame: request((v) => { const o = obj(v, 'frame'); return { index: int(o, 'index', 0, 1e9) }; }, trusted<{ bytes: Uint8Array }>()),
 *       // a long request: no timeout, cancellable, may report progress
 *       scan: request(checkScan, trusted<{ hits: number[] }>(), { timeoutMs: 0 }),
 *     },
 *     up: { ready: empty },                       // webview → host notes, checked on the host
 *     down: { model: trusted<TimelineModel>() },  // host → webview notes
 *   });
 *
 * In the webview (see webview/diff-main.ts):
 *   const host = new Client(timelineProtocol, { post: (m) => vscode.postMessage(m), peer: 'the extension', timeoutMs: 15_000 }, { model: render });
 *   window.addEventListener('message', (e) => host.receive(e.data));
 *   const { bytes } = await host.request('frame', { index: 3 });   // typed; rejects with RequestError (.code)
 * In the panel (see extension/diff-panel.ts): `new Server(timelineProtocol, webviewServer(panel, log,
 * 'timeline'), { frame: async (p, ctx) => ..., scan: ... }, { ready: () => ... })`, fed by
 * `panel.webview.onDidReceiveMessage((m) => void server.receive(m))`, disposed with the panel.
 * Throw InputError / SourceLostError / CancelledError in a handler: the webview gets the kind.
 */
export * from './protocol';
export * from './client';
export * from './server';
