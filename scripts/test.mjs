// npm test: every tier, from a fresh clone. Installs the system packages the tiers need when it
// can (root with apt-get), otherwise stops and prints the exact command to run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SYSTEM = [
  { command: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { command: 'xxd', pkg: 'xxd' },
  { command: 'chromium', pkg: 'chromium' },
  { command: 'unzip', pkg: 'unzip' },
];

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args, options = {}) {
  console.log(`\n$ ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { stdio: 'inherit', ...options });
  return r.status ?? 1;
}

const missing = SYSTEM.filter((s) => !onPath(s.command)).map((s) => s.pkg);
if (missing.length > 0) {
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (run('apt-get', ['update'], { env }) !== 0 || run('apt-get', install, { env }) !== 0) {
      console.error(`\nnpm test: could not install ${missing.join(' ')} with apt-get`);
      process.exit(1);
    }
  } else {
    console.error(`\nnpm test needs ${missing.join(' ')}. Run:\n\n  sudo apt-get update && sudo apt-get ${install.join(' ')}\n`);
    process.exit(1);
  }
}

if (run('npm', ['run', 'build']) !== 0) process.exit(1);
// The runtime tier runs the CLI on Node 22 and 24 too, and the host and e2e tiers run the extension
// in two code-servers (on Node 20 and on Node 24): each installed into .cache once.
const { ensureNode, NODE_VERSIONS } = await import('./lib/runtimes.mjs');
for (const major of Object.keys(NODE_VERSIONS)) ensureNode(major);
const { ensureCodeServer, CODE_SERVERS } = await import('./lib/code-server.mjs');
for (const version of Object.keys(CODE_SERVERS)) ensureCodeServer(version);
if (run('npm', ['run', 'lint']) !== 0) process.exit(1);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return testFiles(p);
    return name.endsWith('.test.js') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const tiers = ['unit', 'cli', 'runtime', 'qemu', 'host', 'e2e'].filter((t) => only.length === 0 || only.includes(t));
const failed = [];
for (const tier of tiers) {
  const files = testFiles(join('out', 'test', tier)).sort();
  if (files.length === 0) {
    console.error(`\nno tests found for the ${tier} tier`);
    failed.push(tier);
    continue;
  }
  console.log(`\n=== ${tier} tests (${files.length} files) ===`);
  // One file at a time: the cli and qemu tiers start processes and share /dev/shm.
  if (run(process.execPath, ['--test', '--test-concurrency=1', ...files]) !== 0) failed.push(tier);
}
if (failed.length > 0) {
  console.error(`\nnpm test: FAILED tiers: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nnpm test: all tiers passed (${tiers.join(', ')})`);
