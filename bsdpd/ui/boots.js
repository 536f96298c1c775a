// SPDX-License-Identifier: MIT
// Boots: the boot events (docs/api.md "Event kinds") folded into one
// timeline per boot, per machine, and drawn live.
//
// A boot runs through stages in order (a Mac: BSDP LIST, SELECT; a PC:
// the firmware's PXE offer; then both: the booter by TFTP, iPXE's proxy
// offer, the script, the kernel and initrds or a chained binary).  An
// event of an earlier stage than one already reached starts a new boot,
// as does one after a long silence; repeats of a stage (a second PXE
// offer for the 4011 REQUEST, several initrds) fold into it.

import { h, replace, clear, fmtBytes, fmtRate, fmtDuration, fmtAgo, fmtClock,
  parseTime, badge, pageHeader, notice } from './dom.js';
import { state, subscribe, machineLabel } from './state.js';

export const STAGES = {
  list:   { rank: 0, label: 'BSDP LIST' },
  select: { rank: 1, label: 'BSDP SELECT' },
  pxe:    { rank: 2, label: 'PXE offer' },
  booter: { rank: 3, label: 'Booter (TFTP)' },
  ipxe:   { rank: 4, label: 'iPXE offer' },
  script: { rank: 5, label: 'Script' },
  kernel: { rank: 6, label: 'Kernel' },
  chain:  { rank: 6, label: 'Chain' },
  initrd: { rank: 7, label: 'Initrd' },
};
const DONE_RANK = 8;
const NEW_BOOT_GAP_MS = 10 * 60 * 1000; // silence this long: the next event is a new boot
export const STALL_MS = 90 * 1000;      // no event this long after a non-final stage: stopped
const BOOTS_PER_MACHINE = 5;
const EVENTS_PER_BOOT = 200;
const TRANSFER_STALE_MS = 4000;         // transfer updates come once a second

function clean(path) { return (path || '').replace(/^\/+/, ''); }

function profileOf(boot) {
  return boot.profile ? state.profiles.get(boot.profile) || null : null;
}

// Which stage an HTTP file is: bsdpd names it (rule, docs/api.md), else
// it is matched against the files of the profile the script named.
function fileStage(boot, ev) {
  const rule = ev.rule || ev.stage;
  if (rule === 'kernel' || rule === 'initrd' || rule === 'chain') return rule;
  const p = profileOf(boot);
  const f = clean(ev.detail);
  if (!p || !f) return null;
  if (p.kind === 'linux' && clean(p.kernel) === f) return 'kernel';
  if (p.kind === 'linux' && (p.initrds || []).some((i) => clean(i) === f)) return 'initrd';
  if (p.kind === 'chain' && clean(p.chain) === f) return 'chain';
  return null;
}

function stageOf(boot, ev) {
  switch (ev.kind) {
    case 'bsdp-list': return 'list';
    case 'bsdp-select': return 'select';
    case 'tftp': return 'booter';
    case 'proxy-offer': return /ipxe/i.test(ev.rule || '') ? 'ipxe' : 'pxe';
    case 'script': return 'script';
    case 'http-file': return boot ? fileStage(boot, ev) : null;
    default: return null;
  }
}

function newBoot(mac, t) {
  return { mac, start: t, last: t, stages: new Map(), maxRank: -1, profile: null, rule: '',
    nextBootDone: false, files: [], events: [] };
}

// Whether ev, of stage key at time t, begins another boot than b.
function startsNewBoot(b, key, t) {
  if (!b) return true;
  if (t - b.last > NEW_BOOT_GAP_MS) return true;
  if (b.nextBootDone) return true;
  if (key === null) return false;
  const rank = STAGES[key].rank;
  if (rank >= b.maxRank) return false;
  // iPXE asks again when a script chains to another: still this boot.
  return !(key === 'ipxe' && b.maxRank <= STAGES.script.rank);
}

function noteStage(b, key, ev, t) {
  let st = b.stages.get(key);
  if (!st) {
    st = { key, first: t, last: t, ok: true, count: 0, okCount: 0, bytes: 0, duration: 0,
      detail: '' };
    b.stages.set(key, st);
  }
  st.count++;
  st.last = t;
  st.ok = ev.ok !== false;
  if (st.ok) st.okCount++;
  st.detail = ev.detail || st.detail;
  if (ev.kind === 'tftp' || ev.kind === 'http-file') {
    // Several files (initrds) add up; a retried booter replaces the try.
    if (key === 'initrd') { st.bytes += ev.bytes || 0; st.duration += ev.duration_ms || 0; }
    else { st.bytes = ev.bytes || 0; st.duration = ev.duration_ms || 0; }
  }
  b.maxRank = Math.max(b.maxRank, STAGES[key].rank);
  if (key === 'script') { b.profile = ev.detail || null; b.rule = ev.rule || ''; }
}

