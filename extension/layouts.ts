import * as vscode from 'vscode';
import { InputError } from '../core/errors';
import { checkAgainstSegment, compileLayout } from '../core/layout/compile';
import type { Layout } from '../core/layout/model';
import type { Session } from './session';

/** Reads and compiles a layout file for a session; every problem is an InputError with its place. */
export async function loadLayout(uri: vscode.Uri, session: Session): Promise<Layout> {
  let text: string;
  try {
    const bytes = await vscode.workspace.fs.readFile(uri);
    if (bytes.length > 1024 * 1024) throw new InputError(`${uri.fsPath} is larger than 1 MiB: not a layout`);
    text = new TextDecoder().decode(bytes);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the layout ${uri.fsPath}: ${(err as Error).message}`);
  }
  return fromText(text, uri.fsPath, session);
}

export function fromText(text: string, name: string, session: Session): Layout {
  const { layout, problems } = compileLayout(text);
  const p = problems[0];
  if (!layout || p) throw new InputError(`${name}:${p?.line ?? 1}:${p?.column ?? 1}: ${p?.message ?? 'not a layout'}`);
  const outside = checkAgainstSegment(layout, session.remote.info.size);
  if (outside.length > 0) throw new InputError(`${name}: ${outside[0]}`);
  return layout;
}

/**
 * Diagnostics for *.shmlayout.json files as the user types (the JSON Schema contributed in
 * package.json gives completion; this adds what a schema cannot check: offsets, sizes, overlaps,
 * recursive types, values that do not fit their field).
 */
export function registerLayoutDiagnostics(context: vscode.ExtensionContext): vscode.DiagnosticCollection {
  const collection = vscode.languages.createDiagnosticCollection('shmlayout');
  const check = (doc: vscode.TextDocument): void => {
    if (!doc.fileName.endsWith('.shmlayout.json')) return;
    const { problems } = compileLayout(doc.getText());
    collection.set(
      doc.uri,
      problems.map((p) => {
        const start = doc.positionAt(p.offset);
        const end = doc.positionAt(p.offset + Math.max(1, p.length));
        const d = new vscode.Diagnostic(new vscode.Range(start, end), p.message, vscode.DiagnosticSeverity.Error);
        d.source = 'Shared Memory Inspector';
        return d;
      }),
    );
  };
  context.subscriptions.push(
    collection,
    vscode.workspace.onDidOpenTextDocument(check),
    vscode.workspace.onDidChangeTextDocument((e) => check(e.document)),
    vscode.workspace.onDidCloseTextDocument((doc) => collection.delete(doc.uri)),
  );
  vscode.workspace.textDocuments.forEach(check);
  return collection;
}
