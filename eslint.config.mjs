// Lint: typescript-eslint's recommended rules, no `any`, and the layer boundaries of
// docs/architecture.md enforced as import rules (core/ never sees vscode, webview/ never sees Node).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeModules = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const restrict = (paths, patterns, message) => ({
  'no-restricted-imports': ['error', { paths: paths.map((name) => ({ name, message })), patterns: patterns.length ? [{ group: patterns, message }] : [] }],
});

// Electron's V8 memory cage (VS Code desktop) refuses an ArrayBuffer over memory V8 did not
// allocate; koffi.view() makes exactly that (the only koffi call that does). Bytes cross between
// native memory and JavaScript by copy (core/sys/mmap.ts), so no code may reach for view().
const koffiObject = ':matches([object.name="koffi"], [object.property.name="koffi"])';
const NATIVE_VIEW = 'Never create an ArrayBuffer over native memory (koffi.view, external buffers): Electron\'s memory cage refuses it. Copy into a Buffer V8 owns (memcpy, see core/sys/mmap.ts).';
const noNativeViews = {
  'no-restricted-syntax': ['error', ...[
    `MemberExpression${koffiObject}[property.name="view"]`,
    'MemberExpression[computed=true][property.value="view"]',
    ':matches(VariableDeclarator[init.name="koffi"], VariableDeclarator[init.property.name="koffi"], Property[key.name="koffi"]) > ObjectPattern > Property[key.name="view"]',
  ].map((selector) => ({ selector, message: NATIVE_VIEW }))],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', '.cache/**', 'test-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['**/*.ts', '**/*.mjs', '**/*.js', '**/*.cjs'], rules: noNativeViews },
  {
    files: ['shared/**/*.ts'],
    rules: restrict(['vscode', ...nodeModules], ['**/core/**', '**/agent/**', '**/cli/**', '**/extension/**', '**/webview/**'],
      'shared/ is the ground floor every layer imports (the messenger, the message checks): it runs in Node and in a browser and imports nothing.'),
  },
  {
    files: ['core/**/*.ts'],
    rules: restrict(['vscode'], ['**/agent/**', '**/cli/**', '**/extension/**', '**/webview/**'],
      'core/ is pure logic on Node: it must not depend on vscode or on the layers above it.'),
  },
  {
    files: ['agent/**/*.ts'],
    rules: restrict(['vscode'], ['**/cli/**', '**/extension/**', '**/webview/**'],
      'agent/ runs outside VS Code and under the CLI: no vscode, no upper layers.'),
  },
  {
    files: ['cli/**/*.ts'],
    rules: restrict(['vscode'], ['**/extension/**', '**/webview/**'], 'cli/ is a thin layer over core/ and agent/.'),
  },
  {
    files: ['webview/**/*.ts'],
    rules: restrict(['vscode', ...nodeModules], ['**/core/**', '**/agent/**', '**/cli/**', '**/extension/**'],
      'webview/ runs in a browser: no Node modules, no vscode; it talks to the host only through its protocol over shared/messenger.ts.'),
  },
  {
    // Notifications and dialogs only through extension/log.ts, which makes outside text inert.
    files: ['extension/**/*.ts'],
    ignores: ['extension/log.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: 'MemberExpression[property.name=/^show(Error|Warning|Information)Message$/]',
        message: 'Show notifications and dialogs through Log (report, notify, confirm): it makes text from outside inert (no command: links).',
      }],
    },
  },
  {
    files: ['scripts/**/*.mjs', '*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(['process', 'console', 'URL', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Buffer', 'fetch', 'performance'].map((g) => [g, 'readonly'])),
    },
  },
);
