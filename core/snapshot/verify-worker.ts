/**
 * A worker thread that checks every block of a snapshot (see checkAllBlocks in integrity.ts) while
 * the thread that started it goes on with a diff or a reconnect. It reads the file through the
 * process's descriptor with pread and reports the blocks that fail.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BlockChecker, type VerifyJob, type VerifyMessage } from './integrity';

const job = workerData as VerifyJob;
const checker = new BlockChecker(job.data);
const blocks = job.data.blockChecksums.length;
const buf = Buffer.allocUnsafe(Math.max(4 * 1024 * 1024, job.data.blockSize));
const perSlice = Math.max(1, Math.floor(buf.length / job.data.blockSize));
const bad: number[] = [];
let lastReport = Date.now();
for (let first = 0; first < blocks; first += perSlice) {
  bad.push(...checker.scan(job.fd, job.dataOffset, first, Math.min(blocks, first + perSlice), buf));
  if (Date.now() - lastReport > 50) {
    lastReport = Date.now();
    parentPort!.postMessage({ type: 'progress', done: Math.min(job.data.size, (first + perSlice) * job.data.blockSize) } satisfies VerifyMessage);
  }
}
parentPort!.postMessage({ type: 'done', badBlocks: bad } satisfies VerifyMessage);
