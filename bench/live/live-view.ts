/**
 * The live-view budget (issue 8), measured in a real VS Code (code-server) shown in a real browser
 * (Debian's chromium through playwright-core). Run by `npm run bench` (or `npm run bench -- --live`
 * for this part only). Asserts nothing: it prints figures against their targets and writes them to
 * test-output/bench-live.json.
 *
 * What is measured, and where each clock is read:
 * - write → highlight: a writer process pwrite()s one byte and reads Date.now() right after; the
 *   page records Date.now() in a MutationObserver when that cell shows the new value highlighted
 *   (the DOM is updated inside a requestAnimationFrame callback, so the paint follows in that frame).
 * - idle CPU: utime + stime (/proc/PID/stat) of the extension host, the session's agent and every
 *   process of the browser (its renderers, where the webview's page runs its fade timer and draws,
 *   its GPU and browser processes) over a window with a live view open on a segment nobody writes;
 *   then the same processes with no view and no session, for what the view adds.
 * - memory: VmRSS of the agent of a session on a dense 16 MiB file and on a dense 1 GiB file (64
 *   times larger, every page allocated: holes would cost nothing), after Go to their last pages;
 *   and a 16 GiB sparse file, for scale.
 * - first rows: from the extension host's Date.now() as it runs "Attach Backing File" (a helper
 *   extension runs the command) to the page's performance mark when it first drew real bytes.
 * - Go to Offset: in the page, from the Enter key in the Go to field to the target row's bytes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { hexFrame, openWorkbench } from '../../test/helpers/vscode';
import { ROOT, childrenOf, tempDir } from '../../test/helpers/temp';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && Number.isFinite(Number(args[i + 1])) ? Number(args[i + 1]) : fallback;
};
const WRITES = opt('writes', 200);
const IDLE_SECONDS = opt('idle-seconds', 30);
const QUIET_WRITES = opt('quiet-writes', 20);
// Which code-server (scripts/lib/code-servers.json): the Node 20 one unless --code-server VERSION.
const csAt = args.indexOf('--code-server');
const CODE_SERVER = csAt >= 0 ? args[csAt + 1] : undefined;
const GIB = 2 ** 30;
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const DEFAULT_TICK: number = pkg.contributes.configuration.properties['shmemInspector.tickInterval'].default;
const CLK_TCK = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const quantile = (v: number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

interface Recorder {
  /** offset → the value its cell last turned to, highlighted, and when. */
  seen: Record<string, { text: string; at: number }>;
  /** Agent tick time of each change message, and when the page received it. */
  arrivals: { tick: number; at: number; offsets: number[] }[];
  /** When the page received each reply from the host. */
  replies: number[];
  waiters: { key: string; since: number; resolve: (t: number) => void }[];
  /** Resolves with the time the cell `key` ("offset:hex", or "offset:*" for any bytes) showed. */
  wait: (key: string) => Promise<number>;
  used?: boolean;
}

/**
 * Installed into a hex view's page once it shows bytes. Everything is event-driven (a
 * MutationObserver, message listeners), so that measuring does not load the 2-core machine with
 * polling from outside.
 */
