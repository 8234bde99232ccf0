import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CancelledError, InputError, SourceLostError } from '../../core/errors';
import { RemoteSession, crashLine } from '../../agent/remote-session';
import { setListenerErrorSink } from '../../core/events';
import { eventually, fdTargets, pwrite, seededBytes, tempDir } from '../helpers/temp';
import { NO_HUGETLBFS, hugetlbfsMount } from '../helpers/hugetlbfs';

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the parent reads and writes through the agent, which holds the file open and maps nothing on tmpfs', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  const data = seededBytes(65536, 3);
  fs.writeFileSync(file, data);
  const session = await RemoteSession.attach(file, { writable: true });
  t.after(() => session.close());
  assert.equal(session.info.size, 65536);
  assert.equal(session.info.kind, 'file');
  assert.ok(Buffer.from(await session.read(100, 200)).equals(data.subarray(100, 300)));
  await session.write(10, new Uint8Array([0xaa, 0xbb]));
  assert.deepEqual([...fs.readFileSync(file).subarray(10, 12)], [0xaa, 0xbb]);
  assert.equal(fdTargets().includes(file), false, 'the parent opened the backing file');
  assert.ok(fdTargets(session.agentPid!).includes(file), 'the agent does not hold the backing file');
  // pread/pwrite: no mapping in either process, so no truncation can raise SIGBUS.
  assert.equal(fs.readFileSync('/proc/self/maps', 'utf8').includes(file), false, 'the parent has the backing file mapped');
  assert.equal(fs.readFileSync(`/proc/${session.agentPid}/maps`, 'utf8').includes(file), false, 'the agent mapped a tmpfs file');
});

test('a bad source is an InputError with the reason', async () => {
  await assert.rejects(RemoteSession.attach('/nonexistent/seg'), (e: unknown) => e instanceof InputError && /no such file/.test(e.message));
  await assert.rejects(RemoteSession.attach('unix:'), /needs a socket path/);
});

/** An 8 KiB zeroed backing file attached in an agent; both go when the test ends. */
async function attachedZeros(t: TestContext): Promise<{ file: string; session: RemoteSession }> {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(8192));
  const session = await RemoteSession.attach(file);
  t.after(() => session.close());
  return { file, session };
}

test('watch delivers changes made by another writer, and last bytes follow them', async (t) => {
  const { file, session } = await attachedZeros(t);
  const ticks: { offset: number; after: number[] }[] = [];
  session.onChanges((tick) => tick.changes.forEach((c) => ticks.push({ offset: c.offset, after: [...c.after] })));
  await session.watch([{ offset: 0, length: 8192 }], 10);
  pwrite(file, 5000, [9, 8, 7]);
  await eventually(() => ticks.length > 0, 5000, 'a change');
  assert.deepEqual(ticks[0], { offset: 5000, after: [9, 8, 7] });
  assert.deepEqual([...session.lastBytes.get(4999, 5)!], [0, 9, 8, 7, 0]);
});

test('a change listener that throws does not stop the others, nor the ticks after it', async (t) => {
  const { file, session } = await attachedZeros(t);
  const errors: unknown[] = [];
  const previous = setListenerErrorSink((err) => errors.push(err));
  t.after(() => void setListenerErrorSink(previous));
  session.onChanges(() => {
    throw new Error('a listener that throws');
  });
  const seen: number[] = [];
  session.onChanges((tick) => tick.changes.forEach((c) => seen.push(c.offset)));
  await session.watch([{ offset: 0, length: 8192 }], 10);
  for (const offset of [100, 200]) {
    pwrite(file, offset, [1]);
    await eventually(() => seen.includes(offset), 5000, `the change at ${offset}`);
  }
  assert.ok(errors.length >= 2, 'the listener errors were not reported');
  assert.equal((errors[0] as Error).message, 'a listener that throws');
  assert.equal(session.state, 'connected');
});

test('SIGBUS in the agent (a real store into a truncated hugetlbfs mapping) disconnects the session; last bytes stay; a new agent can attach', async (t) => {
  // hugetlbfs refuses pwrite, so a writable session there is the one that maps its file.
  const mount = hugetlbfsMount();
  if (!mount) {
    t.skip(NO_HUGETLBFS);
    return;
  }
  const sessions: RemoteSession[] = [];
  // Unmounted once the agents are gone (their mappings keep the mount busy).
  t.after(async () => {
    for (const s of sessions) await s.close();
    mount.cleanup();
  });
  const file = path.join(mount.dir, 'seg');
  const size = 2 * 1024 * 1024;
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, size);
  fs.closeSync(fd);
  // skip-checks: the agent writes through the mapping without looking at the file first.
  const session = await RemoteSession.attach(file, { writable: true, env: { ...process.env, SHMEM_INSPECT_FAULT: 'skip-checks' } });
  sessions.push(session);
  await session.write(16, new Uint8Array([1, 2, 3]));
  const before = await session.read(0, 4096);
  assert.deepEqual([...before.subarray(15, 20)], [0, 1, 2, 3, 0]);
  let told: string | undefined;
  session.onDisconnected((reason) => (told = reason));
  fs.truncateSync(file, 0);
  await assert.rejects(session.write(8192, new Uint8Array([1])), (e: unknown) => e instanceof SourceLostError && /SIGBUS/.test(e.message));
  assert.equal(session.state, 'disconnected');
  assert.equal(told, `the backing file was truncated from ${size} to 0 bytes (the agent was killed by SIGBUS)`);
  assert.ok(Buffer.from(session.lastBytes.get(0, 4096)!).equals(before), 'the last bytes were not kept');
  await assert.rejects(session.read(0, 1), SourceLostError);
  // The file comes back; a new agent attaches to it.
  fs.truncateSync(file, size);
  const again = await session.reattach();
  sessions.push(again);
  assert.equal((await again.read(0, 16)).length, 16);
});

