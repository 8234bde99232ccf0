// npm run package [-- --target linux-x64 --out DIR]: one .vsix per Linux platform (vsce --target),
// each carrying the bundles and only its own prebuilt koffi binary. No compiler, no rebuild: koffi
// is Node-API, so the same binary loads in Node 20, 22, 24 and Electron.
//
// Each target is staged in a folder of its own: the bundles, media, and the packages the bundles
// load at run time, in dist/node_modules (where require() from dist/*/main.js finds them; vsce
// leaves a top-level node_modules out unless it may run `npm list` over a full install). vsce packs
// the stage; .vscodeignore keeps only the files those packages need. Another CPU's koffi binary
// comes from npm, fetched once into .cache/koffi-VERSION-linux-ARCH (npm install --cpu --os).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const TARGETS = { 'linux-x64': 'x64', 'linux-arm64': 'arm64' };
const ROOT = resolve(new URL('..', import.meta.url).pathname);

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The folder of @koromix/koffi-linux-ARCH: this machine's from node_modules, another's from npm (cached). */
function koffiBinaryPackage(arch) {
  const name = `@koromix/koffi-linux-${arch}`;
  const local = join(ROOT, 'node_modules', name);
  if (existsSync(join(local, 'package.json'))) return local;
  const version = readJson(join(ROOT, 'node_modules', 'koffi', 'package.json')).version;
  const cache = join(ROOT, '.cache', `koffi-${version}-linux-${arch}`);
  const dir = join(cache, 'node_modules', name);
  if (existsSync(join(dir, 'package.json'))) return dir;
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(cache, 'package.json'), `{"name":"koffi-linux-${arch}-cache","private":true}\n`);
  console.log(`fetching koffi ${version}'s linux-${arch} binary into ${cache} (once)`);
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', `--cpu=${arch}`, '--os=linux', `koffi@${version}`], { cwd: cache, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(dir, 'package.json'))) throw new Error(`could not fetch ${name}@${version}`);
  return dir;
}

/** Packages named in .vscodeignore's `!dist/node_modules/...` lines other than koffi's: copied as they are. */
function otherRuntimePackages() {
  const names = new Set();
  for (const line of readFileSync(join(ROOT, '.vscodeignore'), 'utf8').split('\n')) {
    const m = /^!dist\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line.trim());
    if (m && !m[1].startsWith('koffi') && !m[1].startsWith('@koromix/')) names.add(m[1]);
  }
  return [...names];
}

/** Packs one target into `out` (a .vsix path); returns it. */
export function packageTarget(target, out) {
  const arch = TARGETS[target];
  if (!arch) throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  if (!existsSync(join(ROOT, 'dist', 'extension', 'main.js'))) throw new Error('no dist/: run npm run build first');
  const stage = mkdtempSync(join(tmpdir(), `shmem-inspector-${target}-`));
  try {
    for (const f of ['package.json', 'README.md', 'LICENSE', '.vscodeignore', 'dist', 'media']) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
    const modules = join(stage, 'dist', 'node_modules');
    cpSync(join(ROOT, 'node_modules', 'koffi'), join(modules, 'koffi'), { recursive: true });
    cpSync(koffiBinaryPackage(arch), join(modules, '@koromix', `koffi-linux-${arch}`), { recursive: true });
    // Built here by npm ci, so for this machine's CPU only.
    if (arch === process.arch) for (const name of otherRuntimePackages()) cpSync(join(ROOT, 'node_modules', name), join(modules, name), { recursive: true });
    const vsce = join(ROOT, 'node_modules', '.bin', 'vsce');
    // --no-dependencies: the packages are what was staged above, filtered by .vscodeignore.
    const r = spawnSync(vsce, ['package', '--target', target, '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '-o', resolve(out)], { cwd: stage, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`vsce package --target ${target} failed: ${r.stderr || r.stdout}`);
    return resolve(out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
  const targets = opt('target') ? [opt('target')] : Object.keys(TARGETS);
  const outDir = opt('out') ?? ROOT;
  mkdirSync(outDir, { recursive: true });
  for (const target of targets) {
    const vsix = packageTarget(target, join(outDir, `shmem-inspector-${target}.vsix`));
    console.log(`packaged ${vsix}`);
  }
}