function recorder(): void {
  const w = window as unknown as { __bench?: Recorder };
  if (w.__bench) return;
  const rec: Recorder = (w.__bench = { seen: {}, arrivals: [], replies: [], waiters: [], wait: (key) => wait(key) });
  const check = (): void => {
    const now = Date.now();
    for (const el of document.querySelectorAll('.hex .b.changed')) {
      const offset = (el as HTMLElement).dataset.offset!;
      const text = el.textContent ?? '';
      if (rec.seen[offset]?.text !== text) rec.seen[offset] = { text, at: now };
    }
    for (const waiter of rec.waiters.splice(0)) {
      const [offset, text] = waiter.key.split(':') as [string, string];
      const seen = rec.seen[offset];
      if (seen && seen.text === text && seen.at >= waiter.since) waiter.resolve(seen.at);
      else if (text === '*' && /^[0-9a-f]{2}$/.test(document.querySelector(`.hex .b[data-offset="${offset}"]`)?.textContent ?? '')) waiter.resolve(now);
      else rec.waiters.push(waiter);
    }
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class'] });
  window.addEventListener('message', (e: MessageEvent<{ type?: string; time?: number; changes?: { offset: number }[] }>) => {
    if (e.data?.type === 'changes') rec.arrivals.push({ tick: e.data.time!, at: Date.now(), offsets: (e.data.changes ?? []).map((c) => c.offset) });
    if (e.data?.type === 'reply') rec.replies.push(Date.now());
  });
  const wait = (key: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${key} never showed`)), 10_000);
      rec.waiters.push({ key, since: Date.now(), resolve: (t) => (clearTimeout(timer), resolve(t)) });
      check(); // it may be there already
    });
}

/** In the page: Go to `target` as a user does (type into the field, Enter); times to the bytes. */
async function gotoInPage(target: number): Promise<{ ms: number; replyMs: number | undefined }> {
  const rec = (window as unknown as { __bench: Recorder }).__bench;
  const field = document.querySelector('#goto') as HTMLElement & { value: string };
  field.value = `0x${target.toString(16)}`;
  const replies = rec.replies.length;
  const start = Date.now();
  const shown = rec.wait(`${target}:*`);
  field.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  const done = await shown;
  const reply = rec.replies[replies];
  return { ms: done - start, replyMs: reply === undefined ? undefined : reply - start };
}

/** /proc helpers: CPU ticks and resident memory of a process. */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
function descendants(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendants(c)]);
}
function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** code-server's extension host CPU with nothing of ours installed: the floor under our figure. */
async function baselineHostCpu(seconds: number): Promise<number> {
  const { dir, cleanup } = tempDir('shmem-inspect-bench-baseline-');
  const wb = await openWorkbench({ dir, withoutProduct: true, ...(CODE_SERVER ? { version: CODE_SERVER } : {}) });
  try {
    let host: number | undefined;
    const until = Date.now() + 60_000;
    while ((host = descendants(wb.serverPid).find((p) => cmdline(p).includes('--type=extensionHost'))) === undefined) {
      if (Date.now() > until) throw new Error('no extension host in the baseline code-server');
      await sleep(200);
    }
    await sleep(10_000); // start-up work settles
    const t0 = Date.now();
    const c0 = cpuTicks(host);
    await sleep(seconds * 1000);
    return ((cpuTicks(host) - c0) / CLK_TCK / ((Date.now() - t0) / 1000)) * 100;
  } finally {
    await wb.close();
    cleanup();
  }
}

/** Every process of the browser playwright started for this bench (renderers, GPU, the browser). */
function browserProcesses(): number[] {
  return descendants(process.pid).filter((p) => /chrom/i.test(cmdline(p)));
}

/** CPU ticks of a set of processes; one that ended meanwhile counts what it had at the start. */
function ticksOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of pids) {
    try {
      out.set(p, cpuTicks(p));
    } catch {
      // gone
    }
  }
  return out;
}

/** Percent of one core the processes of `start` used since then. */
function pctSince(start: Map<number, number>, seconds: number): number {
  let ticks = 0;
  for (const [p, t0] of start) {
    try {
      ticks += cpuTicks(p) - t0;
    } catch {
      // ended during the window: its last ticks are lost, a small undercount
    }
  }
  return (ticks / CLK_TCK / seconds) * 100;
}

function agentsOf(hostPid: number): number[] {
  return childrenOf(hostPid).filter((p) => cmdline(p).includes(path.join('dist', 'agent', 'main.js')));
}

class Bench {
  private next = 0;
  /**
   * What VS Code's webview loader (pre/index.html) says about its service worker, per view: in
   * code-server every webview shares one origin but registers the worker under a script URL that
   * carries the view's id, so a new view may find another view's worker in control and wait for its
   * own to take over ("Waiting for controllerchange").
   */
  workerWaits = 0;
  constructor(
    readonly page: Page,
    readonly cmdDir: string,
  ) {
    page.on('console', (m) => {
      if (/Waiting for controllerchange/.test(m.text())) this.workerWaits++;
    });
  }

  /** Runs a VS Code command in the extension host; returns the host's clock when it started. */
  async command(command: string, ...commandArgs: unknown[]): Promise<{ startedAt: number; finishedAt: number; result?: unknown }> {
    const id = String(this.next++);
    const file = path.join(this.cmdDir, `cmd-${id}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ id, command, args: commandArgs }));
    fs.renameSync(`${file}.tmp`, file);
    const done = path.join(this.cmdDir, `done-${id}.json`);
    const until = Date.now() + 60_000;
    while (!fs.existsSync(done)) {
      if (Date.now() > until) throw new Error(`${command} did not finish within 60 s`);
      await sleep(10);
    }
    const r = JSON.parse(fs.readFileSync(done, 'utf8'));
    if (r.error) throw new Error(`${command}: ${r.error}`);
    return r;
  }

  /** The newest hex view of `file` not measured before. */
  async frameFor(file: string): Promise<Frame> {
    return hexFrame(this.page, async (f) => f.evaluate((source) => {
      const w = window as unknown as { __bench?: { used?: boolean } };
      return document.body.dataset.source === source && !w.__bench?.used;
    }, file), 60_000);
  }

  /**
   * Where the time to first rows goes: the command until the session is attached (our agent, while
   * VS Code creates the webview), until the page's navigation starts, until its HTML is requested
   * (VS Code's webview host), and from the HTML to the first bytes drawn (our page).
   */
  readonly firstRowParts: { attachedMs: number; pageStartMs: number; workerStartMs: number; fetchStartMs: number; htmlRequestedMs: number; htmlToFirstBytesMs: number; workerWaits: number }[] = [];

  async attachAndTime(file: string): Promise<{ ms: number; frame: Frame }> {
    const waitsBefore = this.workerWaits;
    const { startedAt, finishedAt } = await this.command('shmemInspector.attachFile', file);
    const frame = await this.frameFor(file);
    // The page marks when its first bytes were drawn (webview/hex-view.ts); as epoch ms.
    const mark = (): Promise<number | undefined> =>
      frame.evaluate(() => {
        const e = performance.getEntriesByName('shmem-inspector:first-bytes')[0];
        return e === undefined ? undefined : performance.timeOrigin + e.startTime;
      });
    let firstRowsAt: number | undefined;
    const until = Date.now() + 30_000;
    while ((firstRowsAt = await mark()) === undefined) {
      if (Date.now() > until) throw new Error(`no rows of ${file} within 30 s`);
      await sleep(20);
    }
    const origin = await frame.evaluate(() => performance.timeOrigin);
    const nav = await frame.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      return n ? { workerStart: n.workerStart, fetchStart: n.fetchStart, requestStart: n.requestStart, responseEnd: n.responseEnd } : undefined;
    });
    this.firstRowParts.push({
      attachedMs: finishedAt - startedAt,
      pageStartMs: Math.round(origin - startedAt),
      // workerStart is 0 when no service worker controlled the navigation; fetchStart is when the
      // browser could fetch (after any service worker started).
      workerStartMs: nav?.workerStart ? Math.round(origin + nav.workerStart - startedAt) : -1,
      fetchStartMs: Math.round(origin + (nav?.fetchStart ?? 0) - startedAt),
      htmlRequestedMs: Math.round(origin + (nav?.requestStart ?? 0) - startedAt),
      htmlToFirstBytesMs: Math.round(firstRowsAt - (origin + (nav?.responseEnd ?? 0))),
      workerWaits: this.workerWaits - waitsBefore,
    });
    await frame.evaluate(recorder);
    await frame.evaluate(() => ((window as unknown as { __bench: { used: boolean } }).__bench.used = true));
    return { ms: firstRowsAt - startedAt, frame };
  }
}

