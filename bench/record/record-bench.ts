/**
 * The recorder's budget (issue 15), run by `npm run bench` (`-- --record` for this part alone).
 * Asserts nothing: it prints figures against their targets and writes them to
 * test-output/bench-record.json.
 *
 * - Keeping up: a writer process changes 1,000 scattered bytes per tick at 100 Hz through a shared
 *   mapping while `shmem-inspect record --interval 10` runs for 20 s, on a 1 MiB and a 16 MiB
 *   segment (random bytes): missed ticks, the recorder's CPU (user + system of the CLI and its
 *   agent, from GNU time, against the same recording of an idle segment), and how the file grows:
 *   against the bytes that changed, for both sizes.
 * - Seeking: a synthetic one-hour recording at 100 Hz (1 MiB; a 4-byte head and 8 scattered bytes
 *   change per sample: many small records, the worst case for a seek), made by the real Recorder
 *   over bytes in memory with a fake clock. Open (the scan), then the state at 50 random moments
 *   (whole and a 4 KiB window), stepping by a field, density and heat.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { RecordingFile } from '../../core/record/reader';
import { Timeline } from '../../core/record/timeline';
import { ROOT, rng } from '../../test/helpers/temp';
import { syntheticHour } from '../../test/helpers/recording';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && Number.isFinite(Number(args[i + 1])) ? Number(args[i + 1]) : fallback;
};
const SECONDS = opt('record-seconds', 20);
const HOUR_SAMPLES = opt('hour-samples', 360_000);
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const WRITER = path.join(ROOT, 'out', 'bench', 'record', 'writer.js');
const SHM = fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const MIB = 1 << 20;

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

interface KeepUp {
  segmentMiB: number;
  writerTicks: number;
  samples: number;
  missedTicks: number;
  changeSamples: number;
  changedBytes: number;
  fileBytes: number;
  firstStateBytes: number;
  /** Growth after the first state. */
  fileBytesPerSecond: number;
  fileBytesPerChangedByte: number;
  slowestSampleMs: number;
  cpuPercent: number;
  idleCpuPercent: number;
  peakRssMiB: number;
}

