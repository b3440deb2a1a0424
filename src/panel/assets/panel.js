/* global document, window, EventSource, fetch, CSS, HTMLElement */
// The lane panel's page: draws the state the panel server sends on /events, in place (the page
// never reloads), counts time left down each second, and takes actions after a confirmation.

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const token = document.querySelector('meta[name="termshare-csrf"]')?.getAttribute('content') ?? '';
const lanesEl = byId('lanes');
const serviceEl = byId('service');
const announceEl = byId('announce');
const dialog = /** @type {HTMLDialogElement} */ (byId('confirm'));
const input = /** @type {HTMLInputElement} */ (byId('confirm-input'));

/** @type {any} */
let state = null;
/** Server clock minus ours, so time left is the server's. */
let skewMs = 0;
/** Links the operator asked to see, by share id; never part of the state the server pushes. */
const links = new Map();

/** @param {string} text */
function announce(text) {
  announceEl.textContent = '';
  // A fresh text node each time, so the same words are read out again.
  window.setTimeout(() => (announceEl.textContent = text), 50);
}

/** @param {string | undefined} iso */
function left(iso) {
  if (!iso) return '–';
  const s = Math.round((Date.parse(iso) - (Date.now() + skewMs)) / 1000);
  if (s <= 0) return 'now';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** @param {[string, Node | string][]} pairs */
function facts(pairs) {
  return el('dl', {}, pairs.map(([k, v]) => el('div', {}, [el('dt', {}, [k]), el('dd', {}, [v])])));
}

/**
 * @param {string} label
 * @param {string} name accessible name (starts with the visible label)
 * @param {() => void} onClick
 * @param {string} [cls]
 */
function button(label, name, onClick, cls = '') {
  const b = el('button', { type: 'button', 'aria-label': name, 'data-key': name, ...(cls ? { class: cls } : {}) }, [label]);
  b.addEventListener('click', onClick);
  return b;
}

/**
 * Asks before acting. Resolves to the field's value (or '' without a field), or null when cancelled.
 * @param {{ title: string, text: string, go: string, field?: { label: string, value: string, type: string, min?: string } }} q
 * @returns {Promise<string | null>}
 */
function confirmWith(q) {
  byId('confirm-title').textContent = q.title;
  byId('confirm-text').textContent = q.text;
  byId('confirm-go').textContent = q.go;
  const field = byId('confirm-field');
  field.hidden = !q.field;
  input.required = !!q.field && q.field.type === 'number';
  if (q.field) {
    byId('confirm-label').textContent = q.field.label;
    input.type = q.field.type;
    input.value = q.field.value;
    if (q.field.min) input.min = q.field.min;
    else input.removeAttribute('min');
  }
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        if (opener instanceof HTMLElement) opener.focus();
        resolve(dialog.returnValue === 'confirm' ? (q.field ? input.value : '') : null);
      },
      { once: true },
    );
    dialog.returnValue = '';
    dialog.showModal();
  });
}

/** @param {Record<string, unknown>} body */
async function act(body) {
  let result;
  try {
    const res = await fetch('/api/actions', { method: 'POST', headers: { 'content-type': 'application/json', 'x-termshare-csrf': token }, body: JSON.stringify(body) });
    result = await res.json();
  } catch (e) {
    result = { ok: false, code: 'unreachable', message: `the panel did not answer: ${String(e)}` };
  }
  announce(result.ok ? `Done: ${result.message}` : `Refused (${result.code}): ${result.message}`);
  return result;
}

/** @param {any} s a share of a lane @param {string} terminal */
function shareItem(s, terminal) {
  const id = s.shareId;
  const item = el('li', { class: 'item', 'data-share': id }, [
    el('h3', {}, [el('code', {}, [id])]),
    facts([
      ['state', s.state],
      ['backend', s.backend],
      ['access', s.access],
      ['time left', el('span', { class: 'left', ...(s.expiresAt ? { 'data-expires': s.expiresAt } : {}) }, [left(s.expiresAt)])],
      ['participants', String(s.participants)],
    ]),
  ]);
  const actions = el('div', { class: 'actions' });
  if (s.state !== 'awaiting-approval') {
    actions.append(
      button('Extend', `Extend ${id}`, async () => {
        const v = await confirmWith({ title: `Extend ${id}?`, text: `The share of ${terminal} will end this many seconds from now.`, go: 'Extend', field: { label: 'Seconds from now', value: '1800', type: 'number', min: '1' } });
        if (v !== null) await act({ action: 'extend', shareId: id, ttlSeconds: Number(v) });
      }),
      button('Revoke', `Revoke ${id}`, async () => {
        const v = await confirmWith({ title: `Revoke ${id}?`, text: `Every participant of ${terminal}'s share is disconnected now.`, go: 'Revoke', field: { label: 'Reason (optional)', value: '', type: 'text' } });
        if (v !== null) await act({ action: 'revoke', shareId: id, ...(v ? { reason: v } : {}) });
      }, 'danger'),
    );
  }
  actions.append(
    button('Stop', `Stop ${id}`, async () => {
      const v = await confirmWith({ title: `Stop ${id}?`, text: `The share of ${terminal} ends now.`, go: 'Stop' });
      if (v !== null) await act({ action: 'stop', shareId: id });
    }, 'danger'),
  );
  if (s.state === 'active' || s.state === 'expiring') {
    actions.append(
      button('Show link', `Show link of ${id}`, async () => {
        const r = await act({ action: 'link', shareId: id });
        if (r.ok) {
          links.set(id, r.link);
          render();
        }
      }),
    );
  }
  item.append(actions);
  if (links.has(id)) item.append(el('p', { class: 'link' }, ['Link: ', el('code', { 'data-link': id }, [links.get(id)])]));
  return item;
}

