import * as fs from 'node:fs';
import { InputError, describeSystemError } from '../core/errors';
import { checkAgainstSegment, compileLayout } from '../core/layout/compile';
import type { Layout } from '../core/layout/model';
import type { RemoteSession } from '../agent/remote-session';

/** Compiles layout text; problems become one InputError "FILE:LINE:COLUMN: message". */
export function layoutFromText(text: string, name: string, segmentSize: number): Layout {
  const { layout, problems } = compileLayout(text);
  const p = problems[0];
  if (!layout || p) throw new InputError(`${name}:${p?.line ?? 1}:${p?.column ?? 1}: ${p?.message ?? 'not a layout'}`);
  const outside = checkAgainstSegment(layout, segmentSize);
  if (outside.length > 0) throw new InputError(`${name}: ${outside[0]}`);
  return layout;
}

export function readLayoutFile(file: string): string {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new InputError(`${file} is not a file`);
    if (st.size > 1024 * 1024) throw new InputError(`${file} is larger than 1 MiB: not a layout`);
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the layout ${file}: ${describeSystemError(err)}`);
  }
}

/** --layout FILE, or --layout embedded for the layout a snapshot carries; none without --layout. */
export function layoutFor(session: RemoteSession, file: string | undefined): Layout | undefined {
  if (file === undefined) return undefined;
  if (file === 'embedded') {
    const embedded = session.snapshot?.layout;
    if (!embedded) throw new InputError(`${session.source} carries no layout (only snapshots taken with --layout do)`);
    return layoutFromText(embedded, `the layout embedded in ${session.source}`, session.info.size);
  }
  return layoutFromText(readLayoutFile(file), file, session.info.size);
}

/** "u32", "char[8]", "slot" — a field's type as the layout wrote it. */
export function typeName(t: { kind: string; name?: string; size: number }): string {
  if (t.kind === 'primitive') return t.name!;
  if (t.kind === 'struct') return t.name ?? 'struct';
  return `${t.kind}[${t.size}]`;
}