// Folds one event into the machine's boots.  Returns the boot.
export function addEvent(ev) {
  if (!ev.mac) return null;
  const t = parseTime(ev.time) || Date.now();
  let list = state.boots.get(ev.mac);
  if (!list) { list = []; state.boots.set(ev.mac, list); }
  let b = list[list.length - 1];
  const key = stageOf(b, ev);
  if (ev.kind === 'next-boot-consumed') {
    if (!b) return null;
  } else if (startsNewBoot(b, key, t)) {
    b = newBoot(ev.mac, t);
    list.push(b);
    if (list.length > BOOTS_PER_MACHINE) list.shift();
  }
  b.last = Math.max(b.last, t);
  b.events.push(ev);
  if (b.events.length > EVENTS_PER_BOOT) b.events.shift();
  if (ev.kind === 'next-boot-consumed') { b.nextBootDone = true; b.maxRank = DONE_RANK; }
  else if (key) noteStage(b, key, ev, t);
  else if (ev.kind === 'http-file') b.files.push(ev);
  return b;
}

// The stages this boot goes through, in order: what it did, and what its
// profile says is still to come.
export function expectedStages(b) {
  const keys = new Set(b.stages.keys());
  const mac = keys.has('list') || keys.has('select');
  (mac ? ['list', 'select'] : ['pxe']).forEach((k) => keys.add(k));
  ['booter', 'ipxe', 'script'].forEach((k) => keys.add(k));
  const p = profileOf(b);
  if (p && p.kind === 'linux') {
    keys.add('kernel');
    if ((p.initrds || []).length) keys.add('initrd');
  } else if (p && p.kind === 'chain') {
    keys.add('chain');
  } else if (!p && !keys.has('chain') && (b.profile === null || !state.profilesLoaded)) {
    keys.add('kernel');
    keys.add('initrd');
  }
  return [...keys].sort((a, c) => STAGES[a].rank - STAGES[c].rank);
}

function finalStage(b, keys) {
  const last = keys[keys.length - 1];
  const st = b.stages.get(last);
  if (!st || !st.ok) return false;
  const p = profileOf(b);
  if (last === 'initrd' && p && p.kind === 'linux') return st.okCount >= (p.initrds || []).length;
  return true;
}

export function liveTransfers(mac) {
  const now = Date.now();
  return [...state.transfers.values()].filter((x) => x.mac === mac &&
    now - x.seen < TRANSFER_STALE_MS);
}

function transferStage(b, x) {
  if (x.kind === 'tftp') return 'booter';
  return fileStage(b, { detail: x.detail, rule: x.stage }) || null;
}

// What the boot's row says about it: {kind, text, detail, stopped}.
export function bootStatus(b, now = Date.now()) {
  const keys = expectedStages(b);
  const moving = liveTransfers(b.mac);
  if (b.nextBootDone || finalStage(b, keys)) {
    return { kind: 'ok', text: 'Booted', detail: 'in ' + fmtDuration(b.last - b.start) };
  }
  const reached = keys.filter((k) => b.stages.has(k));
  const lastKey = reached.reduce((a, k) => (b.stages.get(k).last >= (a ? b.stages.get(a).last : 0)
    ? k : a), null);
  const failed = lastKey && !b.stages.get(lastKey).ok ? lastKey : null;
  if (failed && !moving.length) {
    return { kind: 'bad', text: 'Stopped at ' + STAGES[failed].label, stopped: failed,
      detail: b.stages.get(failed).detail ? 'failed: ' + b.stages.get(failed).detail : 'failed' };
  }
  if (moving.length || now - b.last < STALL_MS) {
    const next = keys.find((k) => !b.stages.has(k) || !b.stages.get(k).ok);
    return { kind: 'busy', text: 'Booting', detail: next ? 'next: ' + STAGES[next].label : '' };
  }
  return { kind: 'warn', text: 'Stopped at ' + STAGES[lastKey || keys[0]].label,
    stopped: lastKey || keys[0], detail: 'nothing for ' + fmtDuration(now - b.last) };
}

// ---- the page ----------------------------------------------------------------

