import { InputError } from '../errors';
import { IvshmemClient, type PeerTable } from '../ivshmem/client';
import { identityOf, type SourceInfo } from '../source';
import { SegmentSource } from './segment-source';
import { SegmentIO } from './segment-io';

/**
 * The shared memory of an ivshmem server, joined as a peer (see IvshmemClient). The server
 * closing the connection makes the source gone with the reason; bytes move as for any segment
 * (SegmentIO: the memory fd is mapped, reads use pread).
 */
export class IvshmemSource extends SegmentSource {
  readonly info: SourceInfo;
  protected readonly io: SegmentIO;

  private constructor(
    readonly client: IvshmemClient,
    writable: boolean,
  ) {
    super();
    this.info = { kind: 'ivshmem', description: `unix:${client.path}`, size: client.memorySize, writable, peerId: client.ownId, identity: identityOf(client.memoryFd) };
    this.io = new SegmentIO(client.memoryFd, client.memorySize, writable, `the shared memory of ${client.path}`, () => this.check());
    client.onClosed((reason) => this.lose(reason));
  }

  static async connect(path: string, options: { writable?: boolean } = {}): Promise<IvshmemSource> {
    const client = await IvshmemClient.connect(path);
    try {
      return new IvshmemSource(client, options.writable ?? false);
    } catch (err) {
      client.close();
      throw err;
    }
  }

  table(): PeerTable {
    return this.client.table();
  }

  ring(peer: number, vector: number): void {
    this.ensurePresent();
    this.client.ring(peer, vector);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.info.writable) throw new InputError(`${this.info.description} is attached read-only`);
    this.ensurePresent();
    this.io.write(offset, data);
  }

  protected probe(): string | undefined {
    return this.client.closed;
  }

  protected release(): void {
    this.io.release();
    this.client.close();
  }
}
