import { test, type TestContext } from 'node:test';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CODE_SERVERS, codeServerModule, openWorkbench } from '../helpers/vscode';
import type { HostTestResult } from './runner/harness';
import { ROOT, eventually, tempDir } from '../helpers/temp';

/**
 * Starts a real VS Code (code-server) with the product and the test-runner extension, connects a
 * browser (the extension host starts when a window connects), and waits for the suite files,
 * run inside that extension host, to report. Each in-host test becomes a subtest here.
 */
async function runSuite(t: TestContext, files: string[], vsix?: string, options: { untrusted?: boolean; settings?: (dir: string) => Record<string, unknown>; version?: string } = {}): Promise<void> {
  const { dir, cleanup } = tempDir('shmem-inspect-host-');
  const results = path.join(dir, 'results.json');
  const workbench = await openWorkbench({
    dir,
    vsix,
    version: options.version,
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
  await eventually(() => fs.existsSync(results), 300_000, 'the extension host tests').catch((err: Error) => {
    const running = fs.existsSync(`${results}.running`) ? fs.readFileSync(`${results}.running`, 'utf8') : undefined;
    throw new Error(`${err.message}${running === undefined ? ' (none had started)' : `; the one running: ${running}`}`);
  });
  const report = JSON.parse(fs.readFileSync(results, 'utf8'));
  assert.equal(report.crashed, undefined, report.crashed);
  // The extension host (and so every agent) runs on the Node that code-server runs on.
  const cs = await codeServerModule();
  assert.equal(report.node, spawnSync(cs.codeServerNode(options.version), ['--version'], { encoding: 'utf8' }).stdout.trim());
  assert.ok(report.results.length >= files.length, 'fewer results than suite files');
  for (const r of report.results as HostTestResult[]) {
    await t.test(r.name, (tt) => {
      // How long it took in the extension host (the in-host harness times each test out).
      tt.diagnostic(`${r.ms} ms in the extension host`);
      if (r.skipped) tt.skip(r.skipped);
      else if (!r.ok) assert.fail(r.error);
    });
  }
  // The extension host outlived every test, the ones that killed agents included.
  assert.doesNotThrow(() => process.kill(report.pid, 0), 'the extension host died');
}

const SUITE = path.join(ROOT, 'out', 'test', 'host', 'suite');
const SUITE_FILES = fs.readdirSync(SUITE).filter((f) => f.endsWith('.host.js')).sort().map((f) => path.join(SUITE, f));

/** The .vsix files of `npm run package` (scripts/package.mjs), made once into a folder of this run. */
let packaged: Promise<Record<string, string>> | undefined;
function vsixFiles(): Promise<Record<string, string>> {
  packaged ??= (async () => {
    const { dir } = tempDir('shmem-inspect-vsix-');
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const pkg = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'package.mjs')).href)) as { TARGETS: Record<string, string>; packageTarget(target: string, out: string): string };
    return Object.fromEntries(Object.keys(pkg.TARGETS).map((target) => [target, pkg.packageTarget(target, path.join(dir, `shmem-inspector-${target}.vsix`))]));
  })();
  return packaged;
}

/** The ELF machine of a file inside a .vsix: 62 is x86-64, 183 AArch64. */
function elfMachine(vsix: string, entry: string): number {
  const bytes = spawnSync('unzip', ['-p', vsix, entry], { maxBuffer: 1 << 26 }).stdout as Buffer;
  assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF', `${entry} is not an ELF file`);
  return bytes.readUInt16LE(18);
}

test('npm run package: one .vsix per target, each with only its own prebuilt koffi binary and no build leftovers', async () => {
  const files = await vsixFiles();
  assert.deepEqual(Object.keys(files).sort(), ['linux-arm64', 'linux-x64']);
  for (const [target, machine] of [['linux-x64', 62], ['linux-arm64', 183]] as const) {
    const vsix = files[target]!;
    const listing = spawnSync('unzip', ['-Z1', vsix], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const binaries = listing.filter((f) => f.endsWith('.node') && f.includes('koffi'));
    const arch = target.split('-')[1];
    assert.deepEqual(binaries, [`extension/dist/node_modules/@koromix/koffi-${target}/linux_${arch}/koffi.node`], `${target}: ${binaries.join(', ')}`);
    assert.equal(elfMachine(vsix, binaries[0]!), machine, `${target}'s koffi.node is for another CPU`);
    assert.ok(listing.includes('extension/dist/node_modules/koffi/index.cjs'), `${target}: koffi's loader is missing`);
    assert.equal(listing.some((f) => /node-pre-gyp|obj\.target|\.ts$|\/src\/koffi\/src\/.*\.(cc|hh|S)$|musl_|mmap/.test(f)), false, `${target} carries build leftovers, sources or another libc's binary`);
    const manifest = spawnSync('unzip', ['-p', vsix, 'extension.vsixmanifest'], { encoding: 'utf8' }).stdout;
    assert.match(manifest, new RegExp(`TargetPlatform="${target}"`));
  }
});

// Every code-server of scripts/lib/code-servers.json: VS Code on Node 20 and on Node 24.
for (const [version, { node }] of Object.entries(CODE_SERVERS)) {
  test(`code-server ${version} (Node ${node}): the .vsix of npm run package, installed with --install-extension, passes the host suite`, async (t) => {
    await runSuite(t, SUITE_FILES, (await vsixFiles())[`linux-${process.arch}`], { version });
  });

  test(`code-server ${version} (Node ${node}): in Restricted Mode (an untrusted folder), settings that name files and sockets are ignored`, async (t) => {
    await runSuite(t, [path.join(ROOT, 'out', 'test', 'host', 'restricted', 'untrusted.host.js')], (await vsixFiles())[`linux-${process.arch}`], {
      version,
      untrusted: true,
      // What a cloned repository could carry in .vscode/settings.json.
      settings: (dir) => {
        const target = path.join(dir, 'would-be-attached.bin');
        fs.writeFileSync(target, Buffer.alloc(4096, 0x33));
        return { 'shmemInspector.autoAttach': [target, 'unix:/tmp/no-such-socket'], 'shmemInspector.defaultLayout': path.join(ROOT, 'examples', 'ring.shmlayout.json') };
      },
    });
  });
}
