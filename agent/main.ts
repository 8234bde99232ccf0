/**
 * Entry point of the agent process, started by fork() from the CLI or the extension host. It owns
 * the session's descriptors, sockets and native calls, and the one kind of mapping left (writes to
 * hugetlbfs, which refuses pwrite): if such a file is truncated under a write, SIGBUS kills this
 * process and the parent reports a disconnect, instead of the parent itself dying.
 */
import { AgentServer } from './agent-server';
import type { FromAgent } from './protocol';

if (!process.send) {
  process.stderr.write('shmem-inspect agent: this program is started by shmem-inspect, not by hand\n');
  process.exit(1);
}

const send = (message: FromAgent): void => {
  if (process.connected) process.send!(message);
};

// Fault injection for tests only: skip the size/inode checks so that a truncated file is really
// accessed (a short pread on tmpfs, a store into the mapping and SIGBUS on hugetlbfs).
const skipChecks = process.env.SHMEM_INSPECT_FAULT === 'skip-checks';
const server = new AgentServer(send, { skipChecks });

process.on('message', (message) => {
  void server.handle(message).then(() => {
    if (typeof message === 'object' && message !== null && (message as { request?: { type?: string } }).request?.type === 'close') {
      process.disconnect();
    }
  });
});

const stop = (code: number) => (): void => {
  server.close();
  process.exit(code);
};
// The parent went away (crashed, killed): nobody will read our replies, so clean up and leave.
process.on('disconnect', stop(0));
process.on('SIGINT', stop(130));
process.on('SIGTERM', stop(143));
process.on('SIGHUP', stop(129));
