import type { HostMessage, WebviewMessage, WebviewReplies, WebviewRequest } from './protocol';

interface Pending {
  resolve: (body: never) => void;
  reject: (err: Error) => void;
  onProgress?: (done: number, total: number) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Requests to the host with ids, each settled by exactly one reply, an error reply, or a timeout
 * (so a lost reply never leaves the view waiting forever).
 */
export class HostChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly post: (message: WebviewMessage) => void) {}

  send(message: WebviewMessage): void {
    this.post(message);
  }

  request<T extends WebviewRequest>(request: T, options: { timeoutMs?: number; onProgress?: (done: number, total: number) => void; onId?: (id: number) => void } = {}): Promise<WebviewReplies[T['type']]> {
    const id = this.nextId++;
    options.onId?.(id);
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 15_000;
      const timer = timeoutMs > 0 ? setTimeout(() => this.settle(id, undefined, new Error(`no answer from the extension within ${timeoutMs / 1000} s`)), timeoutMs) : undefined;
      this.pending.set(id, { resolve: resolve as (body: never) => void, reject, onProgress: options.onProgress, timer });
      this.post({ type: 'request', id, request });
    });
  }

  /** Handles replies and progress; returns false for messages that are not about requests. */
  receive(message: HostMessage): boolean {
    if (message.type === 'reply') {
      if (message.ok) this.settle(message.id, message.body);
      else this.settle(message.id, undefined, new Error(message.error));
      return true;
    }
    if (message.type === 'progress') {
      this.pending.get(message.id)?.onProgress?.(message.done, message.total);
      return true;
    }
    return false;
  }

  private settle(id: number, body: unknown, error?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(body as never);
  }
}
