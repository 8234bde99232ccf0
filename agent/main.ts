/**
 * Entry point of the agent process, started by fork() from the CLI or the extension host. It owns
 * the session's descriptors, sockets and native calls, and the one kind of mapping left (writes to
 * hugetlbfs, which refuses pwrite): if such a file is truncated under a write, SIGBUS kills this
 * process and the parent reports a disconnect, instead of the parent itself dying.
 */
import { AgentServer } from './agent-server';
import type { Wire } from '../shared/messenger';

if (!process.send) {
  process.stderr.write('shmem-inspect agent: this program is started by shmem-inspect, not by hand\n');
  process.exit(1);
}

// Fault injection for tests only: skip the size/inode checks so that a truncated file is really
// accessed (a short pread on tmpfs, a store into the mapping and SIGBUS on hugetlbfs).
const skipChecks = process.env.SHMEM_INSPECT_FAULT === 'skip-checks';

// A parent that died (killed, its terminal closed) can make a send fail with EPIPE before the
// 'disconnect' event comes. Without a callback that is an uncaught exception, and the agent died
// without removing the temporary file of a snapshot under way (seen: a full-size hidden .tmp left
// after the CLI got SIGHUP or SIGKILL). A failed send means the parent is gone: stop in order.
const send = (message: Wire): void => {
  if (process.connected) process.send!(message, undefined, {}, (err) => err && stop(0)());
};
// And: write each record of a recording in two halves 200 ms apart, so that a test can kill the
// recorder in the middle of a record and see the torn tail ignored.
const tornWrites = process.env.SHMEM_INSPECT_FAULT === 'torn-record-writes';
const server = new AgentServer(send, { skipChecks, ...(tornWrites ? { pauseMidRecordMs: 200 } : {}) });

process.on('message', (message) => {
  void server.handle(message).then(() => {
    // Told to close, and the answer is on its way: nothing more will come.
    if (server.closed && process.connected) process.disconnect();
  });
});

function stop(code: number): () => void {
  return (): void => {
    server.close();
    process.exit(code);
  };
}
// The parent went away (crashed, killed): nobody will read our replies, so clean up and leave.
process.on('disconnect', stop(0));
process.on('SIGINT', stop(130));
process.on('SIGTERM', stop(143));
process.on('SIGHUP', stop(129));