const gotoReplies: number[] = [];
async function gotoAndTime(frame: Frame, target: number): Promise<number> {
  const r = await frame.evaluate(gotoInPage, target);
  if (r.replyMs !== undefined) gotoReplies.push(r.replyMs);
  return r.ms;
}

/** A process that pwrite()s one byte per line on stdin and prints Date.now() right after. */
function startWriter(file: string): { write: (offset: number, value: number) => Promise<number>; stop: () => void } {
  const script = "const fs=require('fs');const fd=fs.openSync(process.argv[1],'r+');require('readline').createInterface({input:process.stdin}).on('line',(l)=>{const[o,v]=l.split(' ').map(Number);fs.writeSync(fd,Buffer.from([v]),0,1,o);process.stdout.write(Date.now()+'\\n')})";
  const child: ChildProcess = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((t: number) => void)[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const t = Number(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      waiting.shift()?.(t);
    }
  });
  return {
    write: (offset, value) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin!.write(`${offset} ${value}\n`);
      }),
    stop: () => child.kill(),
  };
}

function makeFile(file: string, size: number, dense: boolean): void {
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, size);
  if (dense) {
    const chunk = Buffer.alloc(4 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131 + (i >> 12) * 17) & 0xff;
    for (let at = 0; at < size; at += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
  }
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  const { dir, cleanup } = tempDir('shmem-inspect-bench-live-');
  const cmdDir = path.join(dir, 'commands');
  fs.mkdirSync(cmdDir);
  const live = path.join(dir, 'live.bin');
  const oneGiB = path.join(dir, 'one-gib.bin');
  const small = path.join(dir, 'small-16mib.bin');
  const huge = path.join(dir, 'sparse-16gib.bin');
  makeFile(live, 1 << 20, false);
  makeFile(oneGiB, GIB, true);
  makeFile(small, 16 << 20, true);
  makeFile(huge, 16 * GIB, false);
  const hugeFd = fs.openSync(huge, 'r+');
  fs.writeSync(hugeFd, Buffer.from('the last page!!!'), 0, 16, 16 * GIB - 16);
  fs.closeSync(hugeFd);

  const wb = await openWorkbench({
    dir,
    ...(CODE_SERVER ? { version: CODE_SERVER } : {}),
    env: { SHMEM_BENCH_DIR: cmdDir },
    extraExtensions: {
      'shmem-tools.shmem-inspector-bench-0.0.1': {
        packageJson: { name: 'shmem-inspector-bench', publisher: 'shmem-tools', version: '0.0.1', engines: { vscode: '^1.100.0' }, main: './index.js', activationEvents: ['onStartupFinished'], extensionDependencies: ['shmem-tools.shmem-inspector'] },
        main: path.join(ROOT, 'out', 'bench', 'live', 'trigger.js'),
      },
    },
  });
  // Interrupted (Ctrl-C, a timeout): close code-server and the browser, or they keep running.
  const stop = (): void => void wb.close().finally(() => (cleanup(), process.exit(130)));
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const figures: Record<string, unknown> = { date: new Date().toISOString(), codeServer: CODE_SERVER ?? 'the Node 20 one', defaultTickMs: DEFAULT_TICK, cores: (await import('node:os')).cpus().length };
  try {
    const readyFile = path.join(cmdDir, 'ready.json');
    const until = Date.now() + 120_000;
    while (!fs.existsSync(readyFile)) {
      if (Date.now() > until) throw new Error('the bench helper extension never started');
      await sleep(100);
    }
    const hostPid: number = JSON.parse(fs.readFileSync(readyFile, 'utf8')).pid;
    const bench = new Bench(wb.page, cmdDir);
    // A first attach warms up what any first use pays once (the agent bundle from disk, the webview's
    // service worker); it is reported apart.
    const warm = await bench.attachAndTime(small);
    const smallAgent = agentsOf(hostPid)[0]!;
    // (for the memory figure below: the small session also goes to its end, while its view shows)
    await gotoAndTime(warm.frame, (16 << 20) - 1);

    // First rows of a 1 GiB segment, 5 times (each a new session and view).
    const firstRows: number[] = [];
    let bigFrame: Frame | undefined;
    let bigAgent: number | undefined;
    for (let i = 0; i < 5; i++) {
      const agentsBefore = new Set(agentsOf(hostPid));
      const r = await bench.attachAndTime(oneGiB);
      firstRows.push(r.ms);
      bigFrame = r.frame;
      bigAgent = agentsOf(hostPid).find((p) => !agentsBefore.has(p));
    }
    figures.firstRows = { segment: '1 GiB', runsMs: firstRows.map(Math.round), medianMs: Math.round(median(firstRows)), firstAttachOfTheRunMs: Math.round(warm.ms), targetMs: 300, parts: bench.firstRowParts.slice(-5), firstAttachParts: bench.firstRowParts[0] };

    // Go to Offset: the last byte first, then 9 scattered offsets (cold pages each).
    const gotos: number[] = [];
    const targets = [GIB - 1, ...Array.from({ length: 9 }, (_, i) => Math.floor(((i * 0.37 + 0.11) % 1) * GIB))];
    for (const t of targets) gotos.push(await gotoAndTime(bigFrame!, t));
    figures.goTo = { segment: '1 GiB', lastPageMs: gotos[0], runsMs: gotos, medianMs: median(gotos), maxMs: Math.max(...gotos), targetMs: 100, medianToReplyMs: median(gotoReplies.slice(-targets.length)) };

    // Memory: the agent of the dense 1 GiB session (after its Go tos, the last page first) vs the
    // dense 16 MiB one (after Go to its end); and a 16 GiB sparse one after Go to its end.
    const bigAgentRss = rssMiB(bigAgent!);
    const before = new Set(agentsOf(hostPid));
    const hugeRun = await bench.attachAndTime(huge);
    const hugeAgent = agentsOf(hostPid).find((p) => !before.has(p))!;
    const hugeGoto = await gotoAndTime(hugeRun.frame, 16 * GIB - 1);
    await sleep(1000);
    figures.memory = {
      agentRssMiB16MiB: rssMiB(smallAgent),
      agentRssMiB1GiBDense: bigAgentRss,
      agentRssMiB16GiBSparse: rssMiB(hugeAgent),
      firstRows16GiBMs: hugeRun.ms,
      goToLastPage16GiBMs: hugeGoto,
      extensionHostRssMiB: rssMiB(hostPid),
      target: 'independent of the segment size',
    };
    await bench.command('workbench.action.closeAllEditors');
    for (let i = 0; i < 10; i++) await bench.command('shmemInspector.detach').catch(() => undefined);
    await sleep(1000);

    // Write → highlight, at the default tick, on a fresh view of a 1 MiB segment.
    const liveBefore = new Set(agentsOf(hostPid));
    const liveRun = await bench.attachAndTime(live);
    const liveAgent = agentsOf(hostPid).find((p) => !liveBefore.has(p))!;
    const frame = liveRun.frame;
    const writer = startWriter(live);
    const latencies: number[] = [];
    const quiet: number[] = [];
    // Where the time goes: write → the agent's tick that saw it, tick → the message in the page,
    // message → the highlighted cell.
    const parts = { detect: [] as number[], deliver: [] as number[], draw: [] as number[] };
    try {
      for (let i = 0; i < WRITES; i++) {
        // Within the rows on screen; each write changes its byte (values cycle through 1..250).
        const offset = 0x40 + ((i * 3) % 384);
        const value = (i % 250) + 1;
        const key = `${offset}:${value.toString(16).padStart(2, '0')}`;
        const shown = frame.evaluate((k) => (window as unknown as { __bench: Recorder }).__bench.wait(k), key);
        const sent = await writer.write(offset, value);
        const seen = await shown;
        latencies.push(seen - sent);
        const arrival = await frame.evaluate(([o, t]) => (window as unknown as { __bench: Recorder }).__bench.arrivals.filter((a) => a.offsets.includes(o) && a.at <= t).pop(), [offset, seen] as const);
        if (arrival) {
          parts.detect.push(arrival.tick - sent);
          parts.deliver.push(arrival.at - arrival.tick);
          parts.draw.push(seen - arrival.at);
        }
        // Irregular gaps, so that writes do not fall into step with the tick.
        await sleep(20 + ((i * 37) % 53));
      }
      // A write after 2.5 s of quiet: the view samples at its idle pace (100 ms) until it sees one.
      for (let i = 0; i < QUIET_WRITES; i++) {
        await sleep(2500 + ((i * 89) % 100));
        const offset = 0x40 + (((WRITES + i) * 3) % 384);
        const value = ((WRITES + i) % 250) + 1;
        const shown = frame.evaluate((k) => (window as unknown as { __bench: Recorder }).__bench.wait(k), `${offset}:${value.toString(16).padStart(2, '0')}`);
        const sent = await writer.write(offset, value);
        quiet.push((await shown) - sent);
      }
    } finally {
      writer.stop();
    }
    figures.latency = { writes: latencies.length, tickMs: DEFAULT_TICK, medianMs: median(latencies), p95Ms: quantile(latencies, 0.95), maxMs: Math.max(...latencies), minMs: Math.min(...latencies), targetMedianMs: 40, targetP95Ms: 80, medianParts: { writeToTickMs: median(parts.detect), tickToPageMs: median(parts.deliver), pageToCellMs: median(parts.draw) } };
    figures.latencyAfterQuiet = { writes: quiet.length, quietMs: 2500, idleTickMs: 100, medianMs: median(quiet), p95Ms: quantile(quiet, 0.95), maxMs: Math.max(...quiet) };

    // Idle CPU with that live view open and nothing changing (after the highlights faded).
    await sleep(3000);
    const t0 = Date.now();
    const host0 = cpuTicks(hostPid);
    const agent0 = cpuTicks(liveAgent);
    const browser0 = ticksOf(browserProcesses());
    await sleep(IDLE_SECONDS * 1000);
    const seconds = (Date.now() - t0) / 1000;
    const hostPct = ((cpuTicks(hostPid) - host0) / CLK_TCK / seconds) * 100;
    const agentPct = ((cpuTicks(liveAgent) - agent0) / CLK_TCK / seconds) * 100;
    const browserPct = pctSince(browser0, seconds);
    // For scale: the same extension host with no session at all.
    await bench.command('workbench.action.closeAllEditors');
    for (let i = 0; i < 5; i++) await bench.command('shmemInspector.detach').catch(() => undefined);
    await sleep(2000);
    const h0 = cpuTicks(hostPid);
    const b0 = ticksOf(browserProcesses());
    const t1 = Date.now();
    await sleep(IDLE_SECONDS * 1000);
    const alone = (Date.now() - t1) / 1000;
    const hostAlonePct = ((cpuTicks(hostPid) - h0) / CLK_TCK / alone) * 100;
    const browserAlonePct = pctSince(b0, alone);
    figures.idleCpu = {
      seconds: Math.round(seconds),
      extensionHostPct: +hostPct.toFixed(2),
      agentPct: +agentPct.toFixed(2),
      browserPct: +browserPct.toFixed(2),
      totalPct: +(hostPct + agentPct + browserPct).toFixed(2),
      extensionHostWithoutSessionsPct: +hostAlonePct.toFixed(2),
      browserWithoutViewsPct: +browserAlonePct.toFixed(2),
      addedByTheLiveViewPct: +(Math.max(0, hostPct - hostAlonePct) + agentPct + Math.max(0, browserPct - browserAlonePct)).toFixed(2),
      addedInTheBrowserPct: +Math.max(0, browserPct - browserAlonePct).toFixed(2),
      targetPct: 2,
    };
  } finally {
    await wb.close();
    cleanup();
  }
  (figures.idleCpu as Record<string, number>).extensionHostWithoutProductPct = +(await baselineHostCpu(Math.min(IDLE_SECONDS, 30))).toFixed(2);
  print(figures);
  const out = path.join(ROOT, 'test-output');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'bench-live.json'), JSON.stringify(figures, null, 2));
}

