// No vscode import here: the unit tests load this file in plain Node.

/** U+2060 WORD JOINER: invisible, and it keeps link syntax from matching where it stands. */
const JOINER = '\u2060';

/**
 * The one way text from outside (file and socket names, paths, layout names and keys, messages of
 * an agent or a server) reaches VS Code's UI: notifications, dialogs, progress titles, tab titles,
 * tree labels, descriptions and tooltips. A notification turns `[label](command:ID?ARGS)` into a
 * live link that runs any command with any arguments when clicked; Markdown also renders images
 * and autolinks. Every character stays visible; an invisible WORD JOINER goes where link, image or
 * autolink syntax would start (after `[ ] < ! \``, inside `://` and `www.`), so none of it parses;
 * control characters (a newline would start a new Markdown block) become spaces; very long text is
 * cut. Our own text passes unchanged, so a whole message can go through it.
 */
export function inert(text: string, max = 2000): string {
  let t = text
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ')
    .replace(/[[\]<!`]/g, (c) => c + JOINER)
    .replace(/:\/\//g, `:${JOINER}//`)
    .replace(/www\./gi, (w) => `${w.slice(0, 3)}${JOINER}.`);
  if (t.length > max) t = `${t.slice(0, max)}…`;
  return t;
}
