// npm run bench [-- --size 1G --runs 3] [--live | --no-live] [--record | --no-record] [--timeline | --no-timeline] [--cli PATH]: shmem-inspect against the tools people would otherwise use,
// measured side by side in the same run, on the same files. Prints one table of medians and ratios;
// asserts nothing (this is a benchmark, not a test).
//
// Inputs, generated under /dev/shm: a dense segment (random bytes), one that is 90% zero pages
// (every tenth page random), an identical copy of the dense one, and a copy with 10,000 scattered
// one-byte changes. Snapshot targets go to .cache/bench on disk, like `cp` from tmpfs to the page
// cache. Peak memory is GNU time's maximum resident set of the command and its children.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
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
// The recorder's budget (bench/record/record-bench.ts), the live view's (bench/live/live-view.ts) and
// the timeline editor's (bench/timeline/timeline-seek.ts) run after the CLI cases: --record, --live
// or --timeline for some of them alone.
const ALONE = args.includes('--live') || args.includes('--record') || args.includes('--timeline');
const LIVE = !args.includes('--no-live') && (!ALONE || args.includes('--live'));
const RECORD = !args.includes('--no-record') && (!ALONE || args.includes('--record'));
const TIMELINE = !args.includes('--no-timeline') && (!ALONE || args.includes('--timeline'));
const CLI_CASES = !ALONE;
// --cli: another build of the CLI (e.g. a copy of dist/ before a change), to measure a change side by side.
const CLI = resolve(opt('cli', 'dist/cli/main.js'));
const SHM = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
// Names carry the pid: two benches on one machine (several worktrees share .cache) must not
// delete each other's inputs (seen: a snapshot failed with exit 3, its input deleted by another run).
const OUT = resolve('.cache/bench', String(process.pid));
const TAG = `shmem-inspect-bench-${process.pid}`;

if ((!existsSync(CLI) || (LIVE && !existsSync('out/bench/live/live-view.js')) || (RECORD && !existsSync('out/bench/record/record-bench.js')) || (TIMELINE && !existsSync('out/bench/timeline/timeline-seek.js'))) && spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);
if ((LIVE || TIMELINE) && !existsSync('/usr/bin/chromium')) {
  console.error('the live-view and timeline benches need Debian\'s chromium: apt-get update && apt-get install -y chromium (or npm run bench -- --no-live --no-timeline)');
  process.exit(1);
}
// The yardsticks of the CLI cases (the live view needs none of them; the recorder needs GNU time).
for (const [tool, pkg] of [...(CLI_CASES ? [['cp', 'coreutils'], ['cmp', 'diffutils'], ['xxd', 'xxd']] : []), ...(CLI_CASES || RECORD ? [['/usr/bin/time', 'time']] : [])]) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`the bench needs ${tool}: apt-get install -y ${pkg}`);
    process.exit(1);
  }
}
function makeInput(name, everyNthPage) {
  const path = join(SHM, `${TAG}-${name}`);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, SIZE);
  const chunk = Buffer.alloc(4 << 20);
  for (let off = 0; off < SIZE; off += chunk.length) {
    const n = Math.min(chunk.length, SIZE - off);
    if (everyNthPage === 1) {
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n, off);
    } else {
      for (let p = 0; p < n; p += 4096) {
        if (((off + p) / 4096) % everyNthPage === 0) {
          randomFillSync(chunk, 0, 4096);
          writeSync(fd, chunk, 0, 4096, off + p);
        }
      }
    }
  }
  closeSync(fd);
  return path;
}

function withChanges(source, name, count) {
  const path = join(SHM, `${TAG}-${name}`);
  copyFileSync(source, path);
  const fd = openSync(path, 'r+');
  const one = Buffer.alloc(1);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(((i + 0.5) / count) * SIZE);
    one[0] = (i * 37 + 11) & 0xff;
    writeSync(fd, one, 0, 1, at);
  }
  closeSync(fd);
  return path;
}

/** Where a snapshot's data starts (its header length, at byte 12). */
function dataOffset(snap) {
  const fd = openSync(snap, 'r');
  const head = Buffer.alloc(16);
  readSync(fd, head, 0, 16, 0);
  closeSync(fd);
  return head.readUInt32LE(12);
}

/** Runs a command under GNU time: wall seconds and peak RSS (KiB) of it and its children. */
function timed(cmd, cmdArgs, okCodes = [0]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...cmdArgs], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!okCodes.includes(r.status)) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, rss: Number(r.stderr.trim().split('\n').at(-1)) };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Ours and theirs, alternating which goes first, RUNS times each. */
function compare(label, ours, theirs, theirName, target) {
  const o = [];
  const t = [];
  let peak = 0;
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? [theirs, ours] : [ours, theirs];
    for (const fn of order) {
      const r = fn();
      if (fn === ours) {
        o.push(r.seconds);
        peak = Math.max(peak, r.rss);
      } else t.push(r.seconds);
    }
  }
  return { label, ours: median(o), theirs: median(t), theirName, ratio: median(o) / median(t), peakMiB: peak / 1024, target };
}

