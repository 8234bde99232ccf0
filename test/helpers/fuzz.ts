/**
 * The fuzzers behind `npm run fuzz` (long, many cases) and the fuzz smoke in the unit tier (short):
 * hostile input for every parser that takes bytes or messages from outside. Each case must end in
 * a value or a clear, one-line rejection of the parser's own error class: never another exception,
 * never a hang. A case that breaks that rule is saved under test/fuzz-regressions/ and replayed by
 * the unit tests from then on.
 */
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import * as path from 'node:path';
import { agentProtocol } from '../../agent/protocol';
import { MessageError } from '../../shared/checks';
import { checkForClient, checkForServer } from '../../shared/messenger';
import { compileLayout } from '../../core/layout/compile';
import type { StructType } from '../../core/layout/model';
import { ClientProtocol, ProtocolError } from '../../core/ivshmem/messages';
import { FormatError, decodeHeader, encodeHeader, headerLength, type SnapshotHeader } from '../../core/snapshot/format';
import { diffProtocol } from '../../webview/diff-protocol';
import { hexProtocol } from '../../webview/hex-protocol';
import { reportProtocol } from '../../webview/report-protocol';
import { ROOT, rng } from './temp';
import { InputError } from '../../core/errors';
import { RecordingFile } from '../../core/record/reader';
import { Timeline } from '../../core/record/timeline';
import { recordCrc } from '../../core/record/records';
import { tinyRecording } from './recording';

export const REGRESSIONS = path.join(ROOT, 'test', 'fuzz-regressions');

export interface FuzzTarget {
  name: string;
  /** Makes one case from the generator. */
  make(random: (n: number) => number): unknown;
  /** Runs one case; returns normally or throws an error of the expected class. */
  run(input: unknown): void;
  expected: (err: unknown) => boolean;
}

/** A valid header of each format version readers read (1: CRC-32 blocks; 2: XXH64 pages). */
const validHeaders = [1, 2].map((version) => {
  const h: SnapshotHeader = {
    version, headerLength: 0, size: 200_000, time: Date.now(), blockSize: 65536, peerId: 3, checked: true,
    source: '/dev/shm/x', layout: '{"regions":[]}', torn: [{ offset: 4096, length: 4096 }], blockChecksums: new Uint32Array(4),
  };
  h.headerLength = headerLength(Buffer.byteLength(h.source), Buffer.byteLength(h.layout!), 1, 4);
  return encodeHeader(h);
});

const LAYOUT = fs.readFileSync(path.join(ROOT, 'examples', 'ring.shmlayout.json'), 'utf8');

function mutateBytes(base: Uint8Array, random: (n: number) => number): Buffer {
  const b = Buffer.from(base);
  for (let i = 1 + random(8); i > 0; i--) {
    const op = random(4);
    const at = random(b.length);
    if (op === 0) b[at] = random(256);
    else if (op === 1) b[at] = b[at]! ^ (1 << random(8));
    else if (op === 2) b.writeUInt32LE(random(2) ? 0xffffffff : random(1 << 16), Math.min(at, b.length - 4) & ~3);
    else b.fill(0, at, Math.min(b.length, at + random(64)));
  }
  return random(10) === 0 ? b.subarray(0, random(b.length)) : b;
}

function randomJson(random: (n: number) => number, depth = 0): unknown {
  const atoms = [0, -1, 1.5, 2 ** 53, 2 ** 64, 'u8', 'char[4]', 'x', '', '0x10', true, null, [], {}];
  if (depth > 4 || random(3) === 0) return atoms[random(atoms.length)];
  if (random(3) === 0) return Array.from({ length: random(4) }, () => randomJson(random, depth + 1));
  const keys = ['name', 'type', 'offset', 'count', 'fields', 'regions', 'types', 'size', 'stride', 'enum', 'flags', 'endian', 'color', 'packed', 'id', 'm', 'params', 'body', 'ok', 'code', 'role', 'bytes', 'length', 'pattern', 'from', 'preview'];
  const o: Record<string, unknown> = {};
  for (let i = random(6); i > 0; i--) o[keys[random(keys.length)]!] = randomJson(random, depth + 1);
  return o;
}

