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
  // A missing or empty folder would make this pass with nothing replayed: the cases are part of
  // the repository, so their absence is a failure.
  assert.ok(fs.existsSync(REGRESSIONS), `${REGRESSIONS} is missing: the saved cases were not replayed`);
  const files = fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, `${REGRESSIONS} holds no saved case: nothing was replayed`);
  let replayed = 0;
  for (const file of files) {
    const c = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, file), 'utf8'));
    const target = TARGETS.find((t) => t.name === c.target);
    assert.ok(target, `${file}: unknown target ${c.target}`);
    try {
      target.run(c.input);
    } catch (err) {
      assert.ok(target.expected(err), `${file}: ${String(err)}`);
    }
    replayed++;
  }
  assert.equal(replayed, files.length);
});
