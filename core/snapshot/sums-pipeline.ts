import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { workerThreads } from '../builtins';
import { TargetSums, type SumsResult, type SumsTarget } from './target-sums';

export type SumsMessage = { type: 'upTo'; offset: number } | { type: 'finish' };
export type SumsReply = { type: 'done'; result: SumsResult } | { type: 'failed'; message: string };

/** Where the worker's bundle is: next to this module (out/core/snapshot, dist/agent or dist/cli). */
const WORKER_FILE = path.join(__dirname, 'checksum-worker.js');

/** How often the copier tells the worker how far it got: a few chunks at a time. */
const TELL_EVERY = 4 << 20;

/**
 * The checksums of a snapshot being written, beside the copy: a worker thread hashes the file
 * right behind the copier (on the second core: the copy is the kernel's work, the hash ours), or,
 * when no worker can start, this thread hashes each stretch right after copying it.
 */
export class SumsPipeline {
  readonly checksums: Uint32Array;
  private readonly worker: Worker | undefined;
  private readonly inline: TargetSums | undefined;
  private told = 0;
  private readonly reply: Promise<SumsReply> | undefined;

  constructor(target: SumsTarget, blocks: number) {
    this.checksums = new Uint32Array(new SharedArrayBuffer(blocks * 4));
    let worker: Worker | undefined;
    if (fs.existsSync(WORKER_FILE)) {
      try {
        worker = new (workerThreads().Worker)(WORKER_FILE, { workerData: { target, checksums: this.checksums } });
      } catch {
        worker = undefined;
      }
    }
    this.worker = worker;
    if (worker) {
      const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
      // The reply, once the worker is gone too (its threads and descriptors with it).
      this.reply = new Promise<SumsReply>((resolve) => {
        worker.once('message', (m: SumsReply) => resolve(m));
        worker.once('error', (err) => resolve({ type: 'failed', message: err.message }));
        void exited.then((code) => resolve({ type: 'failed', message: `the checksum worker exited with code ${code}` }));
      }).then(async (reply) => {
        await exited;
        return reply;
      });
    } else this.inline = new TargetSums(target, this.checksums);
  }

  /** The copy is final before offset. */
  copiedUpTo(offset: number): void {
    if (this.inline) this.inline.upTo(offset);
    else if (offset - this.told >= TELL_EVERY) {
      this.told = offset;
      this.worker!.postMessage({ type: 'upTo', offset } satisfies SumsMessage);
    }
  }

  /** Every checksum, once the copy is complete. */
  async finish(): Promise<SumsResult> {
    if (this.inline) return this.inline.finish();
    this.worker!.postMessage({ type: 'finish' } satisfies SumsMessage);
    const reply = await this.reply!;
    if (reply.type === 'failed') throw new Error(`the snapshot's checksums could not be computed: ${reply.message}`);
    return reply.result;
  }

  /** Stops the worker (after a failure or a cancel). */
  dispose(): void {
    void this.worker?.terminate();
  }
}
