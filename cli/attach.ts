import { AgentServer } from '../agent/agent-server';
import { RemoteSession } from '../agent/remote-session';
import { resolveSourceSpec } from '../core/sources/open-source';

/**
 * The session of a CLI command. Files and snapshots, read-only, are read with pread: nothing there
 * can raise SIGBUS (a truncated file gives a short read) or block in a native call, so the agent's
 * side runs in this process (measured: a second Node process and the bytes through IPC were more
 * than half of a small command's time). An ivshmem server (sockets, the server's memory) and a
 * writable session (a hugetlbfs file is written through a mapping) keep their agent process.
 * `others`: further sources the command opens in the same session (diff's B).
 */
export function attach(source: string, options: { writable?: boolean; others?: string[] } = {}): Promise<RemoteSession> {
  const local = !options.writable && [source, ...(options.others ?? [])].every(readWithPread);
  return RemoteSession.attach(source, { writable: options.writable ?? false, keepLastBytes: false, ...(local ? { inProcess: (send) => new AgentServer(send) } : {}) });
}

/** A file or snapshot; a name that names nothing is reported by the session's open, here too. */
function readWithPread(text: string): boolean {
  try {
    return resolveSourceSpec(text).kind !== 'ivshmem';
  } catch {
    return true;
  }
}
