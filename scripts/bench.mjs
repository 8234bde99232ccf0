// npm run bench [-- --size 1G --runs 5 --startup-runs 21] [--live | --no-live] [--record | --no-record] [--timeline | --no-timeline] [--no-large] [--cli PATH] [--webview-reuse]:
// shmem-inspect against the tools people would otherwise use, measured side by side in the same
// run, on the same files. Prints one table of medians, ratios, targets and whether each was met;
// asserts nothing (this is a benchmark, not a test).
//
// Inputs, generated under /dev/shm: a dense segment (random bytes), one that is 90% holes
// (ftruncate, then every tenth page written), an identical copy of the dense one, a copy with
// 10,000 scattered one-byte changes, and a segment 16 times larger with the same data as the
// sparse one (every 160th page), whose snapshot and diff must cost what the data costs. Snapshots
// and cp's copies both go to /dev/shm. Wall time is the figure compared; CPU time (user + system,
// of the command and its children) is shown beside it, since on a shared machine a wall time also
// measures the neighbours. Peak memory is GNU time's maximum resident set of the command and its
// children.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const UNITS = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
const sizeText = opt('size', '1G');
const SIZE = Number(sizeText.replace(/[KMG]$/, '')) * (UNITS[sizeText.at(-1)] ?? 1);
const RUNS = Number(opt('runs', '5'));
// Start-up figures are tens of milliseconds on a shared machine: more runs for a steady median.
const STARTUP_RUNS = Number(opt('startup-runs', '21'));
// The recorder's budget (bench/record/record-bench.ts), the live view's (bench/live/live-view.ts) and
// the timeline editor's (bench/timeline/timeline-seek.ts) run after the CLI cases: --record, --live
// or --timeline for some of them alone.
const ALONE = args.includes('--live') || args.includes('--record') || args.includes('--timeline') || args.includes('--webview-reuse');
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
/**
 * A segment of `size` bytes under /dev/shm: dense random bytes (everyNthPage 1), or sized with
 * ftruncate and random bytes written into every Nth page only (the rest stays holes, as a guest's
 * untouched memory does).
 */
function makeInput(name, everyNthPage, size = SIZE) {
  const path = join(SHM, `${TAG}-${name}`);
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  const chunk = Buffer.alloc(4 << 20);
  if (everyNthPage === 1) {
    for (let off = 0; off < size; off += chunk.length) {
      const n = Math.min(chunk.length, size - off);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n, off);
    }
  } else {
    for (let page = 0; page * 4096 < size; page += everyNthPage) {
      randomFillSync(chunk, 0, 4096);
      writeSync(fd, chunk, 0, Math.min(4096, size - page * 4096), page * 4096);
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

/** Runs a command under GNU time: wall seconds, CPU seconds and peak RSS (KiB) of it and its children. */
function timed(cmd, cmdArgs, okCodes = [0]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...cmdArgs], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!okCodes.includes(r.status)) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [rss, user, sys] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  return { seconds, cpu: user + sys, rss };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * Ours and theirs, alternating which goes first, RUNS times each (`runs` for cheap cases, where
 * more runs steady the median of a noisy machine). `target`: the largest ratio ours / theirs that
 * meets the budget (undefined: a figure without a target).
 */
function compare(label, ours, theirs, theirName, target, runs = RUNS) {
  const o = [];
  const t = [];
  const oc = [];
  const tc = [];
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? [theirs, ours] : [ours, theirs];
    for (const fn of order) {
      const r = fn();
      if (fn === ours) {
        o.push(r.seconds);
        oc.push(r.cpu);
        peak = Math.max(peak, r.rss);
      } else {
        t.push(r.seconds);
        tc.push(r.cpu);
      }
    }
  }
  return { label, ours: median(o), theirs: median(t), oursCpu: median(oc), theirsCpu: median(tc), theirName, ratio: median(o) / median(t), peakMiB: peak / 1024, target };
}

/** The budget's memory limit for every CLI case. */
const RSS_LIMIT_MIB = 100;

