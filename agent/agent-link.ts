import type { ChildProcess } from 'node:child_process';
import { childProcess } from '../core/builtins';
import type { Wire } from '../shared/messenger';
import { SourceLostError } from '../core/errors';

/** Makes the agent's server (an AgentServer) around the function that sends its messages. */
export type ServerFactory = (send: (message: Wire) => void) => { handle(message: unknown): Promise<void>; close(): void };

/**
 * How a RemoteSession reaches the AgentServer that owns its source: a child process (the agent:
 * what the extension and any session with a mapping or a socket uses), or this very process (a CLI
 * command on files and snapshots, which are read with pread and cannot raise SIGBUS: no second
 * Node to start, no bytes through IPC). The session speaks the same protocol either way.
 */
export interface AgentLink {
  /** The agent process, when there is one. */
  readonly pid: number | undefined;
  /** Whether messages can still go out. */
  readonly connected: boolean;
  /** Sends one message; rejects with SourceLostError when the agent is gone. */
  post(message: unknown, reason: () => string | undefined): Promise<void>;
  /** Lets the agent go after the session lost it (it may still be running). */
  disconnect(): void;
  /** Stops the agent once the session is closed; `asked`: it was told to close and may leave by itself. */
  stop(asked: boolean): Promise<void>;
}

/** What a link reports to its session. */
export interface LinkEvents {
  message(message: unknown): void;
  /** The agent ended (only a process can): its exit code or signal, and the end of its stderr. */
  exit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): void;
  /** The agent could not be started. */
  error(err: Error): void;
}

/** The agent as a child process (agent/main.js). */
export class ChildLink implements AgentLink {
  private stderrTail = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    events: LinkEvents,
  ) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-4096);
    });
    child.on('message', (message) => events.message(message));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        events.exit(code, signal, this.stderrTail);
        resolve();
      });
    });
    child.on('error', (err) => events.error(err));
  }

  static start(agentPath: string, env: NodeJS.ProcessEnv, events: LinkEvents): ChildLink {
    const child = childProcess().fork(agentPath, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // Its own process group: a Ctrl-C reaches the parent only, which then stops the agent in order.
      detached: true,
      execArgv: [],
      env,
    });
    return new ChildLink(child, events);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get connected(): boolean {
    return this.child.connected;
  }

  /** Notes what went wrong in the session, for the exit description. */
  note(text: string): void {
    this.stderrTail += text;
  }

  post(message: unknown, reason: () => string | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new SourceLostError(reason() ?? 'the agent is not running'));
      this.child.send(message as object, (err) => (err ? reject(new SourceLostError(reason() ?? `the agent is gone: ${err.message}`)) : resolve()));
    });
  }

  disconnect(): void {
    if (this.child.connected) this.child.disconnect();
  }

  async stop(asked: boolean): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    if (!asked) this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(killer);
  }
}

/**
 * The AgentServer in this process. Messages cross as they are (no copy: nothing else holds them),
 * each on a later turn of the event loop, as they would through a pipe, so that neither side runs
 * inside the other's call.
 */
export class InProcessLink implements AgentLink {
  readonly pid = undefined;
  private open = true;
  private readonly server: ReturnType<ServerFactory>;

  constructor(makeServer: ServerFactory, events: LinkEvents) {
    this.server = makeServer((message) => {
      if (this.open) queueMicrotask(() => this.open && events.message(message));
    });
  }

  get connected(): boolean {
    return this.open;
  }

  post(message: unknown, reason: () => string | undefined): Promise<void> {
    if (!this.open) return Promise.reject(new SourceLostError(reason() ?? 'the session was closed'));
    setImmediate(() => void this.server.handle(message));
    return Promise.resolve();
  }

  disconnect(): void {
    this.stopServer();
  }

  async stop(): Promise<void> {
    this.stopServer();
  }

  private stopServer(): void {
    if (!this.open) return;
    this.open = false;
    // Closes the source and removes a temporary file of long work still under way.
    this.server.close();
  }
}
