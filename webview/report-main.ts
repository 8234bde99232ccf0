/**
 * The reconnect report: what changed since the disconnect on the guest's side and in the segment,
 * and, range by range and field by field, what role=master and role=peer keep and throw away.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import { Client } from '../shared/messenger';
import { toExtension } from './extension-link';
import { reportProtocol, type Kind, type ReconnectModel } from './report-protocol';
import { el } from './dom';


const KIND: Record<Kind, { label: string; master: string; peer: string }> = {
  local: { label: 'changed by the guest only', master: 'kept (written back)', peer: 'discarded' },
  remote: { label: 'changed in the segment only', master: 'lost (overwritten)', peer: 'kept' },
  both: { label: 'changed on both sides, the same', master: 'kept', peer: 'kept' },
  conflict: { label: 'changed on both sides differently', master: "guest's kept, segment's lost", peer: "segment's kept, guest's discarded" },
};

function render(m: ReconnectModel): void {
  const app = document.getElementById('app')!;
  const head = el('header');
  head.append(el('h1', undefined, `Reconnect ${m.source}`), el('div', 'cause', `${m.cause}.`));
  // An Apply was refused because this is not what the user saw: say why, and show what is now.
  if (m.changed) head.append(el('div', 'changed', `Not applied: ${m.changed}. This is the new preview; apply again if it is what you want.`));
  document.body.dataset.preview = String(m.preview);
  const counts = el('table', 'counts');
  for (const kind of ['local', 'remote', 'both', 'conflict'] as const) {
    const tr = el('tr', `kind-${kind}`);
    tr.append(el('td', 'n', String(m.bytes[kind])), el('td', undefined, `byte(s) ${KIND[kind].label}`));
    counts.append(tr);
  }
  const roles = el('div', 'roles');
  const master = el('section', 'role');
  master.append(el('h2', undefined, 'role=master'), el('p', undefined, `The guest's copy wins: ${m.master.writeBytes} byte(s) are written back into the segment; ${m.master.lostBytes} byte(s) of the segment's changes are lost.`));
  const peer = el('section', 'role');
  peer.append(el('h2', undefined, 'role=peer'), el('p', undefined, `The segment wins: nothing is written; ${m.peer.lostBytes} byte(s) of the guest's changes are discarded, and the segment's contents appear all at once.`));
  roles.append(master, peer);
  const buttons = el('div', 'buttons');
  if (!m.result) {
    const bm = el('vscode-button', undefined, 'Apply role=master');
    bm.id = 'apply-master';
    bm.addEventListener('click', () => host.notify('apply', { role: 'master', preview: m.preview }));
    const bp = el('vscode-button', undefined, 'Apply role=peer');
    bp.id = 'apply-peer';
    bp.addEventListener('click', () => host.notify('apply', { role: 'peer', preview: m.preview }));
    const cancel = el('vscode-button', undefined, 'Cancel (stay disconnected)');
    cancel.id = 'cancel';
    cancel.setAttribute('secondary', '');
    cancel.addEventListener('click', () => host.notify('cancel', {}));
    buttons.append(bm, bp, cancel);
  } else {
    const r = m.result;
    const text =
      r.role === 'master'
        ? `Applied role=master: ${r.written} range(s) written back, ${r.verified ? 'read back and verified' : 'NOT verified'}.${r.error ? ` Stopped: ${r.error}` : ''}`
        : `Applied role=peer: ${r.discardedBytes} byte(s) of the guest's changes were discarded; the segment was not written.`;
    buttons.append(el('div', r.error ? 'result error' : 'result', text));
  }
  const ranges = el('table', 'ranges');
  const hr = el('tr');
  for (const h of ['offset', 'bytes', 'what happened', 'role=master', 'role=peer']) hr.append(el('th', undefined, h));
  ranges.append(hr);
  for (const r of m.ranges.slice(0, 2000)) {
    const tr = el('tr', `kind-${r.kind}`);
    tr.append(el('td', 'off', `0x${r.offset.toString(16)}`), el('td', undefined, String(r.length)), el('td', undefined, KIND[r.kind].label), el('td', undefined, KIND[r.kind].master), el('td', undefined, KIND[r.kind].peer));
    ranges.append(tr);
  }
  const parts: HTMLElement[] = [head, counts, roles, buttons, el('h2', undefined, 'Changed ranges'), ranges];
  if (m.ranges.length > 2000 || m.truncated) parts.push(el('p', undefined, 'More ranges not listed.'));
  if (m.fields.length > 0) {
    const fields = el('table', 'fields');
    const fh = el('tr');
    for (const h of ['field', 'at disconnect', 'guest copy', 'segment now', 'role=master keeps', 'role=peer keeps']) fh.append(el('th', undefined, h));
    fields.append(fh);
    for (const f of m.fields) {
      const tr = el('tr', `kind-${f.kind}`);
      tr.append(el('td', undefined, f.field), el('td', undefined, f.base), el('td', undefined, f.local), el('td', undefined, f.remote), el('td', undefined, f.local), el('td', undefined, f.remote));
      fields.append(tr);
    }
    parts.push(el('h2', undefined, 'By field'), fields);
  }
  app.replaceChildren(...parts);
}

const host = new Client(reportProtocol, toExtension, { model: render });
window.addEventListener('message', (e: MessageEvent<unknown>) => host.receive(e.data));
host.notify('ready', {});
