import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, CliProcess, runCli } from '../helpers/cli';
import { ROOT, eventually, pwrite, seededBytes, tempDir, writingIn } from '../helpers/temp';
import { EXIT_RULE } from '../../cli/output';

const RING = path.join(ROOT, 'examples', 'ring.shmlayout.json');

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the CLI with stdout on /dev/full (every write fails with ENOSPC) or on a pipe whose reader
 * is gone before the first write (EPIPE). `during` runs once the command is under way.
 */
function runWithBrokenStdout(args: string[], how: 'full' | 'closed', during?: (stderr: () => string) => Promise<void>): Promise<Ended> {
  const full = how === 'full' ? fs.openSync('/dev/full', 'w') : undefined;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', full ?? 'pipe', 'pipe'] });
  if (full !== undefined) fs.closeSync(full);
  // The reader goes away before the child has even started Node.
  child.stdout?.destroy();
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ended = new Promise<Ended>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return (async () => {
    if (during) await during(() => stderr);
    const r = await ended;
    clearTimeout(timer);
    return r;
  })();
}

test('stdout that cannot be written: a full disk is one line and exit 2, a closed pipe ends quietly with 0, for every command', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(8192, 4));
  const snap = path.join(dir, 'a.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', snap])).code, 0);
  const big = path.join(dir, 'big');
  fs.writeFileSync(big, seededBytes(8 << 20, 5));
  const commands: string[][] = [
    ['dump', seg],
    ['dump', big],
    ['dump', seg, '--layout', RING],
    ['info', snap],
    ['info', seg, '--json'],
    ['diff', seg, snap],
    ['diff', seg, snap, '--json', '--exit-code'],
    ['reconnect', seg, '--base', snap, '--local', snap, '--role', 'peer'],
    ['--help'],
    ['--version'],
    ['dump', '--help'],
  ];
  for (const args of commands) {
    const what = `shmem-inspect ${args.join(' ')}`;
    const full = await runWithBrokenStdout(args, 'full');
    assert.equal(full.code, 2, `${what} > /dev/full: ${full.stderr}`);
    assert.equal(full.stderr, 'shmem-inspect: cannot write to standard output: no space left on the device\n', what);
    const closed = await runWithBrokenStdout(args, 'closed');
    assert.deepEqual([closed.code, closed.signal, closed.stderr], [0, null, ''], `${what} | (closed): ${closed.stderr}`);
  }
  // A watch fails at its first change, a server at its first peer.
  for (const how of ['full', 'closed'] as const) {
    const watched = await runWithBrokenStdout(['watch', seg, '--interval', '10'], how, async (stderr) => {
      await eventually(() => /watching/.test(stderr()), 10_000, 'the watch to start');
      // A new value each time: the same byte written twice is no change.
      pwrite(seg, 100, [how === 'full' ? 0xab : 0xcd]);
    });
    assert.deepEqual([watched.code, watched.stderr.replace(/^watching .*\n/, '')], how === 'full' ? [2, 'shmem-inspect: cannot write to standard output: no space left on the device\n'] : [0, ''], `watch, stdout ${how}`);
    const socket = path.join(dir, `sock-${how}`);
    const served = await runWithBrokenStdout(['serve', '--socket', socket, '--size', '64K'], how, async (stderr) => {
      await eventually(() => /serving/.test(stderr()), 10_000, 'the server to start');
      await runCli(['peers', socket]);
    });
    assert.deepEqual([served.code, served.stderr.replace(/^serving .*\n/, '')], how === 'full' ? [2, 'shmem-inspect: cannot write to standard output: no space left on the device\n'] : [0, ''], `serve, stdout ${how}`);
    assert.equal(fs.existsSync(socket), false, 'the server left its socket behind');
  }
});

test('SIGHUP (a closed terminal, a dropped ssh) during a snapshot: exit 130, no snapshot, no temporary file', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(1 << 30, 0x22));
  const proc = new CliProcess(['snapshot', seg, '-o', path.join(dir, 'big.shmsnap')]);
  await eventually(() => writingIn(proc.child.pid!, dir, [seg]), 20_000, 'the snapshot to be under way');
  proc.child.kill('SIGHUP');
  const { code, signal } = await proc.exited;
  assert.deepEqual([code, signal], [130, null], proc.stderr);
  assert.match(proc.stderr, /snapshot cancelled; no file was written/);
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
});

