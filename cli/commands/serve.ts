import type { ServerMemory } from '../../core/ivshmem/server';
import { MAX_VECTORS } from '../../core/ivshmem/messages';
import { formatBytes, parseInteger, parseSize } from '../../core/numbers';
import { UsageError } from '../args';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';

/**
 * The server runs in the CLI process itself: it never maps the memory (it only hands out the fd),
 * so there is nothing for an agent to protect it from.
 */
export const serve: Command = {
  spec: {
    name: 'serve',
    summary: 'run an ivshmem server that QEMU (ivshmem-doorbell) and shmem-inspect can join',
    positionals: [],
    values: ['socket', 'size', 'vectors', 'shm'],
    flags: ['memfd'],
    usage: 'shmem-inspect serve --socket PATH --size N [--vectors N] [--shm NAME | --memfd]',
  },
  async run(args, { signal }) {
    const socketPath = args.values.get('socket');
    if (!socketPath) throw new UsageError('--socket PATH is required');
    const sizeText = args.values.get('size');
    if (!sizeText) throw new UsageError('--size N is required (e.g. 4M)');
    if (args.values.has('shm') && args.flags.has('memfd')) throw new UsageError('--shm and --memfd exclude each other');
    const size = parseSize(sizeText, '--size');
    const vectors = parseInteger(args.values.get('vectors') ?? '1', '--vectors', 0, MAX_VECTORS);
    const memory: ServerMemory = args.values.has('shm') ? { kind: 'shm', name: args.values.get('shm')! } : { kind: 'memfd' };
    // Loaded here, not at start: the other commands never load the socket code.
    const { IvshmemServer } = await import('../../core/ivshmem/server.js');
    const server = await IvshmemServer.start({ socketPath, size, vectors, memory });
    try {
      server.onEvent((e) => {
        const line =
          e.type === 'joined' ? `peer ${e.id} joined (${e.vectors} vector${e.vectors === 1 ? '' : 's'})` : e.type === 'left' ? `peer ${e.id} left${e.reason ? ` (${e.reason})` : ''}` : e.reason;
        // A failed stdout stops the server through main()'s signal, which decides the exit code.
        void writeOut(`${new Date().toISOString()} ${line}\n`).catch(() => undefined);
      });
      process.stderr.write(`serving ${socketPath}: ${formatBytes(size)} of ${server.memoryDescription}, ${vectors} vector${vectors === 1 ? '' : 's'} per peer; Ctrl-C stops\n`);
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      // Stopped by a signal, as every command is: 130 (the socket is removed all the same).
      return EXIT.interrupted;
    } finally {
      server.stop();
    }
  },
};
