import * as vscode from 'vscode';
import { CancelledError, InputError, SourceLostError } from '../core/errors';

/**
 * The "Shared Memory Inspector" output channel, and the one place that turns errors into what a
 * user sees: errors they caused in plain words, bugs as a short message with details in the log.
 */
export class Log implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel('Shared Memory Inspector', { log: true });

  info(message: string): void {
    this.channel.info(message);
  }

  /** Shows an error; returns the message shown (tests read it). */
  report(err: unknown, context?: string): string {
    const prefix = context ? `${context}: ` : '';
    if (err instanceof CancelledError) {
      this.channel.info(`${prefix}${err.message}`);
      return err.message;
    }
    if (err instanceof InputError || err instanceof SourceLostError) {
      const text = `${prefix}${err.message}`;
      this.channel.warn(text);
      void vscode.window.showErrorMessage(text);
      return text;
    }
    this.channel.error(`${prefix}${(err as Error)?.stack ?? String(err)}`);
    const text = `${prefix}an internal error happened (details in the "Shared Memory Inspector" output)`;
    void vscode.window.showErrorMessage(text);
    return text;
  }

  dispose(): void {
    this.channel.dispose();
  }
}
