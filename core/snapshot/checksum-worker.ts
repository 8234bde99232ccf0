/**
 * A worker thread that computes a snapshot's checksums (target-sums.ts) while the thread that
 * started it copies the segment: it is told how far the copy got, and hashes the file behind it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TargetSums, type SumsTarget } from './target-sums';
import type { SumsMessage, SumsReply } from './sums-pipeline';

const { target, checksums } = workerData as { target: SumsTarget; checksums: Uint32Array };
const sums = new TargetSums(target, checksums);

parentPort!.on('message', (m: SumsMessage) => {
  try {
    if (m.type === 'upTo') sums.upTo(m.offset);
    else {
      parentPort!.postMessage({ type: 'done', result: sums.finish() } satisfies SumsReply);
      parentPort!.close();
    }
  } catch (err) {
    parentPort!.postMessage({ type: 'failed', message: (err as Error)?.message ?? String(err) } satisfies SumsReply);
    parentPort!.close();
  }
});
