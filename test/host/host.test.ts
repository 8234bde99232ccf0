import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openWorkbench } from '../helpers/vscode';
import { ROOT, eventually, tempDir } from '../helpers/temp';

/**
 * Starts a real VS Code (code-server) with the product and the test-runner extension, connects a
 * browser (the extension host starts when a window connects), and waits for the suite files,
 * run inside that extension host, to report. Each in-host test becomes a subtest here.
 */
test('inside the real VS Code extension host', async (t) => {
  const { dir, cleanup } = tempDir('shmem-inspect-host-');
  const results = path.join(dir, 'results.json');
  const suite = path.join(ROOT, 'out', 'test', 'host', 'suite');
  const files = fs.readdirSync(suite).filter((f) => f.endsWith('.host.js')).map((f) => path.join(suite, f));
  const workbench = await openWorkbench({
    dir,
    env: { SHMEM_HOST_TEST_RESULTS: results, SHMEM_HOST_TEST_FILES: files.join(':') },
    extraExtensions: {
      'shmem-tools.shmem-inspector-test-runner-0.0.1': {
        packageJson: {
          name: 'shmem-inspector-test-runner',
          publisher: 'shmem-tools',
          version: '0.0.1',
          engines: { vscode: '^1.100.0' },
          main: './index.js',
          activationEvents: ['onStartupFinished'],
          extensionDependencies: ['shmem-tools.shmem-inspector'],
        },
        main: path.join(ROOT, 'out', 'test', 'host', 'runner', 'extension.js'),
      },
    },
  });
  t.after(async () => {
    await workbench.close();
    cleanup();
  });
  await eventually(() => fs.existsSync(results), 180_000, 'the extension host tests');
  const report = JSON.parse(fs.readFileSync(results, 'utf8'));
  assert.equal(report.crashed, undefined, report.crashed);
  // FACTS.md: code-server's extension host runs on the system node, where the native modules load.
  assert.equal(report.node, process.version);
  assert.ok(report.results.length >= files.length, 'fewer results than suite files');
  for (const r of report.results as { name: string; ok: boolean; error?: string; ms: number }[]) {
    await t.test(r.name, () => {
      if (!r.ok) assert.fail(r.error);
    });
  }
  // The extension host outlived every test, the ones that killed agents included.
  assert.doesNotThrow(() => process.kill(report.pid, 0), 'the extension host died');
});
