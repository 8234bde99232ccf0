import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REGRESSIONS, TARGETS, fuzz } from '../helpers/fuzz';

/** A short run of every fuzzer (npm run fuzz runs them long), and every saved regression replayed. */
for (const target of TARGETS) {
  test(`fuzz smoke: ${target.name} (2,000 seeded cases)`, () => {
    const r = fuzz(target, 20261126, 2000);
    assert.deepEqual(r.failures, [], `${target.name}: ${JSON.stringify(r.failures.slice(0, 3))}`);
    assert.equal(r.cases, 2000);
  });
}

test('saved fuzz regressions still pass', () => {
  const files = fs.existsSync(REGRESSIONS) ? fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json')) : [];
  for (const file of files) {
    const c = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, file), 'utf8'));
    const target = TARGETS.find((t) => t.name === c.target);
    assert.ok(target, `${file}: unknown target ${c.target}`);
    try {
      target.run(c.input);
    } catch (err) {
      assert.ok(target.expected(err), `${file}: ${String(err)}`);
    }
  }
});