test('a CLI killed mid-snapshot (SIGKILL: no cleanup of its own) leaves no temporary file: it had no name', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(1 << 30, 0x33));
  const proc = new CliProcess(['snapshot', seg, '-o', path.join(dir, 'big.shmsnap')]);
  await eventually(() => writingIn(proc.child.pid!, dir, [seg]), 20_000, 'the snapshot to be under way');
  // The file being written is open, without a name (O_TMPFILE): nothing in the folder but the source.
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
  proc.child.kill('SIGKILL');
  await proc.exited;
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
});

test('the exit-code rule is in --help and in the README, word for word', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  assert.ok(help.stdout.includes(EXIT_RULE), help.stdout);
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  assert.ok(readme.includes(EXIT_RULE.replace(/\s+/g, ' ')), 'the README does not state the rule --help states');
  const diffHelp = await runCli(['diff', '--help']);
  assert.match(diffHelp.stdout, /--exit-code: 0 when A and B are identical, 1 when they differ/);
});

test('diff --exit-code: 0 identical, 1 different (bytes or length), like cmp; without it 0 either way', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const c = path.join(dir, 'c');
  fs.writeFileSync(a, seededBytes(8192, 7));
  fs.writeFileSync(b, seededBytes(8192, 7));
  fs.writeFileSync(c, Buffer.concat([seededBytes(8192, 7), Buffer.alloc(1)]));
  const snap = path.join(dir, 'a.shmsnap');
  assert.equal((await runCli(['snapshot', a, '-o', snap])).code, 0);
  assert.equal((await runCli(['diff', a, b, '--exit-code'])).code, 0);
  assert.equal((await runCli(['diff', snap, b, '--exit-code', '--json'])).code, 0);
  assert.equal((await runCli(['diff', a, c, '--exit-code'])).code, 1, 'a longer side is a difference');
  pwrite(b, 4000, [0]);
  const differ = await runCli(['diff', snap, b, '--exit-code']);
  assert.equal(differ.code, 1);
  assert.match(differ.stdout, /byte\(s\) differ in 1 range/);
  assert.equal(differ.stderr, '');
  assert.equal((await runCli(['diff', snap, b])).code, 0);
  assert.equal((await runCli(['diff', snap, path.join(dir, 'none'), '--exit-code'])).code, 2);
});

test('diff --layout checks the layout against both sides: a layout past the end of B is refused, naming B', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  fs.writeFileSync(a, Buffer.alloc(8192));
  fs.writeFileSync(b, Buffer.alloc(0x180));
  for (const [x, y, side, file] of [[a, b, 'B', b], [b, a, 'A', b]] as const) {
    const r = await runCli(['diff', x, y, '--layout', RING]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    const expected = side === 'B' ? `${RING} does not fit B (${file}): region "slots" (0x100..0x1100) runs past the end of the segment (size 0x180)` : `${RING}: region "slots" (0x100..0x1100) runs past the end of the segment (size 0x180)`;
    assert.equal(r.stderr, `shmem-inspect: ${expected}\n`);
  }
});

test('reconnect warns when the base snapshot was taken from another source (its header names it)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  const other = path.join(dir, 'other');
  fs.writeFileSync(seg, Buffer.alloc(8192));
  fs.writeFileSync(other, Buffer.alloc(8192));
  const ours = path.join(dir, 'ours.shmsnap');
  const theirs = path.join(dir, 'theirs.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', ours])).code, 0);
  assert.equal((await runCli(['snapshot', other, '-o', theirs])).code, 0);
  const warned = await runCli(['reconnect', seg, '--base', theirs, '--local', ours, '--role', 'peer']);
  assert.equal(warned.code, 0, warned.stderr);
  assert.equal(warned.stderr, `shmem-inspect: warning: --base ${theirs} was taken from ${other}, not from ${seg}: the three-way compares against another segment's past\n`);
  // The same file under another spelling is the same source: no warning.
  const spelled = await runCli(['reconnect', path.join(dir, '..', path.basename(dir), 'seg'), '--base', ours, '--local', theirs, '--role', 'peer', '--json']);
  assert.equal(spelled.code, 0, spelled.stderr);
  assert.equal(spelled.stderr, '');
  assert.equal(JSON.parse(spelled.stdout).warnings, undefined);
  const json = JSON.parse((await runCli(['reconnect', seg, '--base', theirs, '--local', ours, '--role', 'peer', '--json'])).stdout);
  assert.deepEqual(json.warnings, [`--base ${theirs} was taken from ${other}, not from ${seg}: the three-way compares against another segment's past`]);
});
