// The parts of usocket 1.1 this project uses (it ships no types).
declare module 'usocket' {
  import { Duplex } from 'node:stream';
  import { EventEmitter } from 'node:events';

  export class USocket extends Duplex {
    constructor(options?: { fd?: number; path?: string });
    connect(path: string, callback?: () => void): void;
    /** With fds: one sendmsg carrying the data and the descriptors. */
    write(chunk: Buffer | { data?: Buffer; fds?: number[]; callback?: () => void }, callback?: (err?: Error | null) => void): boolean;
    destroy(): this;
    fd?: number;
    on(event: 'connected', listener: () => void): this;
    on(event: 'fds', listener: (fds: number[]) => void): this;
    on(event: 'data', listener: (chunk: Buffer) => void): this;
    on(event: 'end' | 'close' | 'drain' | 'readable', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export class UServer extends EventEmitter {
    listen(path: string, callback?: () => void): void;
    close(): void;
    fd?: number;
    on(event: 'connection', listener: (socket: USocket) => void): this;
    on(event: 'listening', listener: () => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
  }
}
