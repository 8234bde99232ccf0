import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { inert } from '../../extension/inert';

/** VS Code's own link pattern for notifications (src/vs/base/common/linkedText.ts). */
const NOTIFICATION_LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/gi;
const visible = (s: string): string => s.replace(/\u2060/g, '');

test('outside text keeps every visible character but no link syntax survives', () => {
  const hostile = [
    '[x](command:workbench.action.quit)',
    '/dev/shm/[click me](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
    '![pixel](https://evil.example/p.png)',
    '<https://evil.example>',
    'see www.evil.example or https://evil.example',
    '`code` and [ref]: command:x',
  ];
  for (const text of hostile) {
    const shown = inert(text);
    assert.equal(visible(shown), text, 'a visible character changed');
    assert.equal(shown.match(NOTIFICATION_LINK), null, `a notification link survived in ${JSON.stringify(shown)}`);
    assert.doesNotMatch(shown, /\]\(|!\[|<h|:\/\/|www\./i, `Markdown link, image or autolink syntax survived in ${JSON.stringify(shown)}`);
  }
  // Our own text is unchanged; control characters (a new Markdown block) become spaces; long text is cut.
  assert.equal(inert('attaching /dev/shm/seg: no such file or directory'), 'attaching /dev/shm/seg: no such file or directory');
  assert.equal(inert('a\nb\u0000c'), 'a b c');
  assert.equal(inert('x'.repeat(3000)).length, 2001);
});
