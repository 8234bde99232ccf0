/** Start and Stop Recording, and the timeline's commands, inside the real extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RecordingFile } from '../../../core/record/reader';
import { Timeline } from '../../../core/record/timeline';
import type { RecordResult } from '../../../core/record/recorder';
import type { Session } from '../../../extension/session';
import type { Position } from '../../../webview/timeline-protocol';
import type { DiffModel } from '../../../webview/diff-protocol';
import { waitForRecorded } from '../../helpers/recording';
import { test } from '../runner/harness';
import { api, eventually, productVscode, watchPanels, type PagePanel } from '../runner/in-host';

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Records the texts of non-modal notifications while `body` runs (the product's Log.offer, on the product's own vscode object). */
async function notices<T>(body: (seen: string[]) => Promise<T>): Promise<T> {
  const window = productVscode().window as unknown as Record<'showInformationMessage' | 'showWarningMessage', (...args: unknown[]) => Thenable<unknown>>;
  const originals = { info: window.showInformationMessage, warn: window.showWarningMessage };
  const seen: string[] = [];
  window.showInformationMessage = (m: unknown, ...rest: unknown[]) => (seen.push(String(m)), originals.info(m, ...rest));
  window.showWarningMessage = (m: unknown, ...rest: unknown[]) => (seen.push(String(m)), originals.warn(m, ...rest));
  try {
    return await body(seen);
  } finally {
    window.showInformationMessage = originals.info;
    window.showWarningMessage = originals.warn;
  }
}

