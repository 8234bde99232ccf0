/**
 * A session's one state, as every view shows it. extension/session.ts changes it, and only through
 * its named transitions (pause, resume, the link lost, attached again, enter and leave the
 * guest-side copy); the views observe it.
 */
export type SessionState =
  | { readonly name: 'live' }
  /** Not updated: the user paused it, or its watch failed (then `reason` says why; Resume tries again). */
  | { readonly name: 'paused'; readonly reason?: string }
  /** The source went away (agent killed, file truncated or deleted, server gone): the last bytes are shown. */
  | { readonly name: 'lost'; readonly reason: string }
  /** Disconnected on purpose: the views show (and edit) the guest-side copy until a reconnect. */
  | { readonly name: 'guest'; readonly cause: string; readonly since: number; readonly resume: 'live' | 'paused' };

/** The state in a word or two, as the Sessions view and the status bar say it. */
export function stateLabel(state: SessionState): string {
  switch (state.name) {
    case 'live':
      return 'live';
    case 'paused':
      return state.reason ? 'paused (watch failed)' : 'paused';
    case 'lost':
      return 'disconnected';
    case 'guest':
      return 'disconnected (guest copy)';
  }
}

/** The state in a sentence, for a tooltip or a banner; empty for a live session. */
export function stateSentence(state: SessionState): string {
  switch (state.name) {
    case 'live':
      return '';
    case 'paused':
      return state.reason ? `Live view paused: ${state.reason}. Resume to try again.` : 'Live view paused: the bytes are not updated.';
    case 'lost':
      return `Disconnected: ${state.reason}. Showing the last bytes received.`;
    case 'guest':
      return `Disconnected: ${state.cause}; showing the guest-side copy (edits stay in it until you reconnect). Reconnect as Master writes it back; Reconnect as Peer throws it away.`;
  }
}
