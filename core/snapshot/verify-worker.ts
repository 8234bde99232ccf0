/**
 * A worker thread that checks snapshot blocks (see checked-pass.ts) while the thread that started
 * it goes on with a diff or a reconnect. It goes from the end of each file backwards, claiming runs
 * of blocks nobody has claimed, reading them through the process's descriptor with pread, and
 * marking each good or bad in the shared states.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BAD, GOOD } from './block-trust';
import { claimRun, type VerifyMessage, type VerifyTarget } from './checked-pass';
import { BlockChecker } from './integrity';

/** Blocks per pread: 1 MiB with 64 KiB blocks (a buffer that stays in the cache). */
const RUN_BYTES = 1 << 20;

const targets = (workerData as VerifyTarget[]).map((t) => {
  const run = Math.max(1, Math.floor(RUN_BYTES / t.data.blockSize));
  return { ...t, checker: new BlockChecker(t.data), run, next: t.state.length - 1 };
});
let done = 0;
let lastReport = Date.now();
// Round robin over the snapshots, a run of each at a time, so that all are done about together.
for (let busy = true; busy; ) {
  busy = false;
  for (const t of targets) {
    if (t.next < 0) continue;
    busy = true;
    const first = claimRun(t.state, t.next, t.run);
    if (first <= t.next) {
      t.checker.scan(t.fd, t.dataOffset, first, t.next + 1, (index, good) => Atomics.store(t.state, index, good ? GOOD : BAD));
      done += Math.min(t.data.size, (t.next + 1) * t.data.blockSize) - first * t.data.blockSize;
    }
    t.next = first <= t.next ? first - 1 : t.next - 1;
  }
  if (Date.now() - lastReport > 50) {
    lastReport = Date.now();
    parentPort!.postMessage({ type: 'progress', done } satisfies VerifyMessage);
  }
}
parentPort!.postMessage({ type: 'done' } satisfies VerifyMessage);