function cliCases() {
  mkdirSync(OUT, { recursive: true });
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`bench: ${sizeText} inputs on ${SHM}, median of ${RUNS} runs (start-up: ${STARTUP_RUNS}), load average ${load}, ${new Date().toISOString()}`);
  const dense = makeInput('dense', 1);
  const sparse = makeInput('sparse', 10);
  const same = withChanges(dense, 'same', 0);
  const changed = withChanges(dense, 'changed', 10_000);
  const rows = [];
  const snap = join(SHM, `${TAG}-out.shmsnap`);
  const copy = join(SHM, `${TAG}-out.bin`);
  const inputs = [dense, sparse, same, changed, snap, copy];
  // Each writes a new file, the previous one removed before the clock starts (freeing a 1 GiB file
  // of /dev/shm takes a quarter of a second here: whoever replaced one would pay for it).
  const snapshotOf = (input, target = snap) => () => (rmSync(target, { force: true }), timed(process.execPath, [CLI, 'snapshot', input, '-o', target]));
  const cpOf = (input) => () => (rmSync(copy, { force: true }), timed('cp', [input, copy]));
  try {
    // Snapshots go to /dev/shm as cp's copies do: both measured on memory, not on a shared disk.
    rows.push(compare('snapshot, dense', snapshotOf(dense), cpOf(dense), 'cp', 1.2));
    rows.push(compare('snapshot, 90% holes', snapshotOf(sparse), cpOf(sparse), 'cp', 2.0));
    rmSync(copy, { force: true });
    rows.push(compare('diff, identical', () => timed(process.execPath, [CLI, 'diff', dense, same]), () => timed('cmp', [dense, same]), 'cmp', 0.8));
    rows.push(
      // GNU cmp stops at the first difference when its output is /dev/null: give it a real file.
      compare('diff, 10,000 changes', () => timed(process.execPath, [CLI, 'diff', dense, changed]), () => timed('sh', ['-c', 'cmp -l "$0" "$1" > "$2"; test $? -eq 1', dense, changed, join(OUT, 'cmp.out')]), 'cmp -l', 0.8),
    );
    // Two snapshots of the same bytes, compared: every block of both is checked against its
    // checksum before the result is trusted. cmp skips the headers (-i) and compares the data.
    const [snapA, snapB] = [join(SHM, `${TAG}-a.shmsnap`), join(SHM, `${TAG}-b.shmsnap`)];
    inputs.push(snapA, snapB);
    for (const [input, s] of [[dense, snapA], [same, snapB]]) snapshotOf(input, s)();
    const skip = String(dataOffset(snapA));
    rows.push(compare('diff, identical snapshots', () => timed(process.execPath, [CLI, 'diff', snapA, snapB]), () => timed('cmp', ['-i', skip, snapA, snapB]), 'cmp -i', 0.8));
    for (const s of [snapA, snapB]) rmSync(s, { force: true });
    const length = String(Math.min(SIZE, 64 << 20));
    rows.push(compare(`dump ${Number(length) >> 20} MiB`, () => timed(process.execPath, [CLI, 'dump', dense, '--length', length]), () => timed('xxd', ['-l', length, dense]), 'xxd', 0.5));
    // Start-up: a small command against Node starting and doing nothing.
    rows.push(compare('dump 256 bytes (start-up)', () => timed(process.execPath, [CLI, 'dump', dense, '--length', '256']), () => timed(process.execPath, ['-e', '0']), 'node -e 0', 2.0, STARTUP_RUNS));
    for (const f of [dense, same, changed]) rmSync(f, { force: true });
    // The same data in a segment 16 times larger (16 times more holes): a snapshot's cost follows
    // the data. Both against the 1 GiB sparse snapshot, measured again here side by side.
    if (!args.includes('--no-large')) {
      const largeSize = SIZE * 16;
      const large = makeInput('sparse-x16', 160, largeSize);
      inputs.push(large);
      rows.push(compare(`snapshot, ${formatSize(largeSize)} sparse, same data`, snapshotOf(large), snapshotOf(sparse), `snapshot of ${sizeText}`, 1.5));
      const largeCopy = join(SHM, `${TAG}-sparse-x16-copy`);
      inputs.push(largeCopy);
      const sparseCopy = join(SHM, `${TAG}-sparse-copy`);
      inputs.push(sparseCopy);
      // cp keeps the holes (a copy_file_range of a 16 GiB hole would allocate it).
      for (const [from, to] of [[large, largeCopy], [sparse, sparseCopy]]) timed('cp', ['--sparse=always', from, to]);
      rows.push(compare(`diff, ${formatSize(largeSize)} sparse, identical`, () => timed(process.execPath, [CLI, 'diff', large, largeCopy]), () => timed(process.execPath, [CLI, 'diff', sparse, sparseCopy]), `diff of ${sizeText}`, 1.5));
    }
  } finally {
    for (const f of inputs) rmSync(f, { force: true });
    rmSync(OUT, { recursive: true, force: true });
  }
  console.log('\n| case | shmem-inspect (CPU) | yardstick (CPU) | ratio (ours / theirs) | target | peak RSS (ours) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const verdict = r.target === undefined ? '' : `at most ${r.target} x: ${r.ratio <= r.target ? 'met' : 'missed'}`;
    const rss = `${r.peakMiB.toFixed(0)} MiB${r.peakMiB <= RSS_LIMIT_MIB ? '' : ` (over ${RSS_LIMIT_MIB}: missed)`}`;
    console.log(`| ${r.label} | ${r.ours.toFixed(3)} s (${r.oursCpu.toFixed(2)}) | ${r.theirName} ${r.theirs.toFixed(3)} s (${r.theirsCpu.toFixed(2)}) | ${r.ratio.toFixed(2)} x | ${verdict} | ${rss} |`);
  }
  // A missed target with its measured floor: our process starts Node (the start-up row's `node -e
  // 0`, measured in this run), the yardstick is a C program that does not. What is left above it is
  // the I/O itself; README Performance breaks that down (e.g. pwrite alone against cp's whole copy).
  const start = rows.find((r) => r.theirName === 'node -e 0')?.theirs;
  const missed = rows.filter((r) => r.target !== undefined && r.ratio > r.target && r.theirName !== 'node -e 0' && !r.theirName.startsWith('snapshot of') && !r.theirName.startsWith('diff of'));
  if (start !== undefined && missed.length > 0) {
    console.log(`\nmissed targets against the floor: Node's own start-up is ${start.toFixed(3)} s in this run`);
    for (const r of missed) {
      const rest = Math.max(0, r.ours - start);
      console.log(`- ${r.label}: ${r.ratio.toFixed(2)} x; without Node's start-up ${(rest / r.theirs).toFixed(2)} x (${rest.toFixed(3)} s against ${r.theirName} ${r.theirs.toFixed(3)} s)`);
    }
  }
  console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

