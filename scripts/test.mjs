// npm test: every tier, from a fresh clone. Installs the system packages the tiers need when it
// can (root with apt-get), otherwise stops and prints the exact command to run.
import { spawn, spawnSync } from 'node:child_process';
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
// Two lanes, run side by side (they share no port, socket or segment: every test makes its own):
// the tiers that run processes and QEMU, and the two that run code-server and chromium. Within a
// lane, one tier and one file at a time (the cli and qemu tiers start processes and share /dev/shm).
const LANES = [['unit', 'cli', 'runtime', 'qemu'], ['host', 'e2e']];
const tiers = LANES.flat().filter((t) => only.length === 0 || only.includes(t));
const started = Date.now();
const failed = [];

/** Runs one tier's files; its output lines carry the tier's name, since two lanes print at once. */
function runTier(tier) {
  const files = testFiles(join('out', 'test', tier)).sort();
  if (files.length === 0) {
    console.error(`\nno tests found for the ${tier} tier`);
    return Promise.resolve(false);
  }
  console.log(`\n=== ${tier} tests (${files.length} files) ===`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const [stream, out] of [[child.stdout, process.stdout], [child.stderr, process.stderr]]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (d) => {
        const lines = (partial + d).split('\n');
        partial = lines.pop();
        for (const line of lines) out.write(`[${tier}] ${line}\n`);
      });
      stream.on('end', () => partial && out.write(`[${tier}] ${partial}\n`));
    }
    child.on('close', (code) => {
      console.log(`\n=== ${tier}: ${code === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - t0) / 1000)} s ===`);
      resolve(code === 0);
    });
  });
}

await Promise.all(
  LANES.map(async (lane) => {
    for (const tier of lane.filter((t) => tiers.includes(t))) if (!(await runTier(tier))) failed.push(tier);
  }),
);
if (failed.length > 0) {
  console.error(`\nnpm test: FAILED tiers: ${failed.join(', ')}`);
  process.exit(1);
}
console.log(`\nnpm test: all tiers passed (${tiers.join(', ')}) in ${Math.round((Date.now() - started) / 1000)} s`);
