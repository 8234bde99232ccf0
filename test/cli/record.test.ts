import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IvshmemClient } from '../../core/ivshmem/client';
import { RecordingFile } from '../../core/record/reader';
import { CliProcess, runCli } from '../helpers/cli';
import { synthetic, waitForRecorded } from '../helpers/recording';
import { childrenOf, eventually, pwrite, tempDir } from '../helpers/temp';

const SIZE = 65536;

function segment(t: { after: (fn: () => void) => void }): { dir: string; seg: string } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(SIZE));
  return { dir, seg };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

test('record, then history lists exactly each write with its old and new bytes, and replay rebuilds each step', async (t) => {
  const { dir, seg } = segment(t);
  const rec = path.join(dir, 'x.shmrec');
  const proc = new CliProcess(['record', seg, '-o', rec, '--interval', '5']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/as fine as its interval \(5 ms\)/, 'stderr');
  const expected = Buffer.alloc(SIZE);
  const steps: { value: number; offset: number; time: number; state: Buffer }[] = [];
  // Each write waits until the recorder has it: no two writes share a sample, whatever the load.
  for (let i = 1; i <= 12; i++) {
    const offset = i % 3 === 0 ? 0x8000 : 0x100;
    const value = (i * 0x01010101 + 7) >>> 0;
    pwrite(seg, offset, u32(value));
    u32(value).copy(expected, offset);
    steps.push({ value, offset, time: await waitForRecorded(rec, 0, expected), state: Buffer.from(expected) });
  }
  proc.child.kill('SIGINT');
  const { code } = await proc.exited;
  assert.equal(code, 0, proc.stderr);
  assert.match(proc.stderr, /recorded .*x\.shmrec: [\d.]+ s, \d+ samples every 5 ms \(12 with changes, \d+ bytes changed\)/);
  assert.match(proc.stderr, /stopped \(Ctrl-C, SIGTERM or SIGHUP\)/);

  const r = await runCli(['history', rec, '--offset', '0x100', '--length', '4', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const history = JSON.parse(r.stdout) as { t: number; old: string; new: string; offset: number }[];
  const at100 = steps.filter((s) => s.offset === 0x100);
  assert.deepEqual(history.map((h) => [h.t, h.old, h.new]), at100.map((s, k) => [s.time, k === 0 ? '00000000' : u32(at100[k - 1]!.value).toString('hex'), u32(s.value).toString('hex')]));
  const text = await runCli(['history', rec, '--offset', '0x8000', '--length', '4']);
  assert.deepEqual(text.stdout.trim().split('\n'), steps.filter((s) => s.offset === 0x8000).map((s, k, all) => `t=${s.time.toFixed(3)} 0x8000 +4: ${k === 0 ? '00000000' : u32(all[k - 1]!.value).toString('hex')} -> ${u32(s.value).toString('hex')}`));
  assert.match(text.stderr, /sampled every 5 ms/);

  for (const [k, s] of steps.entries()) {
    const snap = path.join(dir, `at-${k}.shmsnap`);
    const out = await runCli(['replay', rec, '--at', String(s.time), '-o', snap]);
    assert.equal(out.code, 0, out.stderr);
    const info = JSON.parse((await runCli(['info', snap, '--json'])).stdout);
    assert.equal(info.badBlocks, 0);
    assert.ok(fs.readFileSync(snap).subarray(info.dataOffset).equals(s.state), `replay at step ${k}`);
  }
  // Between two steps: the earlier one. Before the first: the first state.
  const between = path.join(dir, 'between.shmsnap');
  assert.equal((await runCli(['replay', rec, '--at', String((steps[3]!.time + steps[4]!.time) / 2), '-o', between])).code, 0);
  assert.ok(fs.readFileSync(between).subarray(4096).equals(steps[3]!.state));

  const info = JSON.parse((await runCli(['info', rec, '--json'])).stdout);
  assert.equal(info.kind, 'recording');
  assert.equal(info.intervalMs, 5);
  assert.equal(info.changeSamples, 12);
  assert.equal(info.fileBytes, fs.statSync(rec).size);
  assert.deepEqual(info.ended, { reason: 'stopped', message: '' });
  assert.equal(info.ignoredTail, null);
});

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`record stops on ${signal}, ends the file in order, exit 0`, async (t) => {
    const { dir, seg } = segment(t);
    const rec = path.join(dir, 'x.shmrec');
    const proc = new CliProcess(['record', seg, '-o', rec]);
    t.after(() => proc.child.kill('SIGKILL'));
    await proc.waitFor(/Ctrl-C stops/, 'stderr');
    pwrite(seg, 10, [1, 2, 3]);
    await waitForRecorded(rec, 10, Buffer.from([1, 2, 3]));
    proc.child.kill(signal);
    assert.equal((await proc.exited).code, 0, proc.stderr);
    const file = RecordingFile.open(rec);
    t.after(() => file.close());
    assert.equal(file.summary().end?.reason, 'stopped');
    assert.equal(file.summary().changeSamples, 1);
  });
}