function cliCases() {
  mkdirSync(OUT, { recursive: true });
  console.log(`bench: ${sizeText} inputs, median of ${RUNS} runs, ${new Date().toISOString()}`);
  const dense = makeInput('dense', 1);
  const sparse = makeInput('sparse', 10);
  const same = withChanges(dense, 'same', 0);
  const changed = withChanges(dense, 'changed', 10_000);
  const rows = [];
  try {
    for (const [name, input, target] of [['dense', dense, 'at most 0.8 x cp'], ['90% zero pages', sparse, 'at most 0.3 x cp']]) {
      const snap = join(OUT, 'snap.shmsnap');
      const copy = join(OUT, 'copy.bin');
      const ours = () => timed(process.execPath, [CLI, 'snapshot', input, '-o', snap, '--force']);
      rows.push(compare(`snapshot, ${name}`, ours, () => (rmSync(copy, { force: true }), timed('cp', [input, copy])), 'cp', target));
      // A snapshot is fsynced before it is published, cp is not: the same copy made durable.
      rows.push(compare(`snapshot, ${name}`, ours, () => (rmSync(copy, { force: true }), timed('sh', ['-c', 'cp "$0" "$1" && sync "$1"', input, copy])), 'cp + sync', ''));
      rmSync(snap, { force: true });
      rmSync(copy, { force: true });
    }
    rows.push(compare('diff, identical', () => timed(process.execPath, [CLI, 'diff', dense, same]), () => timed('cmp', [dense, same]), 'cmp', 'at most 0.6 x cmp'));
    rows.push(
      // GNU cmp stops at the first difference when its output is /dev/null: give it a real file.
      compare('diff, 10,000 changes', () => timed(process.execPath, [CLI, 'diff', dense, changed]), () => timed('sh', ['-c', 'cmp -l "$0" "$1" > "$2"; test $? -eq 1', dense, changed, join(OUT, 'cmp.out')]), 'cmp -l', 'at most 0.8 x cmp'),
    );
    // Two snapshots of the same bytes, compared: every block of both is checked against its CRC
    // before the result is trusted. cmp skips the headers (-i) and compares the data.
    const [snapA, snapB] = [join(SHM, `${TAG}-a.shmsnap`), join(SHM, `${TAG}-b.shmsnap`)];
    for (const [input, snap] of [[dense, snapA], [same, snapB]]) timed(process.execPath, [CLI, 'snapshot', input, '-o', snap, '--force']);
    const skip = String(dataOffset(snapA));
    try {
      rows.push(compare('diff, identical snapshots', () => timed(process.execPath, [CLI, 'diff', snapA, snapB]), () => timed('cmp', ['-i', skip, snapA, snapB]), 'cmp -i', 'at most 0.6 x cmp'));
    } finally {
      for (const f of [snapA, snapB]) rmSync(f, { force: true });
    }
    const length = String(Math.min(SIZE, 16 << 20));
    rows.push(compare(`dump ${Number(length) >> 20} MiB`, () => timed(process.execPath, [CLI, 'dump', dense, '--length', length]), () => timed('xxd', ['-l', length, dense]), 'xxd', 'at most 0.2 x xxd'));
  } finally {
    for (const f of [dense, sparse, same, changed]) rmSync(f, { force: true });
    rmSync(OUT, { recursive: true, force: true });
  }
  console.log('\n| case | shmem-inspect | yardstick | ratio (ours / theirs) | target | peak RSS (ours) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.label} | ${r.ours.toFixed(3)} s | ${r.theirName} ${r.theirs.toFixed(3)} s | ${r.ratio.toFixed(2)} x | ${r.target} | ${r.peakMiB.toFixed(0)} MiB |`);
  }
}

if (CLI_CASES) cliCases();
if (RECORD) {
  const record = spawnSync(process.execPath, [resolve('out/bench/record/record-bench.js'), ...args], { stdio: 'inherit' });
  if (record.status !== 0) process.exit(record.status ?? 1);
}
if (LIVE) {
  const live = spawnSync(process.execPath, [resolve('out/bench/live/live-view.js')], { stdio: 'inherit' });
  if (live.status !== 0) process.exit(live.status ?? 1);
}
if (TIMELINE) {
  const timeline = spawnSync(process.execPath, [resolve('out/bench/timeline/timeline-seek.js'), ...args], { stdio: 'inherit' });
  if (timeline.status !== 0) process.exit(timeline.status ?? 1);
}
