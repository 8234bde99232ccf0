import { InputError } from '../errors';
import { SourceBase, type FileIdentity, type SourceInfo } from '../source';

/**
 * Bytes held in this process: the guest-side copy of a disconnected session (the "base" taken at
 * disconnect, and the "local" copy the guest keeps editing). Never gone, always writable unless
 * frozen.
 */
export class MemorySource extends SourceBase {
  readonly info: SourceInfo;

  constructor(
    readonly bytes: Uint8Array,
    description: string,
    writable = true,
    /** The segment these bytes are a copy of: a snapshot of them is never written over it. */
    identity?: FileIdentity,
  ) {
    super();
    this.info = { kind: 'file', description, size: bytes.length, writable, ...(identity ? { identity } : {}) };
  }

  read(offset: number, target: Uint8Array): void {
    target.set(this.bytes.subarray(offset, offset + target.length));
  }

  override view(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    if (!this.info.writable) throw new InputError(`${this.info.description} is read-only`);
    this.bytes.set(data, offset);
  }

  protected probe(): undefined {
    return undefined;
  }

  protected release(): void {
    // garbage collected
  }
}
