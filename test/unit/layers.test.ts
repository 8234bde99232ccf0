import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import { ROOT } from '../helpers/temp';

/** The layer rules live in eslint.config.mjs; this proves they fire, so a config slip cannot hide a break. */
async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('core/ may not import vscode or the layers above it', async () => {
  assert.ok((await lint('core/probe.ts', "import * as vscode from 'vscode';\nexport const x = vscode;\n")).some((m) => m.startsWith('no-restricted-imports')));
  assert.ok((await lint('core/probe.ts', "import { x } from '../agent/protocol';\nexport const y = x;\n")).some((m) => m.startsWith('no-restricted-imports')));
  assert.deepEqual(await lint('core/probe.ts', "import * as fs from 'node:fs';\nexport const x = fs;\n"), []);
});

test('webview/ may not import Node modules or vscode', async () => {
  for (const mod of ['fs', 'node:fs', 'child_process', 'net', 'vscode', '../core/numbers']) {
    const messages = await lint('webview/probe.ts', `import * as m from '${mod}';\nexport const x = m;\n`);
    assert.ok(messages.some((m) => m.startsWith('no-restricted-imports')), `webview importing ${mod} passed lint`);
  }
});

test('explicit any is an error everywhere', async () => {
  assert.ok((await lint('cli/probe.ts', 'export const x: any = 1;\n')).some((m) => m.includes('no-explicit-any')));
});

test('shared/ imports nothing of Node, vscode or the layers; extension/ shows notifications only through Log', async () => {
  for (const mod of ['node:fs', 'vscode', '../core/errors', '../webview/dom']) {
    const messages = await lint('shared/probe.ts', `import * as m from '${mod}';\nexport const x = m;\n`);
    assert.ok(messages.some((m) => m.startsWith('no-restricted-imports')), `shared/ importing ${mod} passed lint`);
  }
  const shown = "import * as vscode from 'vscode';\nexport const x = (): unknown => vscode.window.showErrorMessage('a');\n";
  assert.ok((await lint('extension/probe.ts', shown)).some((m) => m.startsWith('no-restricted-syntax')));
  assert.deepEqual(await lint('extension/log.ts', shown), []);
});

test('no code may create an ArrayBuffer over native memory (koffi.view), however it reaches koffi', async () => {
  const fires = async (file: string, code: string): Promise<boolean> => (await lint(file, code)).some((m) => m.startsWith('no-restricted-syntax') && m.includes('ArrayBuffer over native memory'));
  const cases = [
    "import koffi from 'koffi';\nexport const v = koffi.view(1n, 8);\n",
    "import { native } from './libc';\nexport const v = native().koffi.view(1n, 8);\n",
    "import { native } from './libc';\nconst { koffi } = native();\nexport const v = koffi['view'](1n, 8);\n",
    "import { native } from './libc';\nconst { koffi } = native();\nconst { view } = koffi;\nexport const v = view(1n, 8);\n",
    "import { native } from './libc';\nconst { koffi: { view } } = native();\nexport const v = view(1n, 8);\n",
  ];
  for (const code of cases) assert.ok(await fires('core/sys/probe.ts', code), `passed lint:\n${code}`);
  assert.ok(await fires('scripts/probe.mjs', "import koffi from 'koffi';\nexport const v = koffi.view(1n, 8);\n"), 'scripts are not covered');
  // Copies are fine, and so is a view() of something else (a session's view of its state).
  assert.equal(await fires('core/sys/probe.ts', "import { native } from './libc';\nconst { koffi } = native();\nexport const n = koffi.sizeof('int');\n"), false);
  assert.equal(await fires('extension/probe.ts', 'export function f(s: { view(): number }): number {\n  return s.view();\n}\n'), false);
});
