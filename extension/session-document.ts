import type * as vscode from 'vscode';
import type { Session } from './session';
import type { SessionManager } from './session-manager';

/**
 * A file opened in one of our read-only custom editors (a .shmsnap, a .shmrec): a read-only
 * session on it, in its own agent. Closing the editor detaches the session.
 */
export class SessionDocument implements vscode.CustomDocument {
  constructor(
    readonly uri: vscode.Uri,
    readonly session: Session,
    private readonly manager: SessionManager,
  ) {}

  dispose(): void {
    void this.manager.detach(this.session);
  }
}
