/**
 * Would reusing a webview, or keeping one warm, bring a view's first rows under 300 ms? Runs the
 * probe extension (webview-probe.ts) alone in each code-server of the project (no product, so only
 * VS Code's own webview machinery is measured) and prints its figures. Run by `npm run bench --
 * --webview-reuse` (after `npm run build`); asserts nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openWorkbench } from '../../test/helpers/vscode';
import { ROOT, tempDir } from '../../test/helpers/temp';

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function probe(version: string | undefined): Promise<Record<string, unknown>> {
  const { dir, cleanup } = tempDir('shmem-inspect-webview-probe-');
  const out = path.join(dir, 'probe.json');
  const wb = await openWorkbench({
    dir,
    withoutProduct: true,
    ...(version ? { version } : {}),
    env: { SHMEM_PROBE_OUT: out, SHMEM_PROBE_RUNS: process.env.SHMEM_PROBE_RUNS ?? '5' },
    extraExtensions: {
      'shmem-tools.webview-probe-0.0.1': {
        packageJson: { name: 'webview-probe', publisher: 'shmem-tools', version: '0.0.1', engines: { vscode: '^1.100.0' }, main: './index.js', activationEvents: ['onStartupFinished'] },
        main: path.join(ROOT, 'out', 'bench', 'live', 'webview-probe.js'),
      },
    },
  });
  try {
    const until = Date.now() + 180_000;
    while (!fs.existsSync(out)) {
      if (Date.now() > until) throw new Error('the probe extension wrote nothing within 180 s');
      await sleep(200);
    }
    return JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, unknown>;
  } finally {
    await wb.close();
    cleanup();
  }
}

async function main(): Promise<void> {
  const servers = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'lib', 'code-servers.json'), 'utf8')) as Record<string, unknown>;
  console.log('\n| code-server (VS Code) | new panel | new panel, another open | one panel, HTML replaced | retained panel revealed | workerStart of the pages (median) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const version of Object.keys(servers)) {
    const r = await probe(version);
    if (r.error) {
      console.log(`| ${version} | probe failed: ${String(r.error).split('\n')[0]} | | | | |`);
      continue;
    }
    const f = r.figures as Record<string, number[]>;
    const cell = (v: number[]): string => `${median(v)} ms (${v.join(', ')})`;
    console.log(`| ${version} (${String(r.version)}) | ${cell(f.new!)} | ${cell(f.newBesideOpen!)} | ${cell(f.reuse!)} | ${cell(f.revealRetained!)} | ${median(f.workerStartMs!.filter((w) => w >= 0))} ms |`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
