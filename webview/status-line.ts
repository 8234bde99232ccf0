import { el } from './dom';
import { failure } from './failure';

/**
 * A view's one-line status: what happened last, a warning in the warning colour, a failed request
 * said by failure() (its kind also in the page's data-last-error, for tests).
 */
export class StatusLine {
  readonly el = el('span', 'status');

  say(text: string, warn = false): void {
    this.el.textContent = text;
    this.el.classList.toggle('warn', warn);
  }

  fail(err: unknown, doing: string): void {
    const f = failure(err, doing);
    document.body.dataset.lastError = f.code;
    this.say(f.text, f.warn);
  }
}