test('Start Recording, the status bar with its size, Stop Recording: the file holds every value written, in order', async () => {
  const a = await api();
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'shmem-host-rec-'));
  try {
    const file = path.join(dir, 'seg');
    fs.writeFileSync(file, Buffer.alloc(65536));
    const session = (await vscode.commands.executeCommand('shmemInspector.attachFile', file)) as Session;
    // Never into the source itself (a target given by code is never replaced either).
    assert.equal(await vscode.commands.executeCommand('shmemInspector.startRecording', session, file), undefined);
    assert.equal(a.recordingStatus, undefined);
    const target = path.join(dir, 'run.shmrec');
    const started = (await vscode.commands.executeCommand('shmemInspector.startRecording', session, target)) as { target: string; range: { offset: number; length: number } };
    assert.equal(started.target, target);
    assert.deepEqual(started.range, { offset: 0, length: 65536 });
    assert.match(a.recordingStatus ?? '', /^\$\(record\) REC run\.shmrec · \d/);
    // A second recording of the same session is refused.
    assert.equal(await vscode.commands.executeCommand('shmemInspector.startRecording', session, path.join(dir, 'other.shmrec')), undefined);
    const fd = fs.openSync(file, 'r+');
    const times: number[] = [];
    for (let k = 1; k <= 5; k++) {
      fs.writeSync(fd, u32(k * 1000), 0, 4, 8);
      times.push(await waitForRecorded(target, 8, u32(k * 1000)));
    }
    fs.closeSync(fd);
    // The status bar's size grows with the file (the agent's figures, about once a second).
    // (A segment of zeros is recorded as holes: the file holds the header and what changed.)
    const size = (text: string | undefined): number => {
      const m = /· ([\d.]+) (bytes?|KiB)$/.exec(text ?? '');
      return m ? Number(m[1]) * (m[2] === 'KiB' ? 1024 : 1) : NaN;
    };
    const first = size(a.recordingStatus);
    assert.ok(first > 0, a.recordingStatus);
    await eventually(() => size(a.recordingStatus) > first, 'the status bar showing the file grown', 5000);
    const result = (await vscode.commands.executeCommand('shmemInspector.stopRecording', session)) as RecordResult;
    assert.equal(result.reason, 'stopped');
    assert.equal(result.path, target);
    assert.equal(a.recordingStatus, undefined);

    // The file, read by core's reader: the five values, in order, at the times they were seen.
    const rec = RecordingFile.open(target);
    try {
      assert.equal(rec.summary().end?.reason, 'stopped');
      const history = [...new Timeline(rec).history({ offset: 8, length: 4 })];
      assert.deepEqual(history.map((h) => Buffer.from(h.after).readUInt32LE()), [1000, 2000, 3000, 4000, 5000]);
      assert.deepEqual(history.map((h) => h.timeMs), times);
    } finally {
      rec.close();
    }

    // Detaching a session that records ends the file in order, and says where it is.
    const second = path.join(dir, 'detached.shmrec');
    await vscode.commands.executeCommand('shmemInspector.startRecording', session, second);
    const seen = await notices(async (texts) => {
      await vscode.commands.executeCommand('shmemInspector.detach', session);
      return eventually(() => texts.find((t) => t.includes('detached.shmrec')), 'the notice of the ended recording');
    });
    assert.match(seen.replace(/\u2060/g, ''), /Recording (ended: the session was detached|ended \(.*\))/);
    assert.ok(seen.replace(/\u2060/g, '').includes(second), seen);
    assert.equal(a.recordingStatus, undefined);
    const after = RecordingFile.open(second);
    try {
      assert.equal(after.summary().tail, undefined, 'the file ends on a whole record');
      assert.ok(after.summary().samples >= 1);
    } finally {
      after.close();
    }

    // The first recording in the timeline editor: a session of kind recording, with its hex view.
    const watch = watchPanels();
    try {
      await vscode.commands.executeCommand('shmemInspector.openRecording', target);
      const replay = await eventually(() => a.sessions.find((s) => s.remote.source === target), 'the recording session', 20_000);
      assert.equal(replay.view().kind, 'recording');
      // The timeline opens the hex view beside it once its page is up (the browser tier sees that);
      // where the browser has not loaded that page yet, open it as a user would (the Sessions view).
      const hexView = (): PagePanel | undefined => watch.panels.find((p) => p.viewType === 'shmemInspector.hexView');
      if (!(await eventually(hexView, 'its hex view', 5000).catch(() => undefined))) await vscode.commands.executeCommand('shmemInspector.openView', replay);
      const hex = await eventually(hexView, 'its hex view');
      // Play the page's part if the browser has not loaded it yet (its notes follow 'ready').
      await new Promise((r) => setTimeout(r, 500));
      if (hex.posted.length === 0) hex.send({ m: 'note', type: 'ready', body: {} });
      // Go to Time: the session's bytes are those of the third value, and that step's bytes are marked in the hex view.
      const p = (await vscode.commands.executeCommand('shmemInspector.goToTime', replay, times[2]! + 0.5)) as Position;
      assert.equal(p.timeMs, times[2]);
      assert.equal(Buffer.from(await replay.remote.read(8, 4)).readUInt32LE(), 3000);
      await eventually(() => JSON.stringify(hex.lastNote<{ ranges: unknown[] }>('marks')?.ranges) === JSON.stringify([{ offset: 8, length: 2 }]), 'the step marked in the hex view').catch((err: Error) => {
        throw new Error(`${err.message}: it got ${JSON.stringify(hex.posted.map((m) => (m as { type?: string }).type))}, marks ${JSON.stringify(hex.lastNote('marks'))}`);
      });
      // The recording's heat: the slice holding offset 8 changed in five samples.
      await eventually(() => hex.lastNote<{ counts: number[]; of: string }>('heat')?.counts[0] === 5, 'the heat of the recording');
      assert.equal(hex.lastNote<{ of: string }>('heat')?.of, 'recording');
      // Compare Two Moments: the diff between the first and the fourth value.
      const diff = (await vscode.commands.executeCommand('shmemInspector.compareMoments', replay, 0, times[3])) as DiffModel;
      assert.deepEqual(diff.ranges, [{ offset: 8, length: 2 }]);
      assert.match(diff.a.source, /run at 0\.000 ms\.shmsnap$/);
    } finally {
      watch.stop();
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await eventually(() => !a.sessions.some((s) => s.remote.source === target), 'the recording session to end with its editor');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