/** `record` under GNU time for `seconds`; returns its info and CPU. */
async function timedRecording(seg: string, out: string, seconds: number, writer?: { count: number }): Promise<{ info: Record<string, number>; cpuSeconds: number; rssKiB: number; writerTicks: number }> {
  fs.rmSync(out, { force: true });
  const rec = spawn('/usr/bin/time', ['-f', '%U %S %M', process.execPath, CLI, 'record', seg, '-o', out, '--interval', '10', '--duration', String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  rec.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // The writer starts once the first state is in the file.
  while (!stderr.includes('Ctrl-C stops')) {
    if (rec.exitCode !== null) throw new Error(`record failed: ${stderr}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  let writerTicks = 0;
  let writerDone: Promise<void> = Promise.resolve();
  if (writer) {
    const w = spawn(process.execPath, [WRITER, seg, String(writer.count), '10', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    w.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    writerDone = new Promise((resolve) => w.on('close', () => {
      writerTicks = text ? JSON.parse(text).ticks : 0;
      resolve();
    }));
  }
  const code = await new Promise<number | null>((resolve) => rec.on('close', resolve));
  await writerDone;
  if (code !== 0) throw new Error(`record exited with ${code}: ${stderr}`);
  const [user, sys, rss] = stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  const info = JSON.parse(spawnSync(process.execPath, [CLI, 'info', out, '--json'], { encoding: 'utf8' }).stdout);
  const slowest = /(?:slowest sample took|a sample took up to) ([\d.]+) ms/.exec(stderr);
  info.slowestSampleMs = slowest ? Number(slowest[1]) : NaN;
  return { info, cpuSeconds: user! + sys!, rssKiB: rss!, writerTicks };
}

async function keepUp(sizeMiB: number): Promise<KeepUp> {
  const seg = path.join(SHM, `shmem-inspect-bench-rec-${sizeMiB}`);
  const out = path.join(SHM, `shmem-inspect-bench-rec-${sizeMiB}.shmrec`);
  const data = Buffer.alloc(sizeMiB * MIB);
  randomFillSync(data);
  fs.writeFileSync(seg, data);
  try {
    const idle = await timedRecording(seg, out, SECONDS / 2);
    const busy = await timedRecording(seg, out, SECONDS, { count: 1000 });
    const i = busy.info;
    return {
      segmentMiB: sizeMiB,
      writerTicks: busy.writerTicks,
      samples: i.samples!,
      missedTicks: i.missedTicks!,
      changeSamples: i.changeSamples!,
      changedBytes: i.changedBytes!,
      fileBytes: i.fileBytes!,
      firstStateBytes: i.firstStateBytes!,
      fileBytesPerSecond: Math.round((i.fileBytes! - i.firstStateBytes!) / (i.durationMs! / 1000)),
      fileBytesPerChangedByte: round((i.fileBytes! - i.firstStateBytes!) / i.changedBytes!, 2),
      slowestSampleMs: i.slowestSampleMs!,
      cpuPercent: round((busy.cpuSeconds / (i.durationMs! / 1000)) * 100),
      idleCpuPercent: round((idle.cpuSeconds / (idle.info.durationMs! / 1000)) * 100),
      peakRssMiB: Math.round(busy.rssKiB / 1024),
    };
  } finally {
    fs.rmSync(seg, { force: true });
    fs.rmSync(out, { force: true });
  }
}

function seekFigures(file: string): Record<string, number> {
  let t = performance.now();
  const rec = RecordingFile.open(file);
  const openMs = performance.now() - t;
  const s = rec.summary();
  const random = rng(7);
  const whole: number[] = [];
  const wholeCpu: number[] = [];
  const window: number[] = [];
  // CPU time beside wall time: on a shared machine the wall clock also counts other processes' turns.
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const u = process.cpuUsage(since);
    return (u.user + u.system) / 1000;
  };
  for (let i = 0; i < 50; i++) {
    const at = random(Math.floor(s.durationMs));
    t = performance.now();
    const c = process.cpuUsage();
    rec.stateAt(at);
    whole.push(performance.now() - t);
    wholeCpu.push(cpuMs(c));
    const offset = random(MIB - 4096);
    t = performance.now();
    rec.stateAt(at, { offset, length: 4096 });
    window.push(performance.now() - t);
  }
  const tl = new Timeline(rec);
  const head = { offset: 0, length: 4 };
  t = performance.now();
  tl.next(s.durationMs / 2, head);
  const firstStepMs = performance.now() - t;
  const steps: number[] = [];
  for (let i = 0; i < 20; i++) {
    const at = random(Math.floor(s.durationMs));
    t = performance.now();
    tl.next(at, head);
    tl.previous(at, head);
    steps.push(performance.now() - t);
  }
  t = performance.now();
  tl.density(0, s.durationMs, 3600);
  const densityMs = performance.now() - t;
  t = performance.now();
  tl.heat(Array.from({ length: 256 }, (_, i) => ({ offset: i * 4096, length: 4096 })));
  const heatMs = performance.now() - t;
  rec.close();
  return {
    fileMiB: round(s.fileBytes / MIB),
    samples: s.samples,
    keyframes: s.keyframes,
    openMs: Math.round(openMs),
    seekWholeMedianMs: round(median(whole)),
    seekWholeMaxMs: round(Math.max(...whole)),
    seekWholeCpuMedianMs: round(median(wholeCpu)),
    seekWholeCpuMaxMs: round(Math.max(...wholeCpu)),
    seekWindowMedianMs: round(median(window)),
    seekWindowMaxMs: round(Math.max(...window)),
    firstStepInAFieldMs: Math.round(firstStepMs),
    nextStepMaxMs: round(Math.max(...steps), 2),
    density3600BucketsMs: round(densityMs),
    heat256RegionsMs: Math.round(heatMs),
  };
}

async function main(): Promise<void> {
  console.log(`\nrecording bench: ${SECONDS} s per segment, a one-hour synthetic recording (${HOUR_SAMPLES} samples), ${new Date().toISOString()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const keep = [await keepUp(1), await keepUp(16)];
  const hourFile = path.join(SHM, 'shmem-inspect-bench-hour.shmrec');
  let hour: Record<string, number>;
  try {
    const made = syntheticHour(hourFile, HOUR_SAMPLES);
    hour = { ...seekFigures(hourFile), makeSeconds: made.makeSeconds };
  } finally {
    fs.rmSync(hourFile, { force: true });
  }
  const figures = { keepUp: keep, hour };
  fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'test-output', 'bench-record.json'), `${JSON.stringify(figures, null, 2)}\n`);
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log('\n| recording: 1,000 scattered bytes changed per tick at 100 Hz, `record --interval 10` | 1 MiB | 16 MiB | target |');
  console.log('| --- | --- | --- | --- |');
  const row = (label: string, f: (k: KeepUp) => string, target = ''): void => console.log(`| ${label} | ${keep.map(f).join(' | ')} | ${target} |`);
  row('writer ticks / recorder samples', (k) => `${k.writerTicks} / ${k.samples}`);
  row('missed ticks', (k) => `${k.missedTicks}`, `0: ${keep.map((k) => mark(k.missedTicks === 0)).join(', ')}`);
  row('the slowest sample (read, compare, write), of the 10 ms interval', (k) => `${k.slowestSampleMs} ms`);
  row('recorder CPU (CLI + agent), % of a core: with the writer / idle segment', (k) => `${k.cpuPercent}% / ${k.idleCpuPercent}%`);
  row('bytes changed (samples with changes)', (k) => `${k.changedBytes} (${k.changeSamples})`);
  row('file size (of which the first state, random bytes)', (k) => `${round(k.fileBytes / MIB)} MiB (${round(k.firstStateBytes / MIB)} MiB)`);
  row('growth after the first state, per second', (k) => `${round(k.fileBytesPerSecond / 1024)} KiB/s`);
  row('growth per changed byte', (k) => `${k.fileBytesPerChangedByte} bytes`, 'the same for both sizes');
  row('peak RSS (CLI + agent)', (k) => `${k.peakRssMiB} MiB`);
  console.log('\n(Missed ticks while the slowest sample stays well under the interval: the recorder was ready but was not woken in time, the machine was busy.)');
  console.log(`\n| a ${HOUR_SAMPLES === 360_000 ? 'one-hour' : `${HOUR_SAMPLES / 100} s`} recording at 100 Hz (1 MiB, ${hour.samples} samples, ${hour.fileMiB} MiB, ${hour.keyframes} keyframes; made in ${hour.makeSeconds} s) | figure | target |`);
  console.log('| --- | --- | --- |');
  console.log(`| open (scan and check every record) | ${hour.openMs} ms | |`);
  console.log(`| seek: the whole state at a random moment, median / max of 50 (CPU time: ${hour.seekWholeCpuMedianMs} / ${hour.seekWholeCpuMaxMs} ms) | ${hour.seekWholeMedianMs} / ${hour.seekWholeMaxMs} ms | < 100 ms: ${mark(hour.seekWholeMaxMs! < 100)} |`);
  console.log(`| seek: a 4 KiB window (what a view shows), median / max of 50 | ${hour.seekWindowMedianMs} / ${hour.seekWindowMaxMs} ms | < 100 ms: ${mark(hour.seekWindowMaxMs! < 100)} |`);
  console.log(`| step to the next change of a field: the first time (reads every delta) / then, max of 20 | ${hour.firstStepInAFieldMs} / ${hour.nextStepMaxMs} ms | |`);
  console.log(`| change density in 3,600 buckets / heat of 256 regions over the hour | ${hour.density3600BucketsMs} / ${hour.heat256RegionsMs} ms | |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