function mutateText(text: string, random: (n: number) => number): string {
  let t = text;
  for (let i = 1 + random(6); i > 0; i--) {
    const at = random(t.length);
    const op = random(5);
    if (op === 0) t = t.slice(0, at) + t.slice(at + 1 + random(20));
    else if (op === 1) t = t.slice(0, at) + '{}[]",:0123456789-x'[random(19)] + t.slice(at);
    else if (op === 2) t = t.replace(/"u32"/, ['"u33"', '"u64"', '"char[99999999]"', '"slot"', '"header"', '"toString"', '"__proto__"', '"constructor"'][random(8)]!);
    else if (op === 3) t = t.replace(/: (\d+)/, `: ${['-1', '1e30', '99999999999999', '"0x100000000000000"', '0'][random(5)]}`);
    else t = t.replace(/"count": 64/, `"count": ${['0', '4294967297', '-64', '1000000000'][random(4)]}`);
  }
  return t;
}

/**
 * Recomputes the checksums of a mutated recording (header and every record whose length still fits),
 * so that mutations reach the checks behind the CRCs: the numbers, the runs, the rules between records.
 */
function resealRecording(b: Buffer): void {
  if (b.length < 72) return;
  const headerLength = b.readUInt32LE(12);
  if (headerLength < 72 || headerLength > b.length) return;
  b.writeUInt32LE(0, 68);
  b.writeUInt32LE(crc32(b.subarray(0, headerLength)), 68);
  for (let at = headerLength; at + 24 <= b.length; ) {
    const length = b.readUInt32LE(at);
    if (length < 24 || at + length > b.length) return;
    b.writeUInt32LE(recordCrc(b.subarray(at, at + length)), at + 4);
    at += length;
  }
}

let tinyBase: Buffer | undefined;

