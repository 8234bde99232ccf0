// npm start: build, create a demo segment under /dev/shm with a live writer, and show it.
// The VS Code extension is not built yet (a later step); until then the demo is shown live with
// `shmem-inspect watch`, the CLI on the same core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

const SEGMENT = existsSync('/dev/shm') ? '/dev/shm/shmem-inspect-demo' : '/tmp/shmem-inspect-demo';
const SIZE = 1 << 20;

if (spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const writer = spawn(process.execPath, ['scripts/demo-writer.mjs', SEGMENT, String(SIZE)], { stdio: 'inherit' });
console.log(`\nDemo segment: ${SEGMENT} (${SIZE} bytes), a ring buffer written 4 times a second.`);
console.log('The VS Code extension comes in a later step; here is the segment live in the CLI.');
console.log(`Try in another terminal:  node dist/cli/main.js dump ${SEGMENT} --length 0x140\n`);

setTimeout(() => {
  const watch = spawn(process.execPath, ['dist/cli/main.js', 'watch', SEGMENT, '--length', '0x1100', '--interval', '50'], { stdio: 'inherit' });
  const stop = () => {
    watch.kill('SIGINT');
    writer.kill('SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  watch.on('exit', (code) => {
    writer.kill('SIGTERM');
    rmSync(SEGMENT, { force: true });
    process.exit(code ?? 0);
  });
}, 300);
