import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { platformProblem } from '../../core/sys/platform';

test('another OS gets one sentence that says Linux is needed and where to go; Linux gets none', () => {
  assert.equal(platformProblem('linux'), undefined);
  assert.equal(platformProblem(), process.platform === 'linux' ? undefined : platformProblem(process.platform));
  for (const os of ['darwin', 'win32', 'freebsd']) {
    const text = platformProblem(os)!;
    assert.match(text, new RegExp(`^Shared Memory Inspector needs Linux \\(this is ${os}\\): .*Remote - SSH, WSL or a dev container`));
    assert.equal(text.includes('\n'), false);
  }
});
