// Bundles each target with esbuild (one entry per target); type checking is tsc's job (npm run build).
// Native modules stay external: they are loaded from node_modules at run time.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

// usocket's JavaScript is bundled; its `bindings` lookup (which walks the caller's stack) is
// replaced by a direct load of uwrap.node from the usocket package, found at run time.
const nativeBindings = {
  name: 'native-bindings',
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: 'bindings', namespace: 'native-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'native-shim' }, () => ({
      contents: `const { createRequire } = require('node:module'); const path = require('node:path');
        const load = createRequire(__filename);
        module.exports = (name) => load(path.join(path.dirname(load.resolve('usocket/package.json')), 'build', 'Release', name + '.node'));`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['koffi'],
  plugins: [nativeBindings],
  // Prefer ES module builds: jsonc-parser's UMD build loads its parts with requires esbuild cannot follow.
  mainFields: ['module', 'main'],
  define: { PACKAGE_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
};

await Promise.all([
  build({ ...common, entryPoints: ['cli/main.ts'], outfile: 'dist/cli/main.js' }),
  build({ ...common, entryPoints: ['agent/main.ts'], outfile: 'dist/agent/main.js' }),
  build({ ...common, entryPoints: ['extension/main.ts'], outfile: 'dist/extension/main.js', external: [...common.external, 'vscode'] }),
  // The webview runs in a browser: no Node, one script (its CSP allows nothing else).
  build({ entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
  build({ entryPoints: ['webview/diff-main.ts'], outfile: 'dist/webview/diff.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
  build({ entryPoints: ['webview/report-main.ts'], outfile: 'dist/webview/report.js', bundle: true, platform: 'browser', target: 'chrome120', format: 'iife', sourcemap: true, logLevel: 'warning' }),
]);
chmodSync('dist/cli/main.js', 0o755);
