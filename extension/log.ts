import * as vscode from 'vscode';
import { CancelledError, InputError, SourceLostError, TimeoutError, errorCode, type ErrorCode } from '../core/errors';
import { inert } from './outside-text';

/**
 * The "Shared Memory Inspector" output channel, and the one place that shows the user a
 * notification or a dialog (lint allows window.show*Message nowhere else): errors they caused in
 * plain words, bugs as a short message with details in the log. Every text goes through inert():
 * names and messages from outside never become links.
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
    if (err instanceof InputError || err instanceof SourceLostError || err instanceof TimeoutError) {
      const text = inert(`${prefix}${err.message}`);
      this.channel.warn(text);
      void vscode.window.showErrorMessage(text);
      return text;
    }
    this.channel.error(`${prefix}${(err as Error)?.stack ?? String(err)}`);
    const text = inert(`${prefix}an internal error happened (details in the "Shared Memory Inspector" output)`);
    void vscode.window.showErrorMessage(text);
    return text;
  }

  /** A notification that something was done. */
  notify(text: string): void {
    void vscode.window.showInformationMessage(inert(text));
  }

  /**
   * A notification with one action button (e.g. Open); resolves true when it was pressed, false
   * when it was dismissed. Nothing should wait on it: the user may never answer.
   */
  async offer(text: string, action: string, warn = false): Promise<boolean> {
    const t = inert(text);
    if (warn) this.channel.warn(t);
    else this.channel.info(t);
    return (await (warn ? vscode.window.showWarningMessage(t, action) : vscode.window.showInformationMessage(t, action))) === action;
  }

  /** A warning the user should read before trusting what they see (e.g. a damaged snapshot). */
  warn(text: string): void {
    const t = inert(text);
    this.channel.warn(t);
    void vscode.window.showWarningMessage(t);
  }

  /** Asks before something that cannot be undone (a modal dialog); true when the user pressed `action`. */
  async confirm(text: string, action: string): Promise<boolean> {
    return (await vscode.window.showWarningMessage(inert(text), { modal: true }, action)) === action;
  }

  /**
   * What a failed request becomes for a webview: its kind, and a line for the person. A bug's
   * details stay here, in the log; the view gets no stack.
   */
  describeForView(err: unknown, what: string): { code: ErrorCode; message: string } {
    const code = errorCode(err);
    if (code !== 'internal') return { code, message: (err as Error).message };
    this.channel.error(`${what} failed: ${(err as Error)?.stack ?? String(err)}`);
    return { code, message: 'internal error (details in the "Shared Memory Inspector" output)' };
  }

  dispose(): void {
    this.channel.dispose();
  }
}