function formatSize(n) {
  return n >= 2 ** 30 ? `${n / 2 ** 30} GiB` : `${n / 2 ** 20} MiB`;
}

if (CLI_CASES) cliCases();
if (RECORD) {
  const record = spawnSync(process.execPath, [resolve('out/bench/record/record-bench.js'), ...args], { stdio: 'inherit' });
  if (record.status !== 0) process.exit(record.status ?? 1);
}
if (LIVE) {
  const live = spawnSync(process.execPath, [resolve('out/bench/live/live-view.js'), ...args], { stdio: 'inherit' });
  if (live.status !== 0) process.exit(live.status ?? 1);
}
if (TIMELINE) {
  const timeline = spawnSync(process.execPath, [resolve('out/bench/timeline/timeline-seek.js'), ...args], { stdio: 'inherit' });
  if (timeline.status !== 0) process.exit(timeline.status ?? 1);
}
// Alone, on demand: how fast VS Code shows a webview's page by the way the webview is had (new,
// reused, kept warm), with no product installed (bench/live/webview-reuse.ts).
if (args.includes('--webview-reuse')) {
  const probe = spawnSync(process.execPath, [resolve('out/bench/live/webview-reuse.js')], { stdio: 'inherit' });
  if (probe.status !== 0) process.exit(probe.status ?? 1);
}