test('record --duration stops by itself; --max-size stops with a note and keeps the file under it', async (t) => {
  const { dir, seg } = segment(t);
  const timed = path.join(dir, 'timed.shmrec');
  const r = await runCli(['record', seg, '-o', timed, '--duration', '0.3', '--interval', '10']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /stopped after --duration \(0\.3 s\)/);
  const info = JSON.parse((await runCli(['info', timed, '--json'])).stdout);
  assert.ok(info.durationMs >= 300 && info.durationMs < 1000, `duration ${info.durationMs}`);
  assert.ok(info.samples >= 2, `${info.samples} samples`);

  const capped = path.join(dir, 'capped.shmrec');
  const proc = new CliProcess(['record', seg, '-o', capped, '--max-size', '24K', '--interval', '5']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/Ctrl-C stops/, 'stderr');
  // Changes of 1 KiB per write until the file is full.
  for (let i = 0; proc.child.exitCode === null && i < 2000; i++) {
    pwrite(seg, (i % 60) * 1024, Buffer.alloc(1024, i & 0xff));
    await new Promise((res) => setTimeout(res, 3));
  }
  assert.equal((await proc.exited).code, 0, proc.stderr);
  assert.match(proc.stderr, /stopped at --max-size \(24 KiB\)/);
  assert.match(proc.stderr, /note: the file reached --max-size/);
  assert.ok(fs.statSync(capped).size <= 24 * 1024, `${fs.statSync(capped).size} bytes`);
  const file = RecordingFile.open(capped);
  t.after(() => file.close());
  assert.equal(file.summary().end?.reason, 'max-size');
  assert.equal(file.summary().tail, undefined);
});

test('the source goes away under a recording: exit 3, the file kept whole with the reason', async (t) => {
  const { dir, seg } = segment(t);
  const rec = path.join(dir, 'x.shmrec');
  const proc = new CliProcess(['record', seg, '-o', rec]);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/Ctrl-C stops/, 'stderr');
  pwrite(seg, 0, [9]);
  await waitForRecorded(rec, 0, Buffer.from([9]));
  fs.unlinkSync(seg);
  const { code } = await proc.exited;
  assert.equal(code, 3, proc.stderr);
  assert.match(proc.stderr, /disconnected: the backing file .* was deleted; the recording is kept/);
  const file = RecordingFile.open(rec);
  t.after(() => file.close());
  const s = file.summary();
  assert.equal(s.end?.reason, 'source-lost');
  assert.match(s.end!.message, /was deleted/);
  assert.equal(s.tail, undefined);
  assert.equal(file.stateAt(Infinity, { offset: 0, length: 1 }).bytes[0], 9);
});