/** @param {any} a a pending approval */
function approvalItem(a) {
  const id = a.id;
  const what = a.shareId ? `share ${a.shareId}` : `handoff ${a.handoffId}`;
  const who = `${a.requester.kind}:${a.requester.id}`;
  return el('li', { class: 'item', 'data-approval': id }, [
    el('h3', {}, ['Approval ', el('code', {}, [id])]),
    facts([
      ['asks', `${who}, for ${what}`],
      ['needs', `${a.requirement.approvals} from ${a.requirement.approvers.join(', ')}`],
      ['decide within', el('span', { class: 'left', 'data-expires': a.expiresAt }, [left(a.expiresAt)])],
    ]),
    el('div', { class: 'actions' }, [
      button('Approve', `Approve ${id}`, async () => {
        const v = await confirmWith({ title: `Approve ${id}?`, text: `${who} asks for ${what} on ${a.terminal}. Approving starts it.`, go: 'Approve', field: { label: 'Comment (optional)', value: '', type: 'text' } });
        if (v !== null) await act({ action: 'approve', approvalId: id, ...(v ? { comment: v } : {}) });
      }),
      button('Reject', `Reject ${id}`, async () => {
        const v = await confirmWith({ title: `Reject ${id}?`, text: `${who} asks for ${what} on ${a.terminal}. Rejecting starts nothing.`, go: 'Reject', field: { label: 'Comment (optional)', value: '', type: 'text' } });
        if (v !== null) await act({ action: 'reject', approvalId: id, ...(v ? { comment: v } : {}) });
      }, 'danger'),
    ]),
  ]);
}

/** @param {any} lane */
function laneEl(lane) {
  const title = `lane-${lane.terminal.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  const items = el('ul', { class: 'items' }, [...lane.approvals.map(approvalItem), ...lane.shares.map((/** @type {any} */ s) => shareItem(s, lane.terminal))]);
  const section = el('section', { class: 'lane', 'data-terminal': lane.terminal, 'aria-labelledby': title }, [
    el('div', { class: 'lane-head' }, [
      el('h3', { id: title }, [lane.terminal]),
      ...lane.badges.map((/** @type {any} */ b) => el('span', { class: `badge ${b.kind}`, 'data-badge': b.kind }, [b.text])),
    ]),
  ]);
  if (lane.lease) section.append(el('p', { 'data-lease': lane.lease.handoffId }, [`Input held by ${lane.lease.to} (handoff ${lane.lease.handoffId}).`]));
  section.append(items);
  return section;
}

function render() {
  if (!state) return;
  const up = state.service === 'up';
  serviceEl.className = up ? 'service' : 'service down';
  serviceEl.textContent = up ? `Connected: ${state.lanes.length} lane(s).` : `No service: ${state.problem}`;
  const focused = document.activeElement?.getAttribute('data-key');
  lanesEl.replaceChildren(...(state.lanes.length ? state.lanes.map(laneEl) : [el('p', { class: 'empty' }, [up ? 'No terminal is shared right now.' : 'Nothing to show until a service answers.'])]));
  if (focused) /** @type {HTMLElement | null} */ (lanesEl.querySelector(`[data-key="${CSS.escape(focused)}"]`))?.focus();
}

/** @param {any} before @param {any} after */
function changes(before, after) {
  if (!before) return;
  if (before.service !== after.service) return announce(after.service === 'up' ? 'The service answers again.' : `No service: ${after.problem}`);
  const old = new Map();
  for (const l of before.lanes) for (const s of l.shares) old.set(s.shareId, s.state);
  const seen = new Set();
  const said = [];
  for (const l of after.lanes) {
    for (const s of l.shares) {
      seen.add(s.shareId);
      if (old.get(s.shareId) !== s.state) said.push(`${s.shareId} on ${l.terminal}: ${s.state}`);
    }
  }
  for (const id of old.keys()) if (!seen.has(id)) said.push(`${id} ended`);
  if (said.length) announce(said.join('; '));
}

function tick() {
  for (const e of lanesEl.querySelectorAll('[data-expires]')) e.textContent = left(e.getAttribute('data-expires') ?? undefined);
}

const source = new EventSource('/events');
source.addEventListener('state', (ev) => {
  const next = JSON.parse(/** @type {MessageEvent} */ (ev).data);
  skewMs = Date.parse(next.now) - Date.now();
  for (const id of links.keys()) if (!next.lanes.some((/** @type {any} */ l) => l.shares.some((/** @type {any} */ s) => s.shareId === id))) links.delete(id);
  changes(state, next);
  state = next;
  render();
});
source.addEventListener('error', () => {
  serviceEl.className = 'service down';
  serviceEl.textContent = 'The panel server does not answer; retrying…';
});
window.setInterval(tick, 1000);
