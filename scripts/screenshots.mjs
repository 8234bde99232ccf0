// node scripts/screenshots.mjs: the README's pictures, taken in the browser tier. Builds, runs the
// browser tests that take them (a real code-server + chromium), and copies each picture from
// test-output/ to docs/images/ only if its test passed: a picture of a broken view never lands.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const PICTURES = [{ test: 'out/test/e2e/timeline.test.js', file: 'timeline.png' }];

if (spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);
mkdirSync('docs/images', { recursive: true });
for (const p of PICTURES) {
  if (spawnSync(process.execPath, ['--test', p.test], { stdio: 'inherit' }).status !== 0) {
    console.error(`\n${p.test} failed: docs/images/${p.file} was left as it was`);
    process.exit(1);
  }
  copyFileSync(join('test-output', p.file), join('docs', 'images', p.file));
  console.log(`docs/images/${p.file} updated`);
}
