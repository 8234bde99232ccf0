import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ClientHandshake, ClientProtocol, FdError, MAX_HELD_FDS, MAX_VECTORS, ProtocolError, StreamDecoder, type ClientEvent } from '../../core/ivshmem/messages';
import { rng } from '../helpers/temp';

function msg(...values: bigint[]): Uint8Array {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(v, i * 8));
  return b;
}

test('the decoder gives a chunk\'s fd to the message that ends the chunk (FACTS.md rule)', () => {
  const d = new StreamDecoder();
  // A peer ID without fd (disconnect), then one with an fd (connect), in one read.
  assert.deepEqual(d.push(msg(5n, 7n), [42]), [{ value: 5n, fd: undefined }, { value: 7n, fd: 42 }]);
  assert.deepEqual(d.push(msg(9n), []), [{ value: 9n, fd: undefined }]);
});

test('messages split across reads are joined; an fd in the middle of a message is refused', () => {
  const d = new StreamDecoder();
  const bytes = msg(-1n, 3n);
  assert.deepEqual(d.push(bytes.subarray(0, 5), []), []);
  assert.equal(d.partialBytes, 5);
  assert.deepEqual(d.push(bytes.subarray(5, 16), [8]), [{ value: -1n, fd: undefined }, { value: 3n, fd: 8 }]);
  const e = new StreamDecoder();
  assert.throws(() => e.push(bytes.subarray(0, 12), [4]), (err: unknown) => err instanceof FdError && /middle of a message/.test(err.message) && err.fds[0] === 4);
  assert.throws(() => new StreamDecoder().push(msg(1n), [4, 5]), (err: unknown) => err instanceof FdError && err.fds.length === 2);
});

function run(values: [bigint, number | undefined][]): ClientEvent[] {
  const h = new ClientHandshake();
  return values.map(([value, fd]) => h.accept({ value, fd }));
}

test('a well-formed conversation: version, ID, memory, peers, own vectors, a peer leaving', () => {
  const events = run([[0n, undefined], [3n, undefined], [-1n, 10], [1n, 11], [1n, 12], [3n, 13], [3n, 14], [1n, undefined]]);
  assert.deepEqual(events, [
    { type: 'welcome', version: 0 },
    { type: 'id', id: 3 },
    { type: 'memory', fd: 10 },
    { type: 'peer-vector', peer: 1, vector: 0, fd: 11 },
    { type: 'peer-vector', peer: 1, vector: 1, fd: 12 },
    { type: 'own-vector', vector: 0, fd: 13 },
    { type: 'own-vector', vector: 1, fd: 14 },
    { type: 'peer-left', peer: 1 },
  ]);
});

test('every broken rule is named', () => {
  const cases: [[bigint, number | undefined][], RegExp][] = [
    [[[1n, undefined]], /protocol version 1; only version 0/],
    [[[0x4f4c4c4548n, undefined]], /protocol version 340582483272/],
    [[[0n, 5]], /file descriptor with the protocol version/],
    [[[0n, undefined], [70000n, undefined]], /client ID 70000, outside 0..65535/],
    [[[0n, undefined], [-1n, undefined]], /client ID -1/],
    [[[0n, undefined], [1n, 5]], /file descriptor with the client ID/],
    [[[0n, undefined], [1n, undefined], [-1n, undefined]], /no file descriptor for the shared memory/],
    [[[0n, undefined], [1n, undefined], [2n, 5]], /expected -1 with the shared memory, got 2/],
    [[[0n, undefined], [1n, undefined], [-1n, 5], [-7n, 6]], /peer ID -7/],
    [[[0n, undefined], [1n, undefined], [-1n, 5], [65536n, 6]], /peer ID 65536/],
    [[[0n, undefined], [1n, undefined], [-1n, 5], [1n, undefined]], /says this client left/],
  ];
  for (const [values, message] of cases) assert.throws(() => run(values), (e: unknown) => e instanceof ProtocolError && message.test(e.message), String(message));
});

