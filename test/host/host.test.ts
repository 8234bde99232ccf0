import { test, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
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
async function runSuite(t: TestContext, files: string[], vsix?: string, options: { untrusted?: boolean; settings?: (dir: string) => Record<string, unknown> } = {}): Promise<void> {
  const { dir, cleanup } = tempDir('shmem-inspect-host-');
  const results = path.join(dir, 'results.json');
  const workbench = await openWorkbench({
    dir,
    vsix,
    untrusted: options.untrusted,
    settings: options.settings?.(dir),
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
          // The runner must run in Restricted Mode too (the product declares limited support).
          capabilities: { untrustedWorkspaces: { supported: true } },
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
    await t.test(r.name, (st) => {
      // How long it took in the extension host (the in-host harness times each test out at 60 s).
      st.diagnostic(`${r.ms} ms in the extension host`);
      if (!r.ok) assert.fail(r.error);
    });
  }
  // The extension host outlived every test, the ones that killed agents included.
  assert.doesNotThrow(() => process.kill(report.pid, 0), 'the extension host died');
}

const SUITE = path.join(ROOT, 'out', 'test', 'host', 'suite');

test('inside the real VS Code extension host', async (t) => {
  const files = fs.readdirSync(SUITE).filter((f) => f.endsWith('.host.js')).sort().map((f) => path.join(SUITE, f));
  await runSuite(t, files);
});

test('the packaged .vsix, installed with --install-extension, works the same', async (t) => {
  const { dir, cleanup } = tempDir('shmem-inspect-vsix-');
  t.after(cleanup);
  const vsix = path.join(dir, 'shmem-inspector.vsix');
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'vsce'), ['package', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', vsix], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || r.stdout);
  const listing = spawnSync('unzip', ['-l', vsix], { encoding: 'utf8' }).stdout;
  assert.match(listing, /extension\/node_modules\/@riaskov\/mmap-io\/build\/Release\/mmap_io\.node/);
  assert.doesNotMatch(listing, /node-pre-gyp|obj\.target|\.ts\b/, 'the .vsix carries build leftovers or sources');
  await runSuite(t, [path.join(SUITE, 'sessions.host.js')], vsix);
});

test('in Restricted Mode (an untrusted folder), settings that name files and sockets are ignored', async (t) => {
  await runSuite(t, [path.join(ROOT, 'out', 'test', 'host', 'restricted', 'untrusted.host.js')], undefined, {
    untrusted: true,
    // What a cloned repository could carry in .vscode/settings.json.
    settings: (dir) => {
      const target = path.join(dir, 'would-be-attached.bin');
      fs.writeFileSync(target, Buffer.alloc(4096, 0x33));
      return { 'shmemInspector.autoAttach': [target, 'unix:/tmp/no-such-socket'], 'shmemInspector.defaultLayout': path.join(ROOT, 'examples', 'ring.shmlayout.json') };
    },
  });
});
