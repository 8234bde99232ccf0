// npm run fuzz [-- --seconds 60 --cases 50000 --seed N]: every fuzzer, long. Bounded in time and
// count, seeded and reproducible; cases that break a parser are saved to test/fuzz-regressions/
// (commit them: the unit tests replay them).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
if (!existsSync('out/test/helpers/fuzz.js') && spawnSync('npm', ['run', 'build'], { stdio: 'inherit' }).status !== 0) process.exit(1);
const require = createRequire(import.meta.url);
const { TARGETS, fuzz } = require('../out/test/helpers/fuzz.js');
const seconds = opt('seconds', 60);
const cases = opt('cases', 50_000);
const seed = opt('seed', Date.now() % 1_000_000);
console.log(`fuzz: seed ${seed}, up to ${cases} cases or ${seconds} s per target`);
let failed = 0;
for (const target of TARGETS) {
  const started = Date.now();
  const r = fuzz(target, seed, cases, started + seconds * 1000, true);
  failed += r.failures.length;
  console.log(`${target.name}: ${r.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s, ${r.rejected} rejected cleanly, ${r.failures.length} failure(s)`);
  for (const f of r.failures.slice(0, 5)) console.log(`  case ${f.index}: ${f.error}`);
}
process.exit(failed ? 1 : 0);