test('a recorder killed with SIGKILL, also in the middle of a record: what it had written reads back the same, a torn record is ignored', async (t) => {
  const { dir } = tempDir();
  const big = path.join(dir, 'big');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Twice at a moment the writer's pace decides, then once surely inside a record: the agent's test
  // switch writes each record in two halves 200 ms apart, and the kill comes between them.
  for (const mode of ['any time', 'any time', 'mid-record'] as const) {
    fs.writeFileSync(big, Buffer.alloc(16 << 20));
    const rec = path.join(dir, `killed-${Math.random().toString(36).slice(2)}.shmrec`);
    const env = mode === 'mid-record' ? { ...process.env, SHMEM_INSPECT_FAULT: 'torn-record-writes' } : undefined;
    const proc = new CliProcess(['record', big, '-o', rec, '--interval', '5'], env ? { env } : {});
    t.after(() => proc.child.kill('SIGKILL'));
    await proc.waitFor(/Ctrl-C stops/, 'stderr', 20_000);
    const agent = childrenOf(proc.child.pid!)[0];
    assert.ok(agent, 'no agent process');
    const reader = RecordingFile.open(rec);
    t.after(() => reader.close());
    // Counters in 16 slots, one per MiB, never going back; and 128 KiB of new bytes per step, so
    // that records are large.
    const seen = new Map<number, Buffer>();
    const steps = mode === 'mid-record' ? 3 : 40;
    for (let n = 1; n <= steps; n++) {
      for (let slot = 0; slot < 16; slot++) pwrite(big, slot << 20, u32(n));
      pwrite(big, 4096 + (n % 7) * (1 << 17), Buffer.alloc(1 << 17, n)); // inside the first MiB, between slots 0 and 1
      if (mode === 'mid-record') await waitForRecorded(rec, 0, u32(n));
      else await new Promise((r) => setTimeout(r, 8));
      reader.refresh();
      const last = reader.index.changes.at(-1);
      if (last !== undefined && (mode === 'mid-record' || n % 5 === 0)) seen.set(reader.index.times[last]! / 1000, Buffer.from(reader.stateAt(Infinity).bytes));
    }
    if (mode === 'mid-record') {
      // One more change, and the kill once its record is half written.
      pwrite(big, 0, u32(99));
      await eventually(() => (reader.refresh(), reader.summary().tail?.reason === 'a record cut short'), 10_000, 'a half-written record');
    }
    process.kill(agent, 'SIGKILL');
    const { code } = await proc.exited;
    assert.equal(code, 3, proc.stderr);
    assert.match(proc.stderr, /the agent was killed by SIGKILL/);
    const after = RecordingFile.open(rec);
    const s = after.summary();
    assert.equal(s.end, undefined, 'a killed recorder writes no end record');
    if (mode === 'mid-record') {
      assert.equal(s.tail?.reason, 'a record cut short');
      assert.equal(s.tail!.offset, s.readableBytes);
      assert.ok(s.tail!.bytes > 0 && s.readableBytes + s.tail!.bytes === fs.statSync(rec).size);
      assert.equal(after.stateAt(Infinity, { offset: 0, length: 4 }).bytes[0], steps, 'the torn record was not ignored');
    }
    assert.ok(s.readableBytes >= reader.summary().readableBytes, 'a whole record was lost');
    // What was readable while it recorded reads back identically.
    for (const [timeMs, state] of seen) assert.ok(Buffer.from(after.stateAt(timeMs).bytes).equals(state), `${mode}: the state at ${timeMs} ms changed`);
    // Every readable state is one the writer made: each counter within what was written, never going back.
    const previous = new Array<number>(16).fill(0);
    for (const step of [0, ...after.index.changes.map((i) => after.index.times[i]! / 1000)]) {
      const bytes = Buffer.from(after.stateAt(step).bytes);
      for (let slot = 0; slot < 16; slot++) {
        const v = bytes.readUInt32LE(slot << 20);
        assert.ok(v >= previous[slot]! && v <= steps, `${mode}, slot ${slot}: ${previous[slot]} then ${v}`);
        previous[slot] = v;
      }
    }
    after.close();
  }
});

