import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { seededBytes, tempDir } from '../helpers/temp';

/**
 * Every argument of every command, given something wrong: the exit code says what kind of wrong
 * (1 usage, 2 bad input), stderr says it in one line (plus the usage line for usage errors), there
 * is no stack trace, nothing on stdout, and no file is created.
 */
test('every CLI argument rejects bad values with a clear message and the right exit code', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(4096, 1));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  const existing = path.join(dir, 'existing.shmsnap');
  fs.writeFileSync(existing, 'keep me');
  const sock = path.join(dir, 'sock');
  // Not an ivshmem server: it answers with text.
  const server = net.createServer((c) => c.on('error', () => undefined).end('HTTP/1.1 400 Bad Request\r\n\r\n')).listen(sock);
  t.after(() => server.close());
  await new Promise((r) => server.once('listening', r));

  const cases: [string[], number, RegExp][] = [
    [[], 1, /usage:/],
    [['frobnicate'], 1, /unknown command "frobnicate"/],
    [['dump'], 1, /missing SOURCE/],
    [['dump', seg, 'extra'], 1, /unexpected argument "extra"/],
    [['dump', seg, '--bogus'], 1, /unknown option --bogus/],
    [['dump', seg, '-x'], 1, /unknown option -x/],
    [['dump', seg, '--offset'], 1, /--offset needs a value/],
    [['dump', seg, '--offset', '1', '--offset', '2'], 1, /--offset is given twice/],
    [['dump', seg, '--offset', 'abc'], 2, /--offset must be a decimal or 0x-hex number, got "abc"/],
    [['dump', seg, '--offset', '-5'], 2, /--offset must be a decimal or 0x-hex number/],
    [['dump', seg, '--offset', '1.5'], 2, /--offset must be/],
    [['dump', seg, '--offset', '0x1001'], 2, /offset 0x1001 is past the end of the segment \(size 0x1000 = 4 KiB\)/],
    [['dump', seg, '--offset', '99999999999999999999'], 2, /too large/],
    [['dump', seg, '--length', '4097'], 2, /length 4097 at offset 0x0 runs past the end/],
    [['dump', seg, '--offset', '4000', '--length', '97'], 2, /runs past the end/],
    [['dump', seg, '--length', 'lots'], 2, /--length must be/],
    [['dump', path.join(dir, 'missing')], 2, /cannot open .*missing: no such file or directory/],
    [['dump', dir], 2, /is a directory/],
    [['dump', path.join(dir, 'empty')], 2, /is empty: there is nothing to map/],
    [['dump', '/dev/null'], 2, /not a regular file/],
    [['dump', ''], 2, /the source is empty/],
    [['dump', 'unix:'], 2, /needs a socket path/],
    [['dump', sock], 2, /the ivshmem server at .*sock: broke the protocol: the server speaks protocol version \d+; only version 0 is supported/],
    [['dump', `unix:${sock}`], 2, /broke the protocol/],
    [['dump', `unix:${path.join(dir, 'nosock')}`], 2, /cannot reach the ivshmem server at .*nosock: no such file or directory/],
    [['dump', `unix:${seg}`], 2, /is not a UNIX socket/],
    [['peers'], 1, /missing SOCKET/],
    [['peers', seg], 2, /is not a UNIX socket/],
    [['peers', sock, '--json', '--all'], 1, /unknown option --all/],
    [['ring', sock], 1, /--peer N is required/],
    [['ring', sock, '--peer', '70000'], 2, /--peer must be between 0 and 65535/],
    [['ring', sock, '--peer', '1', '--vector', '64'], 2, /--vector must be between 0 and 63/],
    [['ring', sock, '--peer', 'x'], 2, /--peer must be a whole number/],
    [['serve'], 1, /--socket PATH is required/],
    [['serve', '--socket', path.join(dir, 's2')], 1, /--size N is required/],
    [['serve', '--socket', path.join(dir, 's2'), '--size', '0'], 2, /--size must be between 1 byte and 256 TiB/],
    [['serve', '--socket', path.join(dir, 's2'), '--size', 'big'], 2, /--size must be a decimal or 0x-hex number/],
    [['serve', '--socket', path.join(dir, 's2'), '--size', '1M', '--vectors', '65'], 2, /--vectors must be between 0 and 64/],
    [['serve', '--socket', path.join(dir, 's2'), '--size', '1M', '--shm', 'x', '--memfd'], 1, /--shm and --memfd exclude each other/],
    [['serve', '--socket', path.join(dir, 's2'), '--size', '1M', '--shm', 'a/b'], 2, /--shm NAME must be a plain file name/],
    [['serve', '--socket', seg, '--size', '1M'], 2, /exists and is not a socket; refusing to replace it/],
    [['serve', '--socket', sock, '--size', '1M'], 2, /is in use by a running server/],
    [['serve', '--socket', path.join(dir, 'nodir', 's'), '--size', '1M'], 2, /the folder .*nodir does not exist/],
    [['serve', 'extra', '--socket', path.join(dir, 's2'), '--size', '1M'], 1, /unexpected argument "extra"/],
    [['snapshot', seg], 1, /-o FILE is required/],
    [['snapshot', seg, '-o'], 1, /--output needs a value/],
    [['snapshot', seg, '-o', existing], 2, /already exists \(use --force to replace it\)/],
    [['snapshot', seg, '-o', path.join(dir, 'nodir', 'x.shmsnap')], 2, /the folder .*nodir: no such file or directory/],
    [['snapshot', seg, '-o', dir, '--force'], 2, /it is a folder/],
    [['snapshot', seg, '-o', path.join(seg, 'x.shmsnap')], 2, /is not a folder/],
    [['snapshot', seg, '-o', path.join(dir, 'x'), '--force=yes'], 1, /--force takes no value/],
    [['info'], 1, /missing SOURCE/],
    [['info', seg, '--json', 'x'], 1, /unexpected argument/],
    [['watch', seg, '--interval', '0'], 2, /--interval must be between 5 and 3600000, got 0/],
    [['watch', seg, '--interval', 'fast'], 2, /--interval must be a whole number/],
    // A value out of range is bad input (2), like --interval 0 (it was 1, a usage error).
    [['watch', seg, '--length', '0'], 2, /--length must be at least 1/],
    [['watch', seg, '--offset', '4096'], 2, /nothing to watch at offset 0x1000/],
    [['watch', seg, '--offset', '5000'], 2, /past the end of the segment/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(args);
    const what = `shmem-inspect ${args.join(' ')}`;
    assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.doesNotMatch(r.stderr, /^\s+at /m, `${what} printed a stack trace`);
    if (args.length > 0) assert.equal(r.stdout, '', `${what} printed to stdout`);
    const firstLine = r.stderr.split('\n')[0]!;
    assert.match(firstLine, /^shmem-inspect: |^usage:/, what);
  }
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['empty', 'existing.shmsnap', 'seg', 'sock']);
});