export const TARGETS: FuzzTarget[] = [
  {
    name: 'snapshot header',
    make: (random) => Array.from(mutateBytes(validHeaders[random(validHeaders.length)]!, random)),
    run: (input) => {
      const b = Buffer.from(input as number[]);
      decodeHeader(b, b.length + 200_000);
    },
    expected: (e) => e instanceof FormatError && !e.message.includes('\n'),
  },
  {
    name: 'recording file',
    make: (random) => {
      const b = mutateBytes((tinyBase ??= tinyRecording()), random);
      if (random(3) > 0) resealRecording(b);
      return Array.from(b);
    },
    run: (input) => {
      // Opening scans and checks everything; what it accepted must then read without surprises.
      const file = RecordingFile.fromBytes(Buffer.from(input as number[]));
      const s = file.summary();
      if (s.readableBytes > s.fileBytes || (s.tail === undefined) !== (s.readableBytes === s.fileBytes)) throw new Error(`readable ${s.readableBytes} of ${s.fileBytes}, tail ${JSON.stringify(s.tail)}`);
      if (file.index.keyframes.length === 0) return;
      const { rangeOffset: o, rangeLength: n } = file.header;
      for (const t of [0, s.durationMs / 2, Infinity]) if (file.stateAt(t).bytes.length !== n) throw new Error('a state of the wrong length');
      file.stateAt(s.durationMs, { offset: o + 1, length: Math.max(0, n - 2) });
      const tl = new Timeline(file);
      for (const c of tl.history({ offset: o, length: n })) if (c.after.length !== n) throw new Error('a history step of the wrong length');
      tl.changes({ offset: o, length: 1 });
      tl.events();
      tl.heat([{ offset: o, length: n }]);
      tl.density(0, s.durationMs + 1, 4);
    },
    expected: (e) => e instanceof InputError && !e.message.includes('\n'),
  },
  {
    name: 'layout checker',
    make: (random) => (random(4) === 0 ? JSON.stringify(randomJson(random)) : mutateText(LAYOUT, random)),
    run: (input) => {
      const r = compileLayout(input as string);
      // Problems are values: a bad layout never throws, and each problem has a place.
      for (const p of r.problems) if (!(p.line >= 1 && p.column >= 1 && p.message && !p.message.includes('\n'))) throw new Error(`a problem without a place: ${JSON.stringify(p)}`);
      if (!r.layout && r.problems.length === 0) throw new Error('neither a layout nor a problem');
      // A layout that compiled has every number known: no NaN, no fraction, nothing negative.
      const whole = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
      const checkStruct = (st: StructType, depth: number): void => {
        if (!whole(st.size) || !whole(st.align) || depth > 20) throw new Error(`struct ${st.name} has size ${st.size}, align ${st.align}`);
        for (const f of st.fields) {
          if (!whole(f.offset) || !whole(f.count) || !whole(f.stride) || !whole(f.type.size)) throw new Error(`field ${f.name} has offset ${f.offset}, count ${f.count}, stride ${f.stride}, size ${f.type.size}`);
          if (f.type.kind === 'struct') checkStruct(f.type, depth + 1);
        }
      };
      for (const g of r.layout?.regions ?? []) {
        if (!whole(g.offset) || !whole(g.size) || !whole(g.stride) || !whole(g.count)) throw new Error(`region ${g.name} has offset ${g.offset}, size ${g.size}`);
        checkStruct(g.struct, 0);
      }
    },
    expected: () => false,
  },
  {
    name: 'ivshmem stream (client)',
    make: (random) => {
      const steps: { bytes: number[]; fds: number }[] = [];
      for (let i = random(12); i >= 0; i--) {
        const n = random(5) === 0 ? random(20) : 8 * (1 + random(3));
        const bytes = Array.from({ length: n }, () => random(256));
        if (random(3) === 0 && n >= 8) bytes.splice(0, 8, ...Array.from(Buffer.from(new BigInt64Array([BigInt(random(5) - 1)]).buffer)));
        steps.push({ bytes, fds: random(4) === 0 ? random(3) : 0 });
      }
      return steps;
    },
    run: (input) => {
      const p = new ClientProtocol();
      let fd = 100;
      const given: number[] = [];
      const back: number[] = [];
      for (const step of input as { bytes: number[]; fds: number }[]) {
        const fds = Array.from({ length: step.fds }, () => fd++);
        given.push(...fds);
        const r = p.push(Uint8Array.from(step.bytes), fds);
        for (const e of r.events) if ('fd' in e) back.push(e.fd);
        back.push(...r.orphanFds);
        if (r.error && !(r.error instanceof ProtocolError)) throw r.error;
      }
      if (back.sort().join() !== given.sort().join()) throw new Error('an fd was lost or returned twice');
    },
    expected: () => false,
  },
  {
    name: 'agent messages',
    make: (random) => randomJson(random),
    run: (input) => {
      for (const check of [checkForServer, checkForClient]) {
        try {
          check(agentProtocol, input);
        } catch (e) {
          if (!(e instanceof MessageError)) throw e;
        }
      }
    },
    expected: () => false,
  },
  {
    name: 'webview messages (host side)',
    make: (random) => {
      const m = randomJson(random) as Record<string, unknown>;
      if (m && typeof m === 'object' && random(2)) m.m = ['request', 'note', 'cancel', 'reply'][random(4)];
      if (m && typeof m === 'object' && random(2)) m.type = ['ready', 'viewport', 'read', 'write', 'search', 'describe', 'pair', 'reveal', 'apply', 'cancel'][random(10)];
      const body = { offset: random(3) ? random(1 << 20) : -1, length: random(3) ? random(4096) : 2 ** 40, side: ['a', 'b', 'c'][random(3)], role: ['master', 'peer', 'x'][random(3)], preview: random(3) };
      if (m && typeof m === 'object' && random(2)) m[random(2) ? 'params' : 'body'] = body;
      if (m && typeof m === 'object' && random(2)) m.id = random(3);
      return m;
    },
    run: (input) => {
      for (const protocol of [hexProtocol, diffProtocol, reportProtocol]) {
        try {
          checkForServer(protocol, input);
        } catch (e) {
          if (!(e instanceof MessageError)) throw e;
        }
      }
    },
    expected: () => false,
  },
];

export interface FuzzOutcome {
  target: string;
  cases: number;
  rejected: number;
  failures: { seed: number; index: number; error: string }[];
}

/** Runs `count` cases of a target (or until `deadline`); failures are saved as regression files. */
export function fuzz(target: FuzzTarget, seed: number, count: number, deadline = Infinity, save = false): FuzzOutcome {
  const random = rng(seed);
  const out: FuzzOutcome = { target: target.name, cases: 0, rejected: 0, failures: [] };
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const input = target.make(random);
    out.cases++;
    try {
      target.run(input);
    } catch (err) {
      if (target.expected(err)) {
        out.rejected++;
        continue;
      }
      const error = (err as Error)?.stack ?? String(err);
      out.failures.push({ seed, index: i, error: error.split('\n')[0]! });
      if (save) {
        fs.mkdirSync(REGRESSIONS, { recursive: true });
        const file = path.join(REGRESSIONS, `${target.name.replace(/\W+/g, '-')}-${seed}-${i}.json`);
        fs.writeFileSync(file, JSON.stringify({ target: target.name, seed, index: i, error: error.split('\n')[0], input }, null, 2));
      }
    }
  }
  return out;
}
