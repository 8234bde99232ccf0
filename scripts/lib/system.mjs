// System packages a script needs: installed with apt-get when we are root, otherwise the exact
// command is printed and the script stops.
import { spawnSync } from 'node:child_process';

export function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function run(command, args, options = {}) {
  console.log(`\n$ ${[command, ...args].join(' ')}`);
  const r = spawnSync(command, args, { stdio: 'inherit', ...options });
  return r.status ?? 1;
}

function dpkgInstalled(pkg) {
  return spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed') ?? false;
}

/** needs: [{ command?: string, pkg: string }]; a need without command is checked with dpkg. */
export function ensureSystemPackages(needs, why) {
  const missing = needs.filter((n) => (n.command ? !onPath(n.command) : !dpkgInstalled(n.pkg))).map((n) => n.pkg);
  if (missing.length === 0) return;
  const install = ['install', '-y', '--no-install-recommends', ...missing];
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    if (run('apt-get', ['update'], { env }) !== 0 || run('apt-get', install, { env }) !== 0) {
      console.error(`\ncould not install ${missing.join(' ')} with apt-get (needed for ${why})`);
      process.exit(1);
    }
    return;
  }
  console.error(`\n${why} needs ${missing.join(' ')}. Run:\n\n  sudo apt-get update && sudo apt-get ${install.join(' ')}\n`);
  process.exit(1);
}