function print(f: Record<string, unknown>): void {
  const g = f as Record<string, Record<string, number>>;
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log(`\nlive view (real code-server + chromium, default tick ${f.defaultTickMs} ms, ${f.cores} cores, ${f.date})\n`);
  console.log('| measure | figure | target | |');
  console.log('| --- | --- | --- | --- |');
  const l = g.latency!;
  console.log(`| write by another process → highlighted byte, median of ${l.writes} | ${l.medianMs} ms | < 40 ms | ${mark(l.medianMs! < 40)} |`);
  console.log(`| same, 95th percentile (max ${l.maxMs} ms) | ${l.p95Ms} ms | < 80 ms | ${mark(l.p95Ms! < 80)} |`);
  const q = g.latencyAfterQuiet!;
  console.log(`| same, each write after 2.5 s of quiet (idle pace ${q.idleTickMs} ms), median / p95 of ${q.writes} | ${q.medianMs} / ${q.p95Ms} ms | (no target) | |`);
  const c = g.idleCpu!;
  console.log(`| idle live view: extension host + agent + browser CPU, all of it (host ${c.extensionHostPct}%, agent ${c.agentPct}%, browser ${c.browserPct}%) | ${c.totalPct}% of a core | < 2% | ${mark(c.totalPct! < 2)} |`);
  console.log(`| of which code-server's extension host uses by itself: with no session / without this extension installed | ${c.extensionHostWithoutSessionsPct}% / ${c.extensionHostWithoutProductPct}% | | |`);
  console.log(`| of which the browser uses with no view open (the workbench page) | ${c.browserWithoutViewsPct}% | | |`);
  console.log(`| what the idle live view adds (host with view − host with no session, + agent, + browser with view − browser without; the browser's part ${c.addedInTheBrowserPct}%) | ${c.addedByTheLiveViewPct}% of a core | < 2% | ${mark(c.addedByTheLiveViewPct! < 2)} |`);
  const m = g.memory!;
  console.log(`| agent memory: dense 16 MiB segment vs dense 1 GiB segment (after Go to the end) | ${m.agentRssMiB16MiB} MiB vs ${m.agentRssMiB1GiBDense} MiB | independent of size | ${mark(m.agentRssMiB1GiBDense! <= m.agentRssMiB16MiB! * 1.2 + 5)} |`);
  console.log(`| the same for a 16 GiB sparse segment, for scale | ${m.agentRssMiB16GiBSparse} MiB | | |`);
  const r = g.firstRows!;
  console.log(`| Attach 1 GiB segment → first rows, median of 5 (runs ${(r.runsMs as unknown as number[]).join(', ')} ms) | ${r.medianMs} ms | < 300 ms | ${mark(r.medianMs! < 300)} |`);
  const parts = (f.firstRows as { parts: Record<string, number>[]; firstAttachParts: Record<string, number> }).parts;
  const mid = (k: string): number => median(parts.map((p) => p[k]!));
  console.log(`| of which: agent attached / webview page started / its HTML requested (VS Code's webview host) / HTML → first bytes drawn (our page), medians | ${mid('attachedMs')} / ${mid('pageStartMs')} / ${mid('htmlRequestedMs')} / ${mid('htmlToFirstBytesMs')} ms | | |`);
  const waited = parts.filter((p) => (p.workerWaits ?? 0) > 0).length;
  console.log(`| views whose webview loader waited for its service worker to take over (code-server: one origin, one worker URL per view) | ${waited} of ${parts.length} | | |`);
  console.log(`| the first view of a window (its HTML requested at ${(f.firstRows as { firstAttachParts: Record<string, number> }).firstAttachParts.htmlRequestedMs} ms) | ${r.firstAttachOfTheRunMs} ms | < 300 ms | ${mark(r.firstAttachOfTheRunMs! < 300)} |`);
  const t = g.goTo!;
  console.log(`| Go to Offset → last page of 1 GiB (9 more: median ${t.medianMs} ms, max ${t.maxMs} ms) | ${t.lastPageMs} ms | < 100 ms | ${mark(t.lastPageMs! < 100)} |`);
}

main().catch((err: unknown) => {
  console.error(`live-view bench failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
