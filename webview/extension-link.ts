import type { ClientOptions, Wire } from '../shared/messenger';

interface VsCodeApi {
  postMessage(message: Wire): void;
  setState(state: unknown): void;
  getState(): unknown;
}
declare function acquireVsCodeApi(): VsCodeApi;

/** The page's VS Code API. acquireVsCodeApi() may be called only once per page: here. */
export const vscode = acquireVsCodeApi();

/**
 * How every page's Client reaches its panel in the extension host: a request unanswered after
 * 15 s fails with a timeout; a malformed message or a throwing handler is logged to the page's
 * console (the webview's developer tools), never shown as the page's own text.
 */
export const toExtension: ClientOptions = {
  post: (m) => vscode.postMessage(m),
  peer: 'the extension',
  timeoutMs: 15_000,
  onHandlerError: (err) => console.error(err),
  onMalformed: (err) => console.error(err),
};
