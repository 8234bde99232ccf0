import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { ROOT } from './temp';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface CodeServerModule {
  CODE_SERVER_VERSION: string;
  NEWER_CODE_SERVER: string;
  CODE_SERVERS: Record<string, { node: number }>;
  ensureCodeServer(version?: string): string;
  codeServerNode(version?: string): string;
  startCodeServer(o: { port: number; userDataDir: string; extensionsDir: string; folder: string; settings?: Record<string, unknown>; log?: string; env?: Record<string, string>; untrusted?: boolean; version?: string }): Promise<{ child: ChildProcess; url: string }>;
}

/** The code-servers the tests run in (scripts/lib/code-servers.json), oldest first: version → its Node major. */
export const CODE_SERVERS = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'lib', 'code-servers.json'), 'utf8')) as Record<string, { node: number }>;
/** The newest of them (VS Code 1.139 on Node 24): where the browser tests run. */
export const NEWEST_CODE_SERVER = Object.keys(CODE_SERVERS).at(-1)!;

export async function codeServerModule(): Promise<CodeServerModule> {
  return (await import(pathToFileURL(path.join(ROOT, 'scripts', 'lib', 'code-server.mjs')).href)) as CodeServerModule;
}

export interface Workbench {
  url: string;
  /** code-server's own process (its extension host is a descendant). */
  serverPid: number;
  dir: string;
  page: Page;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * A real VS Code (code-server) with the product installed (a symlink to this checkout, as in
 * FACTS.md), plus optional extra extensions, opened in Debian's chromium through playwright-core.
 */
export async function openWorkbench(options: {
  dir: string;
  settings?: Record<string, unknown>;
  extraExtensions?: Record<string, { packageJson: unknown; main: string }>;
  env?: Record<string, string>;
  /** Install the product from this .vsix (as a user would) instead of linking the checkout. */
  vsix?: string;
  /** Leave the product out (the bench measures code-server's own baseline this way). */
  withoutProduct?: boolean;
  /** Workspace trust on, the folder untrusted: VS Code's Restricted Mode. */
  untrusted?: boolean;
  /** Which code-server (scripts/lib/code-server.mjs CODE_SERVERS); the Node 20 one by default. */
  version?: string;
}): Promise<Workbench> {
  const { dir } = options;
  const extensionsDir = path.join(dir, 'extensions');
  const workspace = path.join(dir, 'workspace');
  fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const cs = await codeServerModule();
  if (options.vsix) {
    const r = spawnSync(cs.codeServerNode(options.version), [cs.ensureCodeServer(options.version), '--extensions-dir', extensionsDir, '--user-data-dir', path.join(dir, 'user-data'), '--install-extension', options.vsix], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`code-server --install-extension failed: ${r.stderr || r.stdout}`);
    // The install wrote a registry (extensions.json) that lists only the .vsix; without it, VS Code
    // scans the folder and also finds the extensions added below (the test runner).
    fs.rmSync(path.join(extensionsDir, 'extensions.json'), { force: true });
  } else if (!options.withoutProduct) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    fs.symlinkSync(ROOT, path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`));
  }
  for (const [name, ext] of Object.entries(options.extraExtensions ?? {})) {
    const folder = path.join(extensionsDir, name);
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'package.json'), JSON.stringify(ext.packageJson, null, 2));
    fs.writeFileSync(path.join(folder, 'index.js'), `module.exports = require(${JSON.stringify(ext.main)});\n`);
  }
  if (options.settings) fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify(options.settings, null, 2));
  const log = fs.openSync(path.join(dir, 'code-server.log'), 'a');
  // freePort() closes the port before code-server binds it: if something else took it meanwhile,
  // code-server exits at once; try another port (its log says why, in code-server.log).
  let server: Awaited<ReturnType<CodeServerModule['startCodeServer']>>;
  for (let attempt = 1; ; attempt++) {
    try {
      server = await cs.startCodeServer({ port: await freePort(), userDataDir: path.join(dir, 'user-data'), extensionsDir, folder: workspace, env: options.env, log: log as unknown as string, untrusted: options.untrusted, version: options.version });
      break;
    } catch (err) {
      if (attempt === 3 || !/code-server exited/.test((err as Error).message)) {
        fs.closeSync(log);
        throw err;
      }
    }
  }
  let browser: Browser | undefined;
  let page: Page;
  try {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  } catch (err) {
    await browser?.close().catch(() => undefined);
    server.child.kill('SIGTERM');
    fs.closeSync(log);
    throw err;
  }
  return {
    url: server.url,
    serverPid: server.child.pid!,
    dir,
    page,
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      // Wait for its exit only if it has not exited already ('exit' fires once), and not for ever.
      if (server.child.exitCode === null && server.child.signalCode === null) {
        const exited = new Promise((r) => server.child.once('exit', r).once('error', r));
        server.child.kill('SIGTERM');
        const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      fs.closeSync(log);
    },
  };
}

/** The first frame holding `selector` (and passing `predicate`); webviews are nested iframes. */
export async function frameWith(page: Page, selector: string, what: string, predicate: (f: Frame) => Promise<boolean> = async () => true, timeoutMs = 30_000): Promise<Frame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      try {
        if ((await f.$(selector)) && (await predicate(f))) return f;
      } catch {
        // frames come and go while the workbench loads
      }
    }
    if (Date.now() > until) throw new Error(`no ${what} appeared`);
    await page.waitForTimeout(200);
  }
}

/** The webview frame that shows a hex view. */
export function hexFrame(page: Page, predicate: (f: Frame) => Promise<boolean> = async () => true, timeoutMs = 30_000): Promise<Frame> {
  return frameWith(page, '.rows .row', 'hex view', predicate, timeoutMs);
}

/**
 * Runs a command from the command palette the way a user does, but waits for what a user sees
 * before each key: the palette open, then the command on top of the filtered list. Pressing Enter
 * before the list has filtered runs whatever was on top (a recently used command).
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  const focused = page.locator('.quick-input-widget .monaco-list-row.focused');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`);
      const until = Date.now() + 5000;
      while (!((await focused.getAttribute('aria-label', { timeout: 1000 }).catch(() => null)) ?? '').startsWith(title)) {
        if (Date.now() > until) throw new Error(`the command palette did not offer "${title}"`);
        await page.waitForTimeout(50);
      }
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      if (attempt === 3) {
        await page.screenshot({ path: path.join(ROOT, 'test-output', 'command-palette-failure.png') });
        throw err;
      }
      console.log(`# the command palette did not run "${title}" at try ${attempt}; again`);
      await page.keyboard.press('Escape');
    }
  }
}

/** Opens a workspace file the way a user does: Quick Open, its name, Enter. */
export async function quickOpen(page: Page, name: string): Promise<void> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(name);
      await page.locator(`.quick-input-widget .monaco-list-row[aria-label*="${name}"]`).first().waitFor({ timeout: 10_000 });
      await page.keyboard.press('Enter');
      return;
    } catch (err) {
      if (attempt === 3) throw err;
      await page.keyboard.press('Escape');
    }
  }
}
