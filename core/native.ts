import { createRequire } from 'node:module';
import * as path from 'node:path';
import type MmapIoModule from '@riaskov/mmap-io';

/**
 * The native bindings, loaded straight from each package's build/Release folder. mmap-io's own
 * JavaScript only locates its binding (through @mapbox/node-pre-gyp and its 40 dependencies) and
 * rewraps sync(); map() and the constants live in the binding itself. Loading it directly keeps
 * the packaged extension to the two .node files and their package.json (see .vscodeignore).
 */
const load = createRequire(__filename);

export function nativeBinding(pkg: string, file: string): unknown {
  const dir = path.dirname(load.resolve(`${pkg}/package.json`));
  return load(path.join(dir, 'build', 'Release', file));
}

export const mmap = nativeBinding('@riaskov/mmap-io', 'mmap_io.node') as typeof MmapIoModule;