test('tmpfs, checks skipped: a truncation under a read is a short pread, a clean lost error; the agent lives on', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, seededBytes(3 * 4096, 4));
  const session = await RemoteSession.attach(file, { writable: true, env: { ...process.env, SHMEM_INSPECT_FAULT: 'skip-checks' } });
  t.after(() => session.close());
  await session.read(0, 4096);
  fs.truncateSync(file, 100);
  await assert.rejects(session.read(0, 4096), (e: unknown) => e instanceof SourceLostError && e.message === `${file} ended early at 100`);
  assert.ok(alive(session.agentPid), 'the agent died');
});

test('with checks on, a truncation is reported before any read, without SIGBUS', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(3 * 4096, 1));
  const session = await RemoteSession.attach(file);
  t.after(() => session.close());
  await session.watch([{ offset: 0, length: 4096 }], 10);
  fs.truncateSync(file, 100);
  await eventually(() => session.state === 'disconnected', 5000, 'the disconnect');
  assert.match(session.lostReason!, /truncated from 12288 to 100 bytes/);
  assert.equal(session.lastBytes.get(0, 4096)![0], 1);
});

test('an agent killed with SIGKILL mid-snapshot: the session disconnects and no temporary file stays', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(512 * 1024 * 1024, 0x5a));
  const session = await RemoteSession.attach(file);
  t.after(() => session.close());
  const out = path.join(dir, 'k.shmsnap');
  let killed = false;
  const p = session.takeSnapshot(out, false, {
    onProgress: () => {
      if (!killed) process.kill(session.agentPid!, 'SIGKILL');
      killed = true;
    },
  });
  await assert.rejects(p, (e: unknown) => e instanceof SourceLostError && /killed by SIGKILL/.test(e.message));
  assert.equal(session.state, 'disconnected');
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
});

test('a cancelled snapshot through the agent leaves nothing, and the session stays usable', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(512 * 1024 * 1024, 0x33));
  const session = await RemoteSession.attach(file);
  t.after(() => session.close());
  const abort = new AbortController();
  const p = session.takeSnapshot(path.join(dir, 'c.shmsnap'), false, { signal: abort.signal, onProgress: () => abort.abort() });
  await assert.rejects(p, CancelledError);
  assert.deepEqual(fs.readdirSync(dir), ['seg']);
  assert.equal(session.state, 'connected');
  assert.equal((await session.read(0, 1))[0], 0x33);
});

test('close stops the agent process', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(4096));
  const session = await RemoteSession.attach(file);
  const pid = session.agentPid;
  assert.ok(alive(pid));
  await session.close();
  await eventually(() => !alive(pid), 5000, 'the agent to exit');
  assert.equal(session.state, 'closed');
});

test('an agent whose parent dies (SIGKILL, no goodbye) exits on its own', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  fs.writeFileSync(file, Buffer.alloc(1 << 20, 3));
  // A parent that attaches, starts watching, prints its agent's pid, and then is killed.
  const script = `
    const { RemoteSession } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'agent', 'remote-session.js'))});
    RemoteSession.attach(process.argv[1]).then(async (s) => {
      await s.watch([{ offset: 0, length: 4096 }], 10);
      console.log(s.agentPid);
    });
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const agentPid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    parent.once('exit', (c) => reject(new Error(`the parent exited first (${c})`)));
  });
  assert.ok(agentPid > 0);
  process.kill(agentPid, 0); // alive
  parent.kill('SIGKILL');
  const gone = (): boolean => {
    try {
      process.kill(agentPid, 0);
      return fs.readFileSync(`/proc/${agentPid}/status`, 'utf8').includes('State:\tZ');
    } catch {
      return true;
    }
  };
  await eventually(gone, 5000, 'the orphaned agent to exit');
});

test('an agent that dies as it starts: the attach error names its real error, not Node\'s last line', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  fs.writeFileSync(path.join(dir, 'seg'), Buffer.alloc(4096));
  // What a native module built for another Node ABI did: throw while the agent loads.
  const agentPath = path.join(dir, 'agent.js');
  fs.writeFileSync(agentPath, "require('./no-such-binding.node');\n");
  await assert.rejects(RemoteSession.attach(path.join(dir, 'seg'), { agentPath }), (e: unknown) => {
    assert.ok(e instanceof SourceLostError, String(e));
    assert.match(e.message, /^the agent exited with code 1: Error: Cannot find module '\.\/no-such-binding\.node'$/);
    return true;
  });
});

test('crashLine: the error line of real Node crash reports', () => {
  const report = (code: string): string => spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' }).stderr;
  assert.equal(crashLine(report("throw new RangeError('out of range')")), 'RangeError: out of range');
  const dlopen = report("const e = new Error('x.node was compiled against NODE_MODULE_VERSION 115'); e.code = 'ERR_DLOPEN_FAILED'; throw e");
  assert.match(dlopen, /^Node\.js v/m, 'Node no longer ends its report with its version: this test lost its point');
  assert.equal(crashLine(dlopen), 'Error: x.node was compiled against NODE_MODULE_VERSION 115');
  assert.equal(crashLine(report("throw 'a plain string'")), 'a plain string');
  assert.equal(crashLine(''), undefined);
});
