import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess } from '../helpers/cli';
import { pwrite, tempDir } from '../helpers/temp';

test('watch prints each change with offset, old and new bytes; --json one object per line', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(65536));
  const text = new CliProcess(['watch', seg, '--interval', '10']);
  const json = new CliProcess(['watch', seg, '--interval', '10', '--json', '--offset', '0x1000', '--length', '0x100']);
  t.after(() => {
    text.child.kill();
    json.child.kill();
  });
  await text.waitFor(/watching .* every 10 ms/, 'stderr');
  await json.waitFor(/watching .*0x1000\.\.0x1100/, 'stderr');
  pwrite(seg, 0x1010, [0xde, 0xad, 0xbe, 0xef]);
  const line = await text.waitFor(/0x1010/);
  assert.match(line, /^\d{4}-\d\d-\d\dT[0-9:.]+Z 0x1010 \+4: 00000000 -> deadbeef$/);
  const event = JSON.parse(await json.waitFor(/"offset":4112/));
  assert.deepEqual({ ...event, time: undefined }, { event: 'change', time: undefined, offset: 4112, length: 4, old: '00000000', new: 'deadbeef' });
  // A write outside the JSON watcher's window is not reported there.
  pwrite(seg, 0x9000, [1]);
  await text.waitFor(/0x9000 \+1: 00 -> 01/);
  pwrite(seg, 0x1010, [0]);
  await json.waitFor(/"old":"de","new":"00"/);
  assert.equal(json.lines.some((l) => l.includes('36864')), false);
  text.child.kill('SIGINT');
  assert.equal((await text.exited).code, 130, 'Ctrl-C ends a watch as it ends every command: 130');
});

for (const [name, act, reason] of [
  // The size is checked before each sample, and a truncation between that check and the read makes
  // the pread come up short: the same reason either way.
  ['truncated', (f: string) => fs.truncateSync(f, 4096), /disconnected: the backing file was truncated from 65536 to 4096 bytes$/],
  ['deleted', (f: string) => fs.unlinkSync(f), /disconnected: the backing file .* was deleted/],
  ['replaced', (f: string) => {
    fs.writeFileSync(`${f}.new`, Buffer.alloc(65536));
    fs.renameSync(`${f}.new`, f);
  }, /disconnected: .* was replaced by another file/],
] as const) {
  test(`a backing file ${name} under a running watch: a clear "disconnected" line and exit 3`, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const seg = path.join(dir, 'seg');
    fs.writeFileSync(seg, Buffer.alloc(65536));
    const proc = new CliProcess(['watch', seg, '--interval', '10']);
    t.after(() => proc.child.kill('SIGKILL'));
    await proc.waitFor(/watching/, 'stderr');
    pwrite(seg, 5, [7]);
    await proc.waitFor(/0x5 \+1: 00 -> 07/);
    act(seg);
    const { code, signal } = await proc.exited;
    assert.equal(signal, null);
    assert.equal(code, 3, proc.stderr);
    assert.match(proc.lines.at(-1)!, reason);
    assert.doesNotMatch(proc.stderr, /^\s+at /m);
  });
}

test('watch --json reports the disconnect as a JSON line too', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, Buffer.alloc(8192));
  const proc = new CliProcess(['watch', seg, '--interval', '10', '--json']);
  t.after(() => proc.child.kill('SIGKILL'));
  await proc.waitFor(/watching/, 'stderr');
  fs.truncateSync(seg, 0);
  assert.equal((await proc.exited).code, 3);
  const last = JSON.parse(proc.lines.at(-1)!);
  assert.equal(last.event, 'disconnected');
  assert.equal(last.reason, 'the backing file was truncated from 8192 to 0 bytes');
});
