// code-server (VS Code in the browser, from npm) in a cache folder: the real VS Code workbench and
// extension host that `npm start` and the host/browser tests run the extension in.
// Recipe and its reasons: ../shared/FACTS.md ("A real VS Code to test in: code-server").
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureSystemPackages } from './system.mjs';

export const CODE_SERVER_VERSION = '4.100.3'; // the newest that accepts Node 20
export const CACHE = resolve('.cache/code-server');
const ENTRY = join(CACHE, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

export function ensureCodeServer() {
  if (existsSync(ENTRY)) return ENTRY;
  ensureSystemPackages(
    ['libkrb5-dev', 'libsecret-1-dev', 'libx11-dev', 'libxkbfile-dev'].map((pkg) => ({ pkg })).concat([{ command: 'pkg-config', pkg: 'pkg-config' }, { command: 'rg', pkg: 'ripgrep' }]),
    'installing code-server',
  );
  // @vscode/ripgrep downloads rg from GitHub unless it finds this archive in its cache: give it
  // Debian's rg instead.
  const cache = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11');
  const archive = join(cache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (!existsSync(archive)) {
    mkdirSync(cache, { recursive: true });
    const stage = mkdtempSync(join(tmpdir(), 'rg-'));
    copyFileSync('/usr/bin/rg', join(stage, 'rg'));
    if (spawnSync('tar', ['-czf', archive, '-C', stage, 'rg']).status !== 0) throw new Error('could not build the ripgrep archive');
    rmSync(stage, { recursive: true, force: true });
  }
  mkdirSync(CACHE, { recursive: true });
  if (!existsSync(join(CACHE, 'package.json'))) writeFileSync(join(CACHE, 'package.json'), '{"name":"code-server-cache","private":true}\n');
  console.log(`installing code-server ${CODE_SERVER_VERSION} into ${CACHE} (about a minute, once)`);
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: CACHE,
    stdio: 'inherit',
    env: { ...process.env, npm_config_unsafe_perm: 'true', npm_config_yes: 'true' },
  });
  if (r.status !== 0 || !existsSync(ENTRY)) throw new Error('code-server could not be installed');
  return ENTRY;
}

/**
 * Starts code-server on 127.0.0.1:port with its own user-data and extensions folders (workspace
 * trust off, so extensions run at once) and the given folder open. Resolves when it listens.
 * With `untrusted`, workspace trust is on and the folder opens in Restricted Mode, without a prompt.
 */
export async function startCodeServer({ port, userDataDir, extensionsDir, folder, settings = {}, log = 'ignore', env = {}, untrusted = false }) {
  const entry = ensureCodeServer();
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': untrusted, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false, 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'git.openRepositoryInParentFolders': 'never', 'git.enabled': false, 'workbench.tips.enabled': false, ...settings }, null, 2));
  mkdirSync(extensionsDir, { recursive: true });
  const child = spawn(process.execPath, [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', ...(untrusted ? [] : ['--disable-workspace-trust']), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, folder], {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...env },
  });
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}`;
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch {
      // not yet
    }
    if (Date.now() > until) {
      child.kill();
      throw new Error('code-server did not start within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url };
}
