import * as vscode from 'vscode';
import { inert } from './inert';

export { inert } from './inert';

/**
 * A Markdown tooltip from our own Markdown (`{ md }`) and outside text (plain strings, made inert
 * and escaped: shown as text). Never trusted, no HTML.
 */
export function markdown(...parts: (string | { md: string })[]): vscode.MarkdownString {
  const m = new vscode.MarkdownString();
  for (const p of parts) {
    if (typeof p === 'string') m.appendText(inert(p));
    else m.appendMarkdown(p.md);
  }
  return m;
}
