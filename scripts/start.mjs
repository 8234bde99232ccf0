// npm start: build, create a demo segment under /dev/shm with a live ring-buffer writer, install
// code-server into .cache (once), start it with the extension loaded and the demo attached, and
// print the URL. Ctrl-C stops everything and removes the demo segment.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCodeServer } from './lib/code-server.mjs';

const SEGMENT = existsSync('/dev/shm') ? '/dev/shm/shmem-inspect-demo' : '/tmp/shmem-inspect-demo';
const SIZE = 1 << 20;
const PORT = Number(process.env.PORT ?? 8080);
const root = resolve('.');
const pkg = JSON.parse((await import('node:fs')).readFileSync('package.json', 'utf8'));

if (spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);

const writer = spawn(process.execPath, ['scripts/demo-writer.mjs', SEGMENT, String(SIZE)], { stdio: 'inherit' });

const state = resolve('.cache/start');
const extensionsDir = join(state, 'extensions');
const workspace = join(state, 'workspace');
// A fresh VS Code profile each time: a cached copy of an older package.json would hide new views.
rmSync(join(state, 'user-data'), { recursive: true, force: true });
mkdirSync(extensionsDir, { recursive: true });
mkdirSync(join(workspace, '.vscode'), { recursive: true });
const link = join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
rmSync(link, { force: true, recursive: true });
symlinkSync(root, link);
writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'shmemInspector.autoAttach': [SEGMENT], 'shmemInspector.defaultLayout': resolve('examples/ring.shmlayout.json') }, null, 2));

let server;
try {
  server = await startCodeServer({ port: PORT, userDataDir: join(state, 'user-data'), extensionsDir, folder: workspace });
} catch (err) {
  writer.kill('SIGTERM');
  rmSync(SEGMENT, { force: true });
  console.error(`npm start: ${err.message}`);
  process.exit(1);
}
console.log(`\nShared Memory Inspector is running in VS Code (code-server):\n\n  ${server.url}\n`);
console.log(`The demo segment ${SEGMENT} (${SIZE} bytes, a ring buffer written 4 times a second) opens`);
console.log('in a hex view with the layout examples/ring.shmlayout.json: the Regions view (Shared Memory in the');
console.log('activity bar) shows head, tail, seq and the slots decoded, live.');
console.log('Ctrl-C stops code-server and the demo writer.\n');

const stop = () => {
  server.child.kill('SIGTERM');
  writer.kill('SIGTERM');
  rmSync(SEGMENT, { force: true });
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.child.on('exit', stop);
