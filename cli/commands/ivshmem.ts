import { InputError } from '../../core/errors';
import type { PeerTable } from '../../core/ivshmem/client';
import { MAX_PEER_ID, MAX_VECTORS } from '../../core/ivshmem/messages';
import { parseInteger } from '../../core/numbers';
import { RemoteSession } from '../../agent/remote-session';
import { UsageError } from '../args';
import { EXIT, writeOut } from '../output';
import type { Command } from '../command';

/** `unix:/path` or a plain path: both name a server socket here. */
function socketSource(text: string): string {
  return text.startsWith('unix:') ? text : `unix:${text}`;
}

/**
 * Joins, then waits until the server has been quiet for a moment: the protocol has no "end of
 * peer list" message, so a settled table is the best a peer can know. A server sends the other
 * peers' doorbells first and ours last, so a quiet table without our own doorbells is not settled
 * (a stall of the agent or the server can make a gap): wait on, up to 2 s (a server with no
 * vectors never sends ours).
 */
async function joinAndSettle(text: string): Promise<{ session: RemoteSession; table: PeerTable }> {
  const session = await RemoteSession.attach(socketSource(text));
  try {
    let last = Date.now();
    session.onPeers(() => (last = Date.now()));
    const deadline = Date.now() + 2000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 25));
      if (Date.now() - last < 150 && Date.now() < deadline) continue;
      const table = await session.peers();
      if (table.interrupts.length > 0 || Date.now() >= deadline) return { session, table };
    }
  } catch (err) {
    await session.close();
    throw err;
  }
}

export const peers: Command = {
  spec: {
    name: 'peers',
    summary: 'join an ivshmem server, print our ID and the peer table, and leave',
    positionals: ['SOCKET'],
    values: [],
    flags: ['json'],
    usage: 'shmem-inspect peers SOCKET [--json]',
  },
  async run(args) {
    const { session, table } = await joinAndSettle(args.positionals[0]!);
    try {
      if (args.flags.has('json')) {
        await writeOut(`${JSON.stringify({ ownId: table.ownId, vectors: table.interrupts.length, size: session.info.size, peers: table.peers })}\n`);
      } else {
        const lines = [`own ID:   ${table.ownId} (${table.interrupts.length} vector${table.interrupts.length === 1 ? '' : 's'})`, `memory:   ${session.info.size} bytes`, `peers:    ${table.peers.length}`];
        for (const p of table.peers) lines.push(`  peer ${p.id}: ${p.vectors} vector${p.vectors === 1 ? '' : 's'}`);
        await writeOut(`${lines.join('\n')}\n`);
      }
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};

export const ring: Command = {
  spec: {
    name: 'ring',
    summary: "join an ivshmem server and ring a peer's vector (write 1 to its eventfd)",
    positionals: ['SOCKET'],
    values: ['peer', 'vector'],
    flags: [],
    usage: 'shmem-inspect ring SOCKET --peer N --vector V',
  },
  async run(args) {
    if (!args.values.has('peer')) throw new UsageError('--peer N is required');
    const peer = parseInteger(args.values.get('peer')!, '--peer', 0, MAX_PEER_ID);
    const vector = parseInteger(args.values.get('vector') ?? '0', '--vector', 0, MAX_VECTORS - 1);
    const { session, table } = await joinAndSettle(args.positionals[0]!);
    try {
      if (peer !== table.ownId && !table.peers.some((p) => p.id === peer)) {
        throw new InputError(`there is no peer ${peer} on the server (peers: ${table.peers.map((p) => p.id).join(', ') || 'none besides us'})`);
      }
      await session.ring(peer, vector);
      process.stderr.write(`rang peer ${peer} vector ${vector} (as peer ${table.ownId})\n`);
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
