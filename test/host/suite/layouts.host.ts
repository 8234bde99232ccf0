/** Layouts inside the real extension host: Apply Layout, the Regions view, diagnostics. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ShmemInspectorApi } from '../../../extension/main';
import type { RegionItem } from '../../../extension/regions-view';
import type { Session } from '../../../extension/session';
import { test } from '../runner/harness';
import { api, eventually } from '../runner/in-host';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const RING = path.join(ROOT, 'examples', 'ring.shmlayout.json');

/** label → description of the items under an item of the Regions view. */
async function rows(a: ShmemInspectorApi, parent?: RegionItem): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const item of await a.regions.getChildren(parent)) {
    const t = a.regions.getTreeItem(item);
    out.set(String(typeof t.label === 'string' ? t.label : t.label?.label), String(t.description ?? ''));
  }
  return out;
}

test('Apply Layout: the Regions view shows decoded values, and follows a write by another process', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-layout-'));
  try {
    const file = path.join(dir, 'ring');
    const b = Buffer.alloc(8192);
    b.write('RING', 0, 'latin1');
    b.writeUInt32LE(41, 8);
    fs.writeFileSync(file, b);
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    assert.equal(await vscode.commands.executeCommand('shmemInspector.applyLayout', session, RING), 2);
    assert.equal(session.layoutSource, RING);
    const roots = await a.regions.getChildren();
    assert.deepEqual([...(await rows(a)).keys()], ['header', 'slots']);
    const header = roots[0]!;
    await eventually(async () => (await rows(a, header)).get('head') === '41', 'head = 41');
    assert.equal((await rows(a, header)).get('magic'), '"RING"');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([42]), 0, 1, 8);
    fs.closeSync(fd);
    await eventually(async () => (await rows(a, header)).get('head') === '42', 'head = 42 after the write');
    // The changed value carries the change dot.
    const head = (await a.regions.getChildren(header)).find((i) => i.kind === 'node' && i.node.label === 'head')!;
    assert.equal((a.regions.getTreeItem(head).iconPath as vscode.ThemeIcon).id, 'circle-filled');
    // Repeated regions expand element by element.
    const slots = roots[1]!;
    const elements = await a.regions.getChildren(slots);
    assert.equal(elements.length, 64);
    assert.deepEqual([...(await rows(a, elements[2])).keys()], ['seq', 'time', 'text']);
    // A layout that does not fit the segment is refused with its reason.
    const big = path.join(dir, 'big.shmlayout.json');
    fs.writeFileSync(big, JSON.stringify({ regions: [{ name: 'far', offset: 10000, type: 'u32' }] }));
    assert.equal(await vscode.commands.executeCommand('shmemInspector.applyLayout', session, big), undefined);
    assert.equal(session.layoutSource, RING, 'a refused layout replaced the good one');
    await vscode.commands.executeCommand('shmemInspector.detach', session);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a *.shmlayout.json being edited gets diagnostics at the right place', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmem-host-diag-'));
  try {
    const file = path.join(dir, 'bad.shmlayout.json');
    fs.writeFileSync(file, '{\n  "regions": [\n    { "name": "a", "offset": 0, "type": "u24" }\n  ]\n}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const diags = await eventually(() => {
      const d = vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'Shared Memory Inspector');
      return d.length > 0 ? d : undefined;
    }, 'the diagnostics');
    assert.match(diags[0]!.message, /unknown type "u24"/);
    assert.equal(diags[0]!.range.start.line, 2);
    assert.equal(diags[0]!.range.start.character, doc.lineAt(2).text.indexOf('"type"'));
    // Fixing the text clears them.
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, diags[0]!.range.with({ end: doc.positionAt(doc.getText().indexOf('"u24"') + 5) }), '"type": "u32"');
    await vscode.workspace.applyEdit(edit);
    await eventually(() => vscode.languages.getDiagnostics(doc.uri).filter((x) => x.source === 'Shared Memory Inspector').length === 0, 'the diagnostics to clear');
    // Leave the workbench as it was: the edit reverted, no editor open.
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
