/**
 * The one typed event emitter of core/ and agent/ (the extension uses vscode.EventEmitter, which
 * isolates listeners the same way). A listener that throws does not stop delivery to the others and
 * does not unwind into whoever emitted (an agent's message handler, a socket callback): its error
 * goes to the sink (stderr by default; tests and hosts may route it elsewhere).
 */

/** Stops a subscription; calling it twice is harmless. */
export type Unsubscribe = () => void;

export type ListenerErrorSink = (err: unknown) => void;

let sink: ListenerErrorSink = (err) => {
  process.stderr.write(`shmem-inspect: an event listener failed: ${(err as Error)?.stack ?? String(err)}\n`);
};

/** Where listener errors go from now on; returns the previous sink (to restore it). */
export function setListenerErrorSink(next: ListenerErrorSink): ListenerErrorSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** Reports a listener's (or a message handler's) error to the sink; never throws. */
export function reportListenerError(err: unknown): void {
  try {
    sink(err);
  } catch {
    // a failing sink must not break delivery either
  }
}

export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  /** Adds a listener; each call subscribes once more, and its Unsubscribe removes that one. */
  on(listener: (value: T) => void): Unsubscribe {
    // A wrapper per subscription, so that unsubscribing removes exactly this one.
    const entry = (value: T): void => listener(value);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  /** Calls once, then unsubscribes. */
  once(listener: (value: T) => void): Unsubscribe {
    const off = this.on((value) => {
      off();
      listener(value);
    });
    return off;
  }

  /** Delivers to every listener subscribed when emit began, each isolated from the others. */
  emit(value: T): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        reportListenerError(err);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.listeners.clear();
  }
}
