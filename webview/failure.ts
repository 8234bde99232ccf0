import { RequestError, type ErrorCode } from '../shared/messenger';

/**
 * How a view reacts to a failed request: by its kind, not its text (the text is for the person).
 * A cancellation is said quietly; the others are warnings, each worded for what it means.
 */
export function failure(err: unknown, doing: string): { code: ErrorCode; text: string; warn: boolean } {
  const code = err instanceof RequestError ? err.code : 'internal';
  const message = (err as Error)?.message ?? String(err);
  switch (code) {
    case 'cancelled':
      return { code, text: `${doing}: cancelled`, warn: false };
    case 'lost':
      return { code, text: `${doing}: the source is gone (${message})`, warn: true };
    case 'timeout':
      return { code, text: `${doing}: ${message}; try again`, warn: true };
    case 'input':
      return { code, text: `${doing}: ${message}`, warn: true };
    case 'internal':
      return { code, text: `${doing}: ${message}`, warn: true };
  }
}
