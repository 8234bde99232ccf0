// npm run bench [-- --size 1G --runs 3]: shmem-inspect against the tools people would otherwise use,
// measured side by side in the same run, on the same files. Prints ratios; asserts nothing.
// Inputs are generated under /dev/shm (a dense segment and one that is 90% zero pages); snapshot
// targets go to .cache/bench on disk, like `cp` from tmpfs to the page cache.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const UNITS = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
const sizeText = opt('size', '1G');
const SIZE = Number(sizeText.replace(/[KMG]$/, '')) * (UNITS[sizeText.at(-1)] ?? 1);
const RUNS = Number(opt('runs', '3'));
const CLI = resolve('dist/cli/main.js');
const SHM = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const OUT = resolve('.cache/bench');

if (!existsSync(CLI) && spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);
for (const tool of ['cp', 'xxd', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`the bench needs ${tool}: apt-get install -y ${tool === 'xxd' ? 'xxd' : tool === '/usr/bin/time' ? 'time' : 'coreutils'}`);
    process.exit(1);
  }
}
mkdirSync(OUT, { recursive: true });

function makeInput(name, denseFraction) {
  const path = join(SHM, `shmem-inspect-bench-${name}`);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, SIZE);
  const chunk = Buffer.alloc(4 << 20);
  const page = 4096;
  for (let off = 0; off < SIZE; off += chunk.length) {
    const n = Math.min(chunk.length, SIZE - off);
    if (denseFraction >= 1) {
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n, off);
    } else {
      // Every tenth page random, the rest left as zeros.
      for (let p = 0; p < n; p += page) {
        if ((off + p) / page % Math.round(1 / denseFraction) === 0) {
          randomFillSync(chunk, 0, page);
          writeSync(fd, chunk, 0, page, off + p);
        }
      }
    }
  }
  closeSync(fd);
  return path;
}

/** Runs a command under GNU time; returns wall seconds and peak RSS (KiB) of it and its children. */
function timed(cmd, cmdArgs, { stdout = 'ignore' } = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...cmdArgs], { stdio: ['ignore', stdout, 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed: ${r.stderr}`);
  const rss = Number(r.stderr.trim().split('\n').at(-1));
  return { seconds, rss };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function compare(label, ours, theirs, theirName) {
  const o = [];
  const t = [];
  let peak = 0;
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so neither side always runs on a warmer cache.
    if (i % 2 === 0) {
      t.push(theirs().seconds);
      const r = ours();
      o.push(r.seconds);
      peak = Math.max(peak, r.rss);
    } else {
      const r = ours();
      o.push(r.seconds);
      peak = Math.max(peak, r.rss);
      t.push(theirs().seconds);
    }
  }
  const mo = median(o);
  const mt = median(t);
  return { label, ours: mo, theirs: mt, theirName, ratio: mo / mt, peakMiB: peak / 1024 };
}

console.log(`bench: ${sizeText} inputs, median of ${RUNS} runs, ${new Date().toISOString()}`);
const dense = makeInput('dense', 1);
const sparse = makeInput('sparse', 0.1);
const rows = [];
try {
  for (const [name, input] of [['dense', dense], ['90% zero', sparse]]) {
    const target = join(OUT, 'snap.shmsnap');
    const copy = join(OUT, 'copy.bin');
    rows.push(
      compare(
        `snapshot ${name} ${sizeText}`,
        () => timed(process.execPath, [CLI, 'snapshot', input, '-o', target, '--force']),
        () => {
          rmSync(copy, { force: true });
          return timed('cp', [input, copy]);
        },
        'cp',
      ),
    );
    // A snapshot is fsynced before it is published; cp is not. The same copy made durable:
    rows.push(
      compare(
        `snapshot ${name} ${sizeText}`,
        () => timed(process.execPath, [CLI, 'snapshot', input, '-o', target, '--force']),
        () => {
          rmSync(copy, { force: true });
          return timed('sh', ['-c', 'cp "$0" "$1" && sync "$1"', input, copy]);
        },
        'cp + sync',
      ),
    );
    rmSync(target, { force: true });
    rmSync(copy, { force: true });
  }
  const dumpLength = String(Math.min(SIZE, 16 << 20));
  rows.push(
    compare(
      `dump ${Number(dumpLength) >> 20} MiB`,
      () => timed(process.execPath, [CLI, 'dump', dense, '--length', dumpLength]),
      () => timed('xxd', ['-l', dumpLength, dense]),
      'xxd',
    ),
  );
} finally {
  rmSync(dense, { force: true });
  rmSync(sparse, { force: true });
}

console.log('\n| case | shmem-inspect | yardstick | ratio (ours / theirs) | peak RSS (ours) |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.label} | ${r.ours.toFixed(3)} s | ${r.theirName} ${r.theirs.toFixed(3)} s | ${r.ratio.toFixed(2)} x | ${r.peakMiB.toFixed(0)} MiB |`);
}