test('history --events lists ivshmem events in time order with the changes; --json as one array', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const truth = synthetic({ dir, size: 4096, samples: 30, seed: 2, maxWrites: 1, maxRun: 2, eventEvery: 7 });
  truth.recorder.stop('stopped');
  const r = await runCli(['history', truth.file, '--events', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const items = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.deepEqual(
    items.map(({ sample: _, ...rest }) => rest),
    truth.events.map((e) => {
      const { type, ...fields } = e.event;
      return { t: e.timeMs, event: type, ...fields };
    }),
  );
  assert.ok(items.every((x) => Number.isInteger(x.sample)));
  const text = await runCli(['history', truth.file, '--events', '--offset', '0', '--length', '4096']);
  const lines = text.stdout.trim().split('\n');
  const times = lines.map((l) => Number(/^t=([\d.]+) /.exec(l)![1]));
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  assert.equal(lines.filter((l) => /peer \d+ joined \(2 vectors\)|peer \d+ left|interrupt on vector \d/.test(l)).length, truth.events.length);
  assert.equal(lines.length - truth.events.length, truth.states.filter((s, k) => k > 0 && !s.equals(truth.states[k - 1]!)).length);
});

test('record --layout embeds it; history --field decodes the field; a part of the segment replays as its own snapshot', async (t) => {
  const { dir, seg } = segment(t);
  const layout = path.join(dir, 'l.shmlayout.json');
  fs.writeFileSync(layout, JSON.stringify({ regions: [{ name: 'ctrl', offset: '0x100', fields: [{ name: 'state', type: 'u32', enum: { IDLE: 0, RUNNING: 1, DONE: 2 } }, { name: 'count', type: 'u64' }] }] }));
  const rec = path.join(dir, 'x.shmrec');
  const proc = new CliProcess(['record', seg, '-o', rec, '--layout', layout, '--offset', '0x100', '--length', '0x100', '--interval', '5']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/0x100\.\.0x200 \(256 bytes\)/, 'stderr');
  for (const v of [1, 2]) {
    pwrite(seg, 0x100, u32(v));
    await waitForRecorded(rec, 0x100, u32(v));
  }
  proc.child.kill('SIGINT');
  assert.equal((await proc.exited).code, 0);
  const r = await runCli(['history', rec, '--field', 'ctrl.state']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.replace(/^t=[\d.]+ /, '')), ['ctrl.state: IDLE (0) -> RUNNING (1)', 'ctrl.state: RUNNING (1) -> DONE (2)']);
  const none = await runCli(['history', rec, '--field', 'ctrl.count', '--json']);
  assert.equal(none.stdout, '[]\n');
  const snap = path.join(dir, 'part.shmsnap');
  const out = await runCli(['replay', rec, '--at', '99999999', '-o', snap]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stderr, /holds 0x100\.\.0x200 of the segment/);
  assert.match(out.stderr, /after the recording's last record/);
  const info = JSON.parse((await runCli(['info', snap, '--json'])).stdout);
  assert.equal(info.size, 256);
  assert.equal(fs.readFileSync(snap).readUInt32LE(info.dataOffset), 2);
});

test('record, history and replay refuse bad arguments and bad files with one line and the right exit code', async (t) => {
  const { dir, seg } = segment(t);
  const notRec = path.join(dir, 'not.shmrec');
  fs.writeFileSync(notRec, 'hello, this is not a recording at all, not even close to one........................');
  const rec = path.join(dir, 'x.shmrec');
  assert.equal((await runCli(['record', seg, '-o', rec, '--duration', '0.05'])).code, 0);
  const cases: [string[], number, RegExp][] = [
    [['record', seg], 1, /-o FILE\.shmrec is required/],
    [['record', seg, '-o', rec], 2, /already exists \(use --force/],
    [['record', seg, '-o', path.join(dir, 'y'), '--interval', '1'], 2, /--interval must be between 5/],
    [['record', seg, '-o', path.join(dir, 'y'), '--duration', '-1'], 2, /--duration must be a number/],
    [['record', seg, '-o', path.join(dir, 'y'), '--max-size', '1K'], 2, /cannot hold even the first state/],
    [['record', rec, '-o', path.join(dir, 'y')], 2, /is a recording, not a segment/],
    [['history', rec], 1, /give --offset N --length N or --field NAME/],
    [['history', rec, '--offset', '0', '--length', '4', '--field', 'x'], 1, /not both/],
    [['history', rec, '--offset', '0'], 1, /go together/],
    [['history', rec, '--offset', '0xfffe', '--length', '4'], 2, /outside what .* recorded/],
    [['history', rec, '--field', 'x'], 2, /carries no layout/],
    [['history', notRec, '--offset', '0', '--length', '1'], 2, /not a Shared Memory Inspector recording/],
    [['replay', rec, '-o', path.join(dir, 's')], 1, /--at MS is required/],
    [['replay', rec, '--at', 'soon', '-o', path.join(dir, 's')], 2, /--at must be a number/],
    [['replay', rec, '--at', '0', '-o', rec], 2, /already exists/],
    [['info', notRec], 0, /kind:/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    if (code !== 0) {
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stderr.includes('    at '), false, `a stack trace: ${r.stderr}`);
    }
  }
  assert.ok(!fs.existsSync(path.join(dir, 'y')), 'a refused recording left a file');
});

test('record an ivshmem server joined as a peer: its bytes, our peer ID and what our peer saw (a peer joining, its ring, its leaving) are recorded; the server gone is exit 3', async (t) => {
  const { dir, cleanup } = tempDir();
  const name = `shmem-inspect-record-${process.pid}`;
  t.after(() => {
    cleanup();
    fs.rmSync(`/dev/shm/${name}`, { force: true });
  });
  const socketPath = path.join(dir, 'ivshmem.sock');
  const server = new CliProcess(['serve', '--socket', socketPath, '--size', '64K', '--vectors', '1', '--shm', name]);
  t.after(() => server.child.kill('SIGKILL'));
  await server.waitFor(/serving/, 'stderr');
  const rec = path.join(dir, 'peer.shmrec');
  const proc = new CliProcess(['record', `unix:${socketPath}`, '-o', rec, '--interval', '5']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/Ctrl-C stops/, 'stderr');
  for (const v of [1, 2, 3]) {
    pwrite(`/dev/shm/${name}`, 0x20, u32(v));
    await waitForRecorded(rec, 0x20, u32(v));
  }
  // Another peer (ID 1) joins, rings our vector 0 and leaves: three events on our timeline. Each
  // step waits for the one before to be recorded: two that reach us in the same poll could be
  // recorded in either order, and a timeline can only be as fine as what our peer can tell apart.
  const events = async (n: number): Promise<Record<string, unknown>[]> => {
    let got: Record<string, unknown>[] = [];
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      got = JSON.parse((await runCli(['history', rec, '--events', '--json'])).stdout).filter((x: { event?: string }) => x.event);
      if (got.length >= n) break;
    }
    return got.map(({ t: _t, sample: _s, ...rest }) => rest);
  };
  const other = await IvshmemClient.connect(socketPath);
  t.after(() => other.close());
  assert.deepEqual(await events(1), [{ event: 'peer-joined', peer: 1, vectors: 1 }]);
  other.ring(0, 0);
  assert.deepEqual((await events(2))[1], { event: 'interrupt', vector: 0, count: 1 });
  other.close();
  assert.deepEqual(await events(3), [
    { event: 'peer-joined', peer: 1, vectors: 1 },
    { event: 'interrupt', vector: 0, count: 1 },
    { event: 'peer-left', peer: 1 },
  ]);
  server.child.kill('SIGTERM');
  const { code } = await proc.exited;
  assert.equal(code, 3, proc.stderr);
  const info = JSON.parse((await runCli(['info', rec, '--json'])).stdout);
  assert.equal(info.source, `unix:${socketPath}`);
  assert.equal(info.peerId, 0);
  assert.equal(info.ended.reason, 'source-lost');
  const history = JSON.parse((await runCli(['history', rec, '--offset', '0x20', '--length', '4', '--json'])).stdout);
  assert.deepEqual(history.map((h: { new: string }) => h.new), ['01000000', '02000000', '03000000']);
});

test('the CLI killed with SIGKILL: its agent sees its parent gone and ends the recording in order', async (t) => {
  const { dir, seg } = segment(t);
  const rec = path.join(dir, 'x.shmrec');
  const proc = new CliProcess(['record', seg, '-o', rec]);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/Ctrl-C stops/, 'stderr');
  const agent = childrenOf(proc.child.pid!)[0]!;
  pwrite(seg, 1, [5]);
  await waitForRecorded(rec, 1, Buffer.from([5]));
  proc.child.kill('SIGKILL');
  // Gone, or a zombie nobody reaped yet (its parent died): either way it has exited.
  const exited = (): boolean => {
    try {
      return fs.readFileSync(`/proc/${agent}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
    } catch {
      return true;
    }
  };
  await eventually(exited, 10_000, 'the agent to exit');
  const file = RecordingFile.open(rec);
  t.after(() => file.close());
  assert.deepEqual(file.summary().end, { reason: 'detached', message: 'its parent went away' });
  assert.equal(file.summary().tail, undefined);
});
