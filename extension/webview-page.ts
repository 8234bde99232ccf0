import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/**
 * The one way our panels get their page: our bundled script by a fresh nonce, our stylesheet, and
 * nothing else (no inline script or style, no other origin, files only from dist/webview and
 * media). No data goes into the HTML: each page builds its content from messages, with textContent.
 */
export function setWebviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, page: { script: string; style: string; title: string; images?: boolean }): void {
  webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')] };
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', page.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', page.style));
  const sources = [`default-src 'none'`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`];
  if (page.images) sources.push(`img-src ${webview.cspSource}`);
  sources.push(`script-src 'nonce-${nonce}'`);
  webview.html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${sources.join('; ')}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${page.title}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}

/** A page with one line of text: no script, nothing loaded (shown while a panel waits for its session). */
export function setPlaceholderPage(webview: vscode.Webview, text: string): void {
  webview.options = { enableScripts: false, localResourceRoots: [] };
  const p = text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><p>${p}</p></body></html>`;
}
