import { formatBytes, hex } from '../../core/numbers';
import { RecordingFile, type RecordingSummary } from '../../core/record/reader';
import type { RecordResult } from '../../core/record/recorder';
import type { RecordingHeader } from '../../core/record/header';
import type { StopReason } from '../../core/record/records';

const STOPPED: Record<StopReason, string> = {
  stopped: 'stopped (Ctrl-C, SIGTERM or SIGHUP)',
  duration: 'stopped after --duration',
  'max-size': 'stopped at --max-size',
  'source-lost': 'stopped: the source went away',
  detached: 'stopped: the recorder was told to stop',
};

/** How a recording ended, in words (its end record, or why there is none). */
export function endText(s: RecordingSummary): string {
  if (!s.end) return 'no end record: the recorder was killed, or is still recording (everything up to its last whole record is kept)';
  return `${STOPPED[s.end.reason]}${s.end.message ? ` (${s.end.message})` : ''}`;
}

/** The facts `info` prints about a recording, as a JSON-able object. */
export function recordingFacts(path: string, h: RecordingHeader, s: RecordingSummary): Record<string, unknown> {
  return {
    kind: 'recording',
    formatVersion: h.version,
    path,
    source: h.source,
    peerId: h.peerId ?? null,
    segmentSize: h.segmentSize,
    offset: h.rangeOffset,
    length: h.rangeLength,
    started: new Date(h.startTime).toISOString(),
    durationMs: s.durationMs,
    intervalMs: h.intervalMs,
    samples: s.samples,
    changeSamples: s.changeSamples,
    changedBytes: s.changedBytes,
    missedTicks: s.missedTicks,
    keyframes: s.keyframes,
    events: s.events,
    embeddedLayoutBytes: h.layout === undefined ? 0 : Buffer.byteLength(h.layout),
    fileBytes: s.fileBytes,
    firstStateBytes: s.firstStateBytes,
    readableBytes: s.readableBytes,
    ended: s.end ? { reason: s.end.reason, message: s.end.message } : null,
    ignoredTail: s.tail ?? null,
  };
}

/** `info FILE.shmrec` as lines. */
export function recordingLines(path: string, h: RecordingHeader, s: RecordingSummary): string[] {
  const lines = [
    `file:         ${path}`,
    `kind:         recording (.shmrec, format version ${h.version})`,
    `source:       ${h.source}${h.peerId === undefined ? '' : `, as peer ${h.peerId}`}`,
    `recorded:     ${hex(h.rangeOffset)}..${hex(h.rangeOffset + h.rangeLength)} (${formatBytes(h.rangeLength)}) of a ${formatBytes(h.segmentSize)} segment`,
    `started:      ${new Date(h.startTime).toISOString()}`,
    `duration:     ${(s.durationMs / 1000).toFixed(3)} s`,
    `interval:     ${h.intervalMs} ms (changes between two samples collapse into one)`,
    `samples:      ${s.samples} (${s.changeSamples} with changes; ${s.changedBytes} bytes changed)`,
    `missed ticks: ${s.missedTicks}`,
    `keyframes:    ${s.keyframes}`,
    `events:       ${s.events}`,
    `layout:       ${h.layout === undefined ? 'none' : `embedded (${Buffer.byteLength(h.layout)} bytes)`}`,
    `size on disk: ${s.fileBytes} bytes (${formatBytes(s.fileBytes)}; the first state ${formatBytes(s.firstStateBytes)}, zero chunks not written)`,
    `ended:        ${endText(s)}`,
  ];
  if (s.tail) lines.push(`torn tail:    ${s.tail.bytes} bytes from offset ${s.tail.offset} ignored (${s.tail.reason})`);
  return lines;
}

/** What `record` says when it is done: read back from the file, so it says what the file holds. */
export function describeRecording(path: string, result: RecordResult | undefined): string {
  let file: RecordingFile;
  try {
    file = RecordingFile.open(path);
  } catch (err) {
    return `the recording ${path} cannot be read back: ${(err as Error).message}\n`;
  }
  try {
    const s = file.summary();
    const lines = [
      `recorded ${path}: ${(s.durationMs / 1000).toFixed(2)} s, ${s.samples} samples every ${file.header.intervalMs} ms (${s.changeSamples} with changes, ${s.changedBytes} bytes changed), ${s.keyframes} keyframe(s), ${formatBytes(s.fileBytes)}`,
      s.missedTicks === 0
        ? `missed ticks: none${result ? ` (the slowest sample took ${result.slowestSampleMs.toFixed(1)} ms of the ${file.header.intervalMs} ms interval)` : ''}`
        : `missed ticks: ${s.missedTicks} (the recorder was late by a whole interval or more: what changed meanwhile shows in the next sample)${whyMissed(file.header.intervalMs, result)}`,
      endText(s),
    ];
    if (result?.reason === 'max-size') lines.push('note: the file reached --max-size; the recording is complete up to then');
    if (s.tail) lines.push(`note: ${s.tail.bytes} bytes after the last whole record were ignored (${s.tail.reason})`);
    return `${lines.join('\n')}\n`;
  } finally {
    file.close();
  }
}

/** Why ticks were missed, from the slowest sample against the interval. */
function whyMissed(intervalMs: number, result: RecordResult | undefined): string {
  if (!result) return '';
  const slowest = result.slowestSampleMs.toFixed(1);
  return result.slowestSampleMs < intervalMs
    ? `; the slowest sample took ${slowest} ms of the ${intervalMs} ms interval: the machine was busy`
    : `; a sample took up to ${slowest} ms, more than the ${intervalMs} ms interval: record less (--offset, --length) or less often (--interval)`;
}
