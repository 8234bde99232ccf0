// Bundles each target with esbuild (one entry per target); type checking is tsc's job (npm run build).
// Native modules stay external: they are loaded from node_modules at run time.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['koffi'],
  // Prefer ES module builds: jsonc-parser's UMD build loads its parts with requires esbuild cannot follow.
  mainFields: ['module', 'main'],
  define: { PACKAGE_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli/main.js' }),
  build({ ...common, entryPoints: ['agent/main.ts'], outfile: 'dist/agent/main.js' }),
  // The agent checks snapshot blocks on a worker thread (core/snapshot/integrity.ts looks for it
  // next to the bundle that runs it).
  build({ ...common, entryPoints: ['core/snapshot/verify-worker.ts'], outfile: 'dist/agent/verify-worker.js' }),
  // ... and so does the CLI, which runs the agent's side in its own process for files and snapshots.
  build({ ...common, entryPoints: ['core/snapshot/verify-worker.ts'], outfile: 'dist/cli/verify-worker.js' }),
  build({ ...common, entryPoints: ['extension/main.ts'], outfile: 'dist/extension/main.js', external: [...common.external, 'vscode'] }),
  // The webview runs in a browser: no Node, one script (its CSP allows nothing else).
  build({ entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
  build({ entryPoints: ['webview/diff-main.ts'], outfile: 'dist/webview/diff.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
  build({ entryPoints: ['webview/timeline-main.ts'], outfile: 'dist/webview/timeline.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
  build({ entryPoints: ['webview/report-main.ts'], outfile: 'dist/webview/report.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
]);
chmodSync('dist/cli/main.js', 0o755);
