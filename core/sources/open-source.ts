import * as fs from 'node:fs';
import { InputError, describeSystemError } from '../errors';
import { looksLikeSnapshot } from '../snapshot/reader';
import { looksLikeRecording } from '../record/reader';
import type { Source } from '../source';
import { BackingFileSource } from './backing-file';
import { SnapshotSource } from './snapshot-source';

export type SourceSpec = { kind: 'file'; path: string } | { kind: 'snapshot'; path: string } | { kind: 'ivshmem'; path: string };

/**
 * What a SOURCE argument names: `unix:/path` or a socket is an ivshmem server, a file that starts
 * with the snapshot magic is a snapshot, any other file is a backing file.
 */
export function resolveSourceSpec(text: string): SourceSpec {
  if (text.length === 0) throw new InputError('the source is empty: give a backing file, a .shmsnap snapshot or unix:/path/to/socket');
  if (text.includes('\0')) throw new InputError('the source contains a NUL character');
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    if (path.length === 0) throw new InputError('"unix:" needs a socket path after it, e.g. unix:/tmp/ivshmem_socket');
    return { kind: 'ivshmem', path };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(text);
  } catch (err) {
    throw new InputError(`cannot open ${text}: ${describeSystemError(err)}`);
  }
  if (st.isSocket()) return { kind: 'ivshmem', path: text };
  if (st.isFile() && looksLikeSnapshot(text)) return { kind: 'snapshot', path: text };
  if (st.isFile() && looksLikeRecording(text)) throw new InputError(`${text} is a recording, not a segment: read it with history, replay or info`);
  return { kind: 'file', path: text };
}

export interface OpenOptions {
  writable?: boolean;
  /** Tests only: see BackingFileOptions.skipChecks. */
  skipChecks?: boolean;
}

export async function openSource(spec: SourceSpec, options: OpenOptions = {}): Promise<Source> {
  switch (spec.kind) {
    case 'file':
      return BackingFileSource.open(spec.path, options);
    case 'snapshot':
      if (options.writable) throw new InputError(`${spec.path} is a snapshot: snapshots are read-only`);
      return SnapshotSource.open(spec.path);
    case 'ivshmem':
      // Loaded here, not at start: a command on a file never loads the socket code.
      return (await import('./ivshmem-source.js')).IvshmemSource.connect(spec.path, options);
  }
}