test('malformed snapshot files: exit 2 and one line naming the file and the problem', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const seg = path.join(dir, 'seg');
  fs.writeFileSync(seg, seededBytes(200_000, 2));
  const good = path.join(dir, 'good.shmsnap');
  assert.equal((await runCli(['snapshot', seg, '-o', good])).code, 0);
  const bytes = fs.readFileSync(good);
  const variants: [string, Buffer, RegExp][] = [
    ['truncated', bytes.subarray(0, bytes.length - 4096), /truncated: .* expected/],
    ['header-only', bytes.subarray(0, 200), /truncated/],
    ['newer', Buffer.concat([bytes.subarray(0, 8), Buffer.from([9, 0, 0, 0]), bytes.subarray(12)]), /newer version of the format \(9\)/],
    ['crc', Buffer.concat([bytes.subarray(0, 70), Buffer.from('X'), bytes.subarray(71)]), /header is corrupted \(CRC mismatch\)/],
    ['oversized', Buffer.concat([bytes.subarray(0, 16), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x7f]), bytes.subarray(24)]), /segment size .* out of range/],
  ];
  for (const [name, content, message] of variants) {
    const file = path.join(dir, `${name}.shmsnap`);
    fs.writeFileSync(file, content);
    for (const command of ['dump', 'info']) {
      const r = await runCli([command, file]);
      assert.equal(r.code, 2, `${command} ${name}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${command} ${name}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`shmem-inspect: ${file}: `), r.stderr);
      assert.match(r.stderr, message, name);
    }
  }
  // A data byte flipped: the header is fine, so info reads it and says CORRUPTED with exit 2, and
  // the reason on stderr (it once exited 2 with nothing there).
  const flipped = Buffer.from(bytes);
  const at = flipped.length - 1000;
  flipped[at] = flipped[at]! ^ 1;
  const file = path.join(dir, 'flipped.shmsnap');
  fs.writeFileSync(file, flipped);
  const info = await runCli(['info', file]);
  assert.equal(info.code, 2);
  assert.match(info.stdout, /data: +CORRUPTED: 1 of 4 blocks of 64 KiB do not match their checksum \(first at 0x30000\)/);
  assert.equal(info.stderr, `shmem-inspect: ${file} is damaged: the data at 0x30000..0x30d40 does not match its checksum\n`);
  const json = await runCli(['info', file, '--json']);
  assert.equal(json.code, 2);
  assert.deepEqual(JSON.parse(json.stdout).damaged, [{ offset: 0x30000, length: 200_000 - 0x30000 }]);
  assert.match(json.stderr, /is damaged: the data at 0x30000\.\.0x30d40/);
});
