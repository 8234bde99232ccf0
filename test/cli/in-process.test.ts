import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliProcess } from '../helpers/cli';
import { childrenOf, eventually, fdTargets, tempDir, writingIn } from '../helpers/temp';

// Files and snapshots are read with pread (no SIGBUS possible): the CLI reads them itself, with no
// agent process to start (the start-up budget in `npm run bench`). Each command is caught while it
// works on a large file and its process tree looked at.
for (const command of ['snapshot', 'diff'] as const) {
  test(`${command} of files runs in the CLI's own process: no agent, the CLI holds the files`, async (t) => {
    const { dir, cleanup } = tempDir();
    t.after(cleanup);
    const seg = path.join(dir, 'seg');
    const other = path.join(dir, 'other');
    for (const f of [seg, other]) fs.writeFileSync(f, Buffer.alloc(1 << 30, 0x5a));
    const args = command === 'snapshot' ? ['snapshot', seg, '-o', path.join(dir, 'out.shmsnap')] : ['diff', seg, other];
    const proc = new CliProcess(args);
    const pid = proc.child.pid!;
    await eventually(() => (command === 'snapshot' ? writingIn(pid, dir, [seg]) : fdTargets(pid).includes(other)), 20_000, `${command} to be under way`);
    assert.ok(fdTargets(pid).includes(seg), 'the CLI does not hold the source itself');
    assert.deepEqual(childrenOf(pid), [], 'an agent process was started');
    const { code } = await proc.exited;
    assert.equal(code, 0, proc.stderr);
  });
}
