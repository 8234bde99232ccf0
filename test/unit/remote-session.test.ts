import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { CancelledError, InputError, SourceLostError } from '../../core/errors';
import { RemoteSession } from '../../agent/remote-session';
import { setListenerErrorSink } from '../../core/events';
import { eventually, pwrite, seededBytes, tempDir } from '../helpers/temp';

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the parent reads and writes through the agent and never maps the file itself', async (t) => {
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
  const ourMaps = fs.readFileSync('/proc/self/maps', 'utf8');
  assert.equal(ourMaps.includes(file), false, 'the parent has the backing file mapped');
  const agentMaps = fs.readFileSync(`/proc/${session.agentPid}/maps`, 'utf8');
  assert.ok(agentMaps.includes(file), 'the agent does not map the backing file');
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

test('SIGBUS in the agent (a real store into a truncated mapping) disconnects the session; last bytes stay; a new agent can attach', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'seg');
  const data = seededBytes(3 * 4096, 4);
  fs.writeFileSync(file, data);
  // skip-checks: the agent writes through the mapping without looking at the file first.
  const session = await RemoteSession.attach(file, { writable: true, env: { ...process.env, SHMEM_INSPECT_FAULT: 'skip-checks' } });
  t.after(() => session.close());
  await session.read(0, data.length);
  let told: string | undefined;
  session.onDisconnected((reason) => (told = reason));
  fs.truncateSync(file, 0);
  await assert.rejects(session.write(8192, new Uint8Array([1])), (e: unknown) => e instanceof SourceLostError && /SIGBUS/.test(e.message));
  assert.equal(session.state, 'disconnected');
  assert.equal(told, 'the backing file was truncated from 12288 to 0 bytes (the agent was killed by SIGBUS)');
  assert.ok(Buffer.from(session.lastBytes.get(0, data.length)!).equals(data), 'the last bytes were not kept');
  await assert.rejects(session.read(0, 1), SourceLostError);
  // The file comes back; a new agent attaches to it.
  fs.writeFileSync(file, data);
  const again = await session.reattach();
  t.after(() => again.close());
  assert.ok(Buffer.from(await again.read(0, 16)).equals(data.subarray(0, 16)));
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
