import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError } from '../../core/errors';
import { searchSource } from '../../core/search';
import { BackingFileSource } from '../../core/sources/backing-file';
import { tempDir } from '../helpers/temp';

test('search finds the next match, across chunk boundaries, wrapping around, past 4 GiB', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, 2 ** 32 + 2 ** 20);
  const needle = Buffer.from('NEEDLE');
  const spots = [100, 4 * 1024 * 1024 - 3, 2 ** 32 + 5];
  for (const s of spots) fs.writeSync(fd, needle, 0, needle.length, s);
  fs.closeSync(fd);
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  assert.equal(await searchSource(src, needle, 0), 100);
  assert.equal(await searchSource(src, needle, 101), 4 * 1024 * 1024 - 3, 'a match across two 4 MiB chunks was missed');
  assert.equal(await searchSource(src, needle, 4 * 1024 * 1024), 2 ** 32 + 5);
  assert.equal(await searchSource(src, needle, 2 ** 32 + 6), 100, 'no wrap-around');
  assert.equal(await searchSource(src, Buffer.from('ABSENT'), 0), null);
});

test('a long search reports progress and can be cancelled', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(512 * 1024 * 1024, 1));
  const src = BackingFileSource.open(file);
  t.after(() => src.close());
  let reports = 0;
  let cancel = false;
  await assert.rejects(
    searchSource(src, Buffer.from([2]), 0, {
      onProgress: () => {
        reports++;
        cancel = true;
      },
      isCancelled: () => cancel,
    }),
    CancelledError,
  );
  assert.ok(reports >= 1);
});
