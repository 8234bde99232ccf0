// code-server (VS Code in the browser, from npm) in a cache folder: the real VS Code workbench and
// extension host that `npm start` and the host/browser tests run the extension in. Two of them:
// the newest that runs on Node 20 (today's default here) and a current one on Node 24, the runtime
// of current VS Code servers, so that the same .vsix is tested in both.
// Recipe and its reasons: ../shared/FACTS.md ("A real VS Code to test in: code-server").
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { ensureSystemPackages } from './system.mjs';
import { ensureNode } from './runtimes.mjs';

/** Each code-server version, the Node major it runs on, and its cache folder (the tests read the same file). */
export const CODE_SERVERS = JSON.parse(readFileSync(new URL('./code-servers.json', import.meta.url), 'utf8'));
export const CODE_SERVER_VERSION = '4.100.3';
export const NEWER_CODE_SERVER = '4.139.1';

function spec(version) {
  const s = CODE_SERVERS[version];
  if (!s) throw new Error(`unknown code-server ${version} (known: ${Object.keys(CODE_SERVERS).join(', ')})`);
  return s;
}

/** The Node binary that version of code-server runs on (its extension host and our agents too). */
export function codeServerNode(version = CODE_SERVER_VERSION) {
  return ensureNode(spec(version).node);
}

/** The entry point of that code-server, installed into its cache folder if missing. */
export function ensureCodeServer(version = CODE_SERVER_VERSION) {
  const cache = resolve(spec(version).cache);
  const entry = join(cache, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  // The entry point appears before the postinstall (minutes) has built VS Code's server modules:
  // installed means our mark, written after a whole install. (The Node 20 one's cache predates
  // the mark: there, the entry point is taken as before.)
  const mark = join(cache, 'installed');
  if (existsSync(mark) || (version === CODE_SERVER_VERSION && existsSync(entry))) return entry;
  ensureSystemPackages(
    ['libkrb5-dev', 'libsecret-1-dev', 'libx11-dev', 'libxkbfile-dev'].map((pkg) => ({ pkg })).concat([{ command: 'pkg-config', pkg: 'pkg-config' }, { command: 'rg', pkg: 'ripgrep' }]),
    'installing code-server',
  );
  // @vscode/ripgrep downloads rg from GitHub unless it finds this archive in its cache: give it
  // Debian's rg instead.
  const cacheDir = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11');
  const archive = join(cacheDir, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (!existsSync(archive)) {
    mkdirSync(cacheDir, { recursive: true });
    const stage = mkdtempSync(join(tmpdir(), 'rg-'));
    copyFileSync('/usr/bin/rg', join(stage, 'rg'));
    if (spawnSync('tar', ['-czf', archive, '-C', stage, 'rg']).status !== 0) throw new Error('could not build the ripgrep archive');
    rmSync(stage, { recursive: true, force: true });
  }
  mkdirSync(cache, { recursive: true });
  if (!existsSync(join(cache, 'package.json'))) writeFileSync(join(cache, 'package.json'), '{"name":"code-server-cache","private":true}\n');
  // Its postinstall checks the Node version and builds VS Code's server modules for the Node that
  // runs it: the one it will run on, first on PATH, with its own headers (Debian's npm sets
  // nodedir=/usr, the system Node's headers, which would build them for another ABI).
  const node = codeServerNode(version);
  const nodedir = node === process.execPath ? {} : { npm_config_nodedir: dirname(dirname(node)) };
  console.log(`installing code-server ${version} (Node ${spec(version).node}) into ${cache} (a minute or two, once)`);
  // Run under `npm test`, this process inherits the outer npm's npm_config_* variables; the inner
  // npm would take them as its own config, among them user-agent ("npm/... node/v20..."), which is
  // what the postinstall reads the Node version from. They go; only ours are set. (npm 11 no longer
  // knows unsafe-perm and warns, but code-server's postinstall refuses to run as root without it.)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `code-server@${version}`], {
    cwd: cache,
    stdio: 'inherit',
    env: { ...env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}`, ...nodedir, npm_config_unsafe_perm: 'true', npm_config_yes: 'true' },
  });
  if (r.status !== 0 || !existsSync(entry)) throw new Error(`code-server ${version} could not be installed`);
  writeFileSync(mark, `code-server ${version} on Node ${spec(version).node}\n`);
  return entry;
}

/**
 * Starts code-server on 127.0.0.1:port with its own user-data and extensions folders (workspace
 * trust off, so extensions run at once) and the given folder open. Resolves when it listens.
 * With `untrusted`, workspace trust is on and the folder opens in Restricted Mode, without a prompt.
 */
export async function startCodeServer({ port, userDataDir, extensionsDir, folder, settings = {}, log = 'ignore', env = {}, untrusted = false, version = CODE_SERVER_VERSION }) {
  const entry = ensureCodeServer(version);
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({ 'security.workspace.trust.enabled': untrusted, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false, 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'git.openRepositoryInParentFolders': 'never', 'git.enabled': false, 'workbench.tips.enabled': false, ...settings }, null, 2));
  mkdirSync(extensionsDir, { recursive: true });
  const child = spawn(codeServerNode(version), [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', ...(untrusted ? [] : ['--disable-workspace-trust']), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, folder], {
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
