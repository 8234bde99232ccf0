import * as vscode from 'vscode';
import { Server, type Handlers, type NoteHandlers, type Protocol } from '../shared/messenger';
import type { Log } from './log';

/**
 * The one way a panel answers its webview: a messenger Server on the panel's messages, every
 * message checked by the view's protocol (the webview is untrusted input: what fails its checks
 * is logged and dropped, a request among it answered with an 'input' error), every failure sent
 * with its kind (Log.describeForView). Dispose it with the panel: running requests are aborted.
 */
export function serveWebview<S extends Protocol>(
  panel: vscode.WebviewPanel,
  view: string,
  protocol: S,
  log: Log,
  handlers: Handlers<S>,
  notes: NoteHandlers<S['up']>,
): { server: Server<S>; subscription: vscode.Disposable } {
  let open = true;
  const server = new Server(
    protocol,
    {
      post: (message) => (open ? panel.webview.postMessage(message) : undefined),
      describe: (err, type) => log.describeForView(err, `the ${view}'s ${type} request`),
      onMalformed: (err) => log.channel.warn(`dropped a malformed message from the ${view}: ${err.message}`),
      onHandlerError: (err) => log.channel.error(`the ${view}: ${(err as Error)?.stack ?? String(err)}`),
    },
    handlers,
    notes,
  );
  const listener = panel.webview.onDidReceiveMessage((m: unknown) => void server.receive(m));
  return {
    server,
    subscription: new vscode.Disposable(() => {
      open = false;
      listener.dispose();
      server.dispose();
    }),
  };
}
