import { closeFd } from '../../core/sys/fd';
import { connectUnix, receiveWithFds, unixSocket } from '../../core/sys/socket';
import { ClientProtocol, type ClientEvent } from '../../core/ivshmem/messages';

/**
 * A peer of an ivshmem server that reads only when told to: the tests' slow (or stalled) reader.
 * What it reads goes through the real protocol decoder; it owns every fd it received.
 */
export class RawPeer {
  readonly events: ClientEvent[] = [];
  private readonly protocol = new ClientProtocol();
  private ended = false;

  private constructor(readonly fd: number) {}

  static connect(socketPath: string): RawPeer {
    const fd = unixSocket();
    if (connectUnix(fd, socketPath) !== 'connected') throw new Error(`${socketPath} did not take the connection`);
    return new RawPeer(fd);
  }

  /** Reads everything there is now, without waiting; returns false once the server has closed. */
  readAvailable(): boolean {
    while (!this.ended) {
      const got = receiveWithFds(this.fd, 4096);
      if (!got) return true;
      if (got.data.length === 0) {
        this.ended = true;
        break;
      }
      const step = this.protocol.push(got.data, got.fds);
      if (step.error) throw step.error;
      this.events.push(...step.events);
      step.orphanFds.forEach(closeFd);
    }
    return false;
  }

  get ownId(): number {
    return this.protocol.handshake.ownId;
  }

  /** The fds received for a peer's vectors (our own when peer is our ID), in vector order. */
  vectorsOf(peer: number): number[] {
    return this.events.flatMap((e) => (e.type === 'peer-vector' && e.peer === peer) || (e.type === 'own-vector' && peer === this.ownId) ? [e.fd] : []);
  }

  close(): void {
    for (const e of this.events) if ('fd' in e) closeFd(e.fd);
    this.events.length = 0;
    closeFd(this.fd);
  }
}
