import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers/temp';

// A short run of `npm run soak` (the full run is 100 fault cycles and 120 s of load): every kind of
// fault once or more, one QEMU exit when QEMU is installed, and a few seconds of 64 peers.
test('soak smoke: 12 fault cycles and 5 s of 64 peers, no failure, nothing left over, every notification', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(ROOT, 'scripts', 'soak.mjs'), '--cycles', '12', '--load-seconds', '5', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `soak failed:\n${r.stdout}\n${r.stderr}`);
  const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.ok, true);
  assert.equal(result.cycles, 12);
  assert.deepEqual(result.failures, []);
  // Each kind of fault ran: truncate, delete, replace, SIGKILL, server stop, CLI watch.
  assert.ok(Object.keys(result.byFault).length >= 6, `fault kinds: ${JSON.stringify(result.byFault)}`);
  assert.equal(result.leftover.children, 0);
  assert.equal(result.leftover.mappings, 0);
  assert.ok(result.leftover.fdsAfter <= result.leftover.fdsBefore);
  assert.ok(result.load.joins > 64 && result.load.notifiedJoins === result.load.joins && result.load.notifiedLeaves === result.load.leaves);
  assert.ok(result.load.rings > 0 && result.load.interruptsCounted === result.load.rings, `rings ${result.load.rings}, counted ${result.load.interruptsCounted}`);
  assert.equal(result.load.lostDoorbells, 0);
  assert.deepEqual(result.load.ringFailures, []);
  assert.equal(result.load.memory.heapMiB.length >= 3 && result.load.memory.rssMiB.length >= 3, true, 'memory checkpoints');
  assert.deepEqual(result.problems, []);
});