test('a flood is cut off: too many vectors for one peer, too many fds in all', () => {
  const vectors: [bigint, number | undefined][] = [[0n, undefined], [1n, undefined], [-1n, 5]];
  for (let i = 0; i <= MAX_VECTORS; i++) vectors.push([2n, 100 + i]);
  assert.throws(() => run(vectors), /more than 64 vectors/);
  const h = new ClientHandshake();
  h.accept({ value: 0n, fd: undefined });
  h.accept({ value: 1n, fd: undefined });
  h.accept({ value: -1n, fd: 3 });
  assert.throws(() => {
    for (let i = 0; i < MAX_HELD_FDS; i++) h.accept({ value: BigInt(2 + Math.floor(i / 60)), fd: 10 + i });
  }, /more than 4096 file descriptors at once/);
});

test('peers that come and go for ever are fine: only fds held at once count (found by npm run soak)', () => {
  const h = new ClientHandshake();
  h.accept({ value: 0n, fd: undefined });
  h.accept({ value: 1n, fd: undefined });
  h.accept({ value: -1n, fd: 3 });
  // 10,000 peers with 2 vectors each join and leave: 20,000 fds received, never more than 3 held.
  for (let i = 0; i < 10_000; i++) {
    const peer = BigInt(2 + (i % 1000));
    assert.equal(h.accept({ value: peer, fd: 10 }).type, 'peer-vector');
    assert.equal(h.accept({ value: peer, fd: 11 }).type, 'peer-vector');
    assert.equal(h.accept({ value: peer, fd: undefined }).type, 'peer-left');
  }
  // ...while peers that stay still count towards the cap.
  assert.throws(() => {
    for (let i = 0; i < MAX_HELD_FDS; i++) h.accept({ value: BigInt(2 + Math.floor(i / 60)), fd: 10 + i });
  }, /more than 4096 file descriptors at once/);
});

test('fuzz: random streams, chunkings and fds; no crash, and every fd comes back exactly once (seeded)', () => {
  const seed = 20261125;
  const random = rng(seed);
  let errors = 0;
  for (let round = 0; round < 3000; round++) {
    const p = new ClientProtocol();
    // Mostly plausible values, sometimes garbage, so that runs get past the handshake.
    const stream: { value: bigint; fd: boolean }[] = [
      { value: random(10) === 0 ? BigInt(random(5)) : 0n, fd: random(15) === 0 },
      { value: random(10) === 0 ? 70000n : BigInt(random(8)), fd: random(15) === 0 },
      { value: random(10) === 0 ? 4n : -1n, fd: random(12) !== 0 },
    ];
    for (let i = random(40); i > 0; i--) {
      const r = random(20);
      stream.push({ value: r === 0 ? -2n : r === 1 ? BigInt(random(2 ** 31)) : BigInt(random(6)), fd: random(3) !== 0 });
    }
    const bytes = msg(...stream.map((m) => m.value));
    let nextFd = 1000;
    const given: number[] = [];
    const owned: number[] = [];
    const orphaned: number[] = [];
    let pos = 0;
    let failed = false;
    for (let i = 0; i < stream.length; ) {
      // A read ends at a message with an fd (the kernel's rule) or anywhere before it.
      let end = i;
      while (end < stream.length && !stream[end]!.fd && random(3) !== 0) end++;
      if (end === stream.length) end--;
      let cutInside = random(8) === 0;
      let stop = (end + 1) * 8 - (cutInside ? 1 + random(7) : 0);
      if (stop <= pos) {
        cutInside = false;
        stop = (end + 1) * 8;
      }
      const fds = stream[end]!.fd && !cutInside ? [nextFd++] : random(40) === 0 ? [nextFd++, nextFd++] : [];
      given.push(...fds);
      let step;
      try {
        step = p.push(bytes.subarray(pos, stop), fds);
      } catch (err) {
        assert.fail(`round ${round} (seed ${seed}): push threw ${String(err)}`);
      }
      for (const e of step.events) if ('fd' in e) owned.push(e.fd);
      orphaned.push(...step.orphanFds);
      if (step.error) {
        assert.ok(step.error instanceof ProtocolError);
        failed = true;
      }
      pos = stop;
      i = Math.floor(stop / 8);
    }
    if (failed) errors++;
    const back = [...owned, ...orphaned].sort((a, b) => a - b);
    assert.deepEqual(back, [...given].sort((a, b) => a - b), `round ${round}: fds lost or duplicated`);
  }
  // Both outcomes were exercised.
  assert.ok(errors > 300 && errors < 2900, `${errors} of 3000 rounds failed`);
});