function stageCell(b, key, status, moving) {
  const st = b.stages.get(key);
  const x = moving.find((m) => transferStage(b, m) === key);
  let cls = 'pending';
  if (x) cls = 'active';
  else if (st && !st.ok) cls = 'failed';
  else if (st) cls = 'done';
  if (status.stopped === key && cls !== 'failed') cls += ' stopped';
  const facts = [];
  if (st) facts.push('+' + fmtDuration(st.first - b.start));
  if (st && st.bytes) facts.push(fmtBytes(st.bytes));
  if (st && st.duration) facts.push(fmtDuration(st.duration));
  if (st && st.count > 1 && key !== 'initrd') facts.push(st.count + '×');
  if (st && key === 'initrd' && st.count > 1) facts.push(st.count + ' files');
  const state_ = x ? 'in progress' : st ? (st.ok ? 'done' : 'failed') : 'not reached';
  const li = h('li', { class: 'stage stage-' + cls.replace(' ', ' stage-'), 'data-stage': key,
      'aria-label': STAGES[key].label + ': ' + state_ },
    h('span', { class: 'stage-dot', 'aria-hidden': 'true' }),
    h('span', { class: 'stage-name' }, STAGES[key].label),
    facts.length ? h('span', { class: 'stage-facts' }, facts.join(' · ')) : null);
  if (x) {
    const pct = x.size ? Math.min(100, Math.round((x.bytes / x.size) * 100)) : null;
    li.appendChild(h('span', { class: 'stage-facts stage-rate' },
      (pct !== null ? pct + '% · ' : '') + fmtBytes(x.bytes) + ' · ' + fmtRate(x.rate || 0)));
    if (x.size) {
      li.appendChild(h('progress', { max: String(x.size), value: String(Math.min(x.bytes, x.size)),
        'aria-label': STAGES[key].label + ' download' }));
    }
  }
  if (st && st.detail && (key === 'select' || key === 'script' || key === 'booter')) {
    li.title = st.detail;
  }
  return li;
}

function eventsTable(b) {
  return h('table', { class: 'events' },
    h('caption', { class: 'sr-only' }, 'Events of this boot'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Event'),
      h('th', { scope: 'col' }, 'Detail'), h('th', { scope: 'col' }, 'Rule'),
      h('th', { scope: 'col', class: 'num' }, 'Bytes'), h('th', { scope: 'col', class: 'num' }, 'Time taken'),
      h('th', { scope: 'col' }, 'Outcome'))),
    h('tbody', null, b.events.map((e) => h('tr', null,
      h('td', { 'data-label': 'Time' }, fmtClock(parseTime(e.time))),
      h('td', { 'data-label': 'Event' }, e.kind),
      h('td', { 'data-label': 'Detail', class: 'wrap' }, e.detail || '–'),
      h('td', { 'data-label': 'Rule' }, e.rule || '–'),
      h('td', { 'data-label': 'Bytes', class: 'num' }, e.bytes ? fmtBytes(e.bytes) : '–'),
      h('td', { 'data-label': 'Time taken', class: 'num' }, e.duration_ms ? fmtDuration(e.duration_ms) : '–'),
      h('td', { 'data-label': 'Outcome' }, e.ok === false ? badge('bad', 'failed') : badge('ok', 'ok'))))));
}

// One row per machine, kept between renders so focus and the open
// details stay where they are while events arrive.
function machineRow(view, mac) {
  let row = view.rows.get(mac);
  if (row) return row;
  const body = h('div', { class: 'boot-body' });
  const details = h('div', { class: 'boot-events', hidden: true });
  const toggle = h('button', { type: 'button', class: 'quiet small', 'aria-expanded': 'false' },
    'Events');
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    details.hidden = !open;
    view.open[open ? 'add' : 'delete'](mac);
    view.render();
  });
  const head = h('div', { class: 'boot-head' });
  const el = h('article', { class: 'boot fresh', 'data-mac': mac }, head, body, details);
  setTimeout(() => el.classList.remove('fresh'), 1500);
  row = { el, head, body, details, toggle };
  view.rows.set(mac, row);
  return row;
}

// A boot that is over shows what it went through, not what a guess at
// its profile said might follow.
function shownStages(b, status) {
  const keys = expectedStages(b);
  if (status.kind !== 'ok') return keys;
  const reached = Math.max(...keys.filter((k) => b.stages.has(k)).map((k) => STAGES[k].rank));
  return keys.filter((k) => STAGES[k].rank <= reached);
}

