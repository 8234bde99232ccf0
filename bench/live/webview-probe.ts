/**
 * A probe extension for bench/live/webview-reuse.ts: how long VS Code takes to show a webview's
 * page, by the way the webview is obtained. Installed alone in code-server (without the product),
 * it measures, on the extension host's clock, from the moment it asks for a page to the page's
 * first message (a page with one inline script, nothing else to load):
 * - new: a new panel each time (the previous one closed), as the hex view does per session now;
 * - newBesideOpen: a new panel while another one stays open in a second column;
 * - reuse: one panel kept, its HTML replaced (what a view reused for a new session would do);
 * - revealRetained: a panel with retainContextWhenHidden, hidden behind another editor, revealed
 *   and asked for an answer (what a view kept warm would do).
 * It writes its figures to $SHMEM_PROBE_OUT and does nothing without it.
 */
import * as fs from 'node:fs';
import * as vscode from 'vscode';

type Figures = Record<'new' | 'newBesideOpen' | 'reuse' | 'revealRetained', number[]> & { workerStartMs: number[] };

function page(n: number, nonce: string): string {
  return `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}';"></head>
<body>page ${n}<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
const nav = performance.getEntriesByType('navigation')[0];
vscode.postMessage({ loaded: ${n}, workerStart: nav ? nav.workerStart - nav.startTime : -1 });
window.addEventListener('message', (e) => { if (e.data && e.data.ping !== undefined) vscode.postMessage({ pong: e.data.ping }); });
</script></body></html>`;
}

function nextMessage(panel: vscode.WebviewPanel, match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const d = panel.webview.onDidReceiveMessage((m: Record<string, unknown>) => {
      if (match(m)) {
        d.dispose();
        resolve(m);
      }
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function activate(): Promise<void> {
  const out = process.env.SHMEM_PROBE_OUT;
  if (!out) return;
  const runs = Number(process.env.SHMEM_PROBE_RUNS ?? '5');
  const figures: Figures = { new: [], newBesideOpen: [], reuse: [], revealRetained: [], workerStartMs: [] };
  let n = 0;
  const options = { enableScripts: true };
  const show = async (panel: vscode.WebviewPanel, into: number[]): Promise<void> => {
    const id = ++n;
    const started = Date.now();
    const loaded = nextMessage(panel, (m) => m.loaded === id);
    panel.webview.html = page(id, `n${id}x${Math.random().toString(36).slice(2)}`);
    const m = await loaded;
    into.push(Date.now() - started);
    figures.workerStartMs.push(Math.round(Number(m.workerStart)));
  };
  try {
    // A first page warms up what any first use pays once; not counted.
    const warm = vscode.window.createWebviewPanel('probe', 'warm', vscode.ViewColumn.One, options);
    await show(warm, []);
    warm.dispose();
    for (let i = 0; i < runs; i++) {
      const started = Date.now();
      const panel = vscode.window.createWebviewPanel('probe', `new ${i}`, vscode.ViewColumn.One, options);
      const before: number[] = [];
      await show(panel, before);
      figures.new.push(Date.now() - started);
      panel.dispose();
      await sleep(300);
    }
    const beside = vscode.window.createWebviewPanel('probe', 'beside', vscode.ViewColumn.Two, options);
    await show(beside, []);
    for (let i = 0; i < runs; i++) {
      const started = Date.now();
      const panel = vscode.window.createWebviewPanel('probe', `beside ${i}`, vscode.ViewColumn.One, options);
      await show(panel, []);
      figures.newBesideOpen.push(Date.now() - started);
      panel.dispose();
      await sleep(300);
    }
    beside.dispose();
    const kept = vscode.window.createWebviewPanel('probe', 'kept', vscode.ViewColumn.One, options);
    await show(kept, []);
    for (let i = 0; i < runs; i++) {
      await show(kept, figures.reuse);
      await sleep(300);
    }
    kept.dispose();
    const retained = vscode.window.createWebviewPanel('probe', 'retained', vscode.ViewColumn.One, { ...options, retainContextWhenHidden: true });
    await show(retained, []);
    for (let i = 0; i < runs; i++) {
      // Hidden behind another editor, then revealed and asked for an answer.
      const cover = await vscode.workspace.openTextDocument({ content: `cover ${i}` });
      await vscode.window.showTextDocument(cover, vscode.ViewColumn.One);
      await sleep(300);
      const started = Date.now();
      retained.reveal(vscode.ViewColumn.One);
      const pong = nextMessage(retained, (m) => m.pong === i);
      void retained.webview.postMessage({ ping: i });
      await pong;
      figures.revealRetained.push(Date.now() - started);
    }
    retained.dispose();
    fs.writeFileSync(out, JSON.stringify({ version: vscode.version, figures }));
  } catch (err) {
    fs.writeFileSync(out, JSON.stringify({ error: String((err as Error)?.stack ?? err) }));
  }
}

export function deactivate(): void {
  // nothing to stop
}
