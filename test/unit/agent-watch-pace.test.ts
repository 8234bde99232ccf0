import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AgentServer } from '../../agent/agent-server';
import type { Wire } from '../../shared/messenger';
import { tempDir } from '../helpers/temp';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// A live view nobody writes to is sampled at the idle pace (each wake-up costs CPU), and the first
// change brings the fast pace back. Counted by wrapping the agent's source: one read per sample.
test('watch with an idle interval: fast while changing, slow after 2 s of quiet, fast again on a change', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(65536));
  const sent: Wire[] = [];
  const agent = new AgentServer((m) => sent.push(m));
  t.after(() => agent.handle({ m: 'request', id: 99, type: 'close', params: {} }));
  await agent.handle({ m: 'request', id: 1, type: 'open', params: { source: file, writable: false } });
  const opened = sent.at(-1);
  assert.ok(opened?.m === 'reply' && opened.ok, JSON.stringify(opened));
  const source = (agent as unknown as { source: { read: (...a: unknown[]) => unknown; view: (...a: unknown[]) => unknown } }).source;
  let reads = 0;
  // A sample reads the range, or compares in place bytes the source already holds (a view that
  // gives bytes): one or the other per sample. A view that gives nothing is followed by a read.
  const read = source.read.bind(source);
  const view = source.view.bind(source);
  source.read = (...a: unknown[]) => (reads++, read(...a));
  source.view = (...a: unknown[]) => {
    const v = view(...a);
    if (v !== undefined) reads++;
    return v;
  };
  await agent.handle({ m: 'request', id: 2, type: 'watch', params: { ranges: [{ offset: 0, length: 4096 }], intervalMs: 10, idleIntervalMs: 400 } });
  const changes = (): number => sent.filter((m) => m.m === 'note' && m.type === 'changes').length;

  const fastStart = reads;
  await sleep(1000);
  const fast = reads - fastStart;
  await sleep(1300); // past the 2 s of quiet
  const idleStart = reads;
  await sleep(1200);
  const idle = reads - idleStart;
  assert.ok(fast >= 25, `only ${fast} samples in the first second at a 10 ms pace`);
  assert.ok(idle <= 5, `${idle} samples in 1.2 s of quiet at a 400 ms idle pace`);

  // Another process writes: seen at the next (idle) sample, and the pace is fast again.
  fs.writeFileSync(file, Buffer.from([1, 2, 3]), { flag: 'r+' });
  const before = changes();
  const until = Date.now() + 2000;
  while (changes() === before && Date.now() < until) await sleep(5);
  assert.equal(changes(), before + 1, 'the write was not seen');
  const againStart = reads;
  await sleep(500);
  assert.ok(reads - againStart >= 12, `only ${reads - againStart} samples in 0.5 s after a change`);

  // Without an idle interval (the CLI's watch), the pace never changes.
  await agent.handle({ m: 'request', id: 3, type: 'watch', params: { ranges: [{ offset: 0, length: 4096 }], intervalMs: 10 } });
  await sleep(2300);
  const steadyStart = reads;
  await sleep(500);
  assert.ok(reads - steadyStart >= 12, `a watch without an idle interval slowed down (${reads - steadyStart} samples in 0.5 s)`);
});