function fillRow(view, row, b) {
  const status = bootStatus(b);
  const moving = liveTransfers(b.mac);
  const m = state.machines.get(b.mac);
  const name = machineLabel(b.mac);
  row.el.dataset.status = status.kind;
  replace(row.head,
    h('div', { class: 'boot-id' },
      h('h2', { class: 'boot-name' }, name.primary),
      name.secondary ? h('span', { class: 'muted mono' }, name.secondary) : null,
      m && m.model ? h('span', { class: 'muted' }, m.model) : null),
    h('div', { class: 'boot-state' },
      badge(status.kind, status.text),
      h('span', { class: 'muted' }, status.detail),
      h('span', { class: 'muted' }, 'started ' + fmtClock(b.start) + ' (' + fmtAgo(b.start) + ')'),
      b.profile ? h('span', { class: 'muted' }, 'profile ' + b.profile +
        (b.rule ? ' (' + b.rule + ')' : '')) : null),
    row.toggle);
  replace(row.body,
    h('ol', { class: 'timeline', 'aria-label': 'Stages of the boot of ' + name.primary },
      shownStages(b, status).map((k) => stageCell(b, k, status, moving))),
    b.files.length ? h('p', { class: 'muted small' }, 'Other files: ' +
      b.files.map((f) => clean(f.detail) + ' (' + fmtBytes(f.bytes) + ')').join(', ')) : null);
  if (view.open.has(b.mac)) replace(row.details, eventsTable(b));
}

function matches(view, b) {
  const q = view.query.trim().toLowerCase();
  if (view.filter !== 'all' && bootStatus(b).kind !== view.filter &&
      !(view.filter === 'bad' && bootStatus(b).kind === 'warn')) return false;
  if (!q) return true;
  const m = state.machines.get(b.mac) || {};
  return [b.mac, m.hostname, m.model, b.profile].some((s) => s && s.toLowerCase().includes(q));
}

export function bootsPage(main) {
  const view = { rows: new Map(), open: new Set(), query: '', filter: 'all', render: null };
  const list = h('div', { class: 'boots', 'aria-live': 'off' });
  const summary = h('p', { class: 'summary', role: 'status' });
  const search = h('input', { type: 'search', id: 'boots-q', placeholder: 'MAC, hostname, model',
    autocomplete: 'off' });
  const filter = h('select', { id: 'boots-filter' },
    h('option', { value: 'all' }, 'All'), h('option', { value: 'busy' }, 'Booting'),
    h('option', { value: 'ok' }, 'Booted'), h('option', { value: 'bad' }, 'Stopped'));
  const orphans = h('div', { class: 'orphans' });
  search.addEventListener('input', () => { view.query = search.value; view.render(); });
  filter.addEventListener('change', () => { view.filter = filter.value; view.render(); });

  replace(main,
    pageHeader('Boots', summary),
    h('div', { class: 'toolbar' },
      h('label', { for: 'boots-q' }, 'Search'), search,
      h('label', { for: 'boots-filter' }, 'Show'), filter),
    orphans, list);

  view.render = () => {
    const latest = [...state.boots.values()].map((l) => l[l.length - 1]).filter(Boolean)
      .sort((a, b) => b.last - a.last);
    const counts = { busy: 0, ok: 0, bad: 0 };
    latest.forEach((b) => { const k = bootStatus(b).kind; counts[k === 'warn' ? 'bad' : k]++; });
    summary.textContent = latest.length
      ? counts.busy + ' booting · ' + counts.ok + ' booted · ' + counts.bad + ' stopped, in the last hour'
      : '';
    const shown = latest.filter((b) => matches(view, b));
    const want = shown.map((b) => machineRow(view, b.mac).el);
    shown.forEach((b) => fillRow(view, view.rows.get(b.mac), b));
    // Reorder only when the order changed: moving a node drops its focus.
    const have = [...list.children];
    if (want.length !== have.length || want.some((el, i) => el !== have[i])) {
      clear(list);
      want.forEach((el) => list.appendChild(el));
    }
    if (!latest.length) {
      list.appendChild(notice('idle', state.eventsLoaded
        ? 'No machine has booted in the last hour. Boots appear here as they happen.'
        : 'Loading the last hour of boot events…'));
    } else if (!shown.length) {
      list.appendChild(notice('idle', 'No boot matches.'));
    }
    const strays = [...state.transfers.values()].filter((x) => !x.mac &&
      Date.now() - x.seen < TRANSFER_STALE_MS);
    replace(orphans, strays.length ? h('p', { class: 'muted' }, 'Transfers to unknown machines: ' +
      strays.map((x) => x.ip + ' ' + clean(x.detail) + ' ' + fmtRate(x.rate || 0)).join(', ')) : null);
  };
  view.render();
  const unsubscribe = subscribe(['events', 'transfers', 'machines', 'profiles', 'tick'], view.render);
  return unsubscribe;
}

