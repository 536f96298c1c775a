// SPDX-License-Identifier: MIT
// Machines: every machine bsdpd knows, searchable and sortable; profile
// and next boot set from the row (open the list, pick: two clicks);
// hostname, labels and the rest in a dialog.

import { api, macPath, ApiError } from './api.js';
import { h, replace, fmtAgo, fmtDateTime, parseTime, badge, pageHeader, notice, emptyRow,
  toast } from './dom.js';
import { state, subscribe, publish, loadMachines, loadProfiles } from './state.js';
import { bootStatus, STAGES } from './boots.js';
import { field, formError, showError, clearErrors, openDialog, buttons, labelsText,
  parseLabels, select, LOCAL_METHODS } from './forms.js';

const PAGE_ROWS = 200;
const NONE = '';

const EVENT_NAMES = {
  'bsdp-list': STAGES.list.label, 'bsdp-select': STAGES.select.label, tftp: STAGES.booter.label,
  'proxy-offer': 'Proxy offer', script: STAGES.script.label, 'http-file': 'HTTP file',
  'next-boot-consumed': 'Next boot spent',
};

function eventName(e) {
  if (e.kind === 'http-file' && STAGES[e.rule]) return STAGES[e.rule].label;
  if (e.kind === 'proxy-offer' && e.rule) return e.rule + ' offer';
  return EVENT_NAMES[e.kind] || e.kind;
}

// What a machine's last outcome says, from the API (last_event) or, on a
// bsdpd without it, from the boots this page has seen.
function outcome(m) {
  const e = m.last_event;
  if (e) {
    return { kind: e.ok === false ? 'bad' : 'ok', text: eventName(e) + (e.ok === false ? ' failed' : ''),
      time: parseTime(e.time), title: [e.detail, e.rule].filter(Boolean).join(' · ') };
  }
  const boots = state.boots.get(m.mac);
  if (!boots || !boots.length) return null;
  const s = bootStatus(boots[boots.length - 1]);
  return { kind: s.kind, text: s.text, time: boots[boots.length - 1].last, title: s.detail };
}

const COLUMNS = [
  { key: 'mac', label: 'MAC', value: (m) => m.mac },
  { key: 'hostname', label: 'Hostname', value: (m) => m.hostname || '' },
  { key: 'model', label: 'Model', value: (m) => m.model || '' },
  { key: 'arch', label: 'Arch', value: (m) => m.arch || '' },
  { key: 'last_seen', label: 'Last seen', value: (m) => parseTime(m.last_seen) || 0 },
  { key: 'profile', label: 'Profile', value: (m) => m.profile || '' },
  { key: 'next_boot', label: 'Next boot', value: (m) => m.next_boot || '' },
  { key: 'outcome', label: 'Last outcome', value: (m) => { const o = outcome(m); return o ? o.time : 0; } },
];

function profileOptions(withNone) {
  const opts = [...state.profiles.keys()].sort().map((n) => [n, n]);
  return [[NONE, withNone], ...opts];
}

function machineBody(m) {
  return { profile: m.profile || '', hostname: m.hostname || '', labels: m.labels || {},
    local: m.local || 'auto', image: m.image || '' };
}

async function saveProfile(m, value, sel) {
  try {
    const saved = await api('PUT', '/machines/' + macPath(m.mac), { ...machineBody(m), profile: value });
    state.machines.set(m.mac, { ...m, ...saved });
    toast('Profile of ' + (m.hostname || m.mac) + ': ' + (value || 'none'));
  } catch (ex) {
    sel.value = m.profile || NONE;
    toast('Profile not saved: ' + ex.message, 'bad');
  }
}

async function saveNextBoot(m, value, sel) {
  try {
    if (value) await api('PUT', '/machines/' + macPath(m.mac) + '/next-boot', { profile: value });
    else await api('DELETE', '/machines/' + macPath(m.mac) + '/next-boot');
    state.machines.set(m.mac, { ...m, next_boot: value || null });
    toast('Next boot of ' + (m.hostname || m.mac) + ': ' + (value || 'cleared'));
  } catch (ex) {
    sel.value = m.next_boot || NONE;
    toast('Next boot not saved: ' + ex.message, 'bad');
  }
}

function rowSelect(m, kind) {
  const isNext = kind === 'next';
  const current = (isNext ? m.next_boot : m.profile) || NONE;
  const opts = profileOptions(isNext ? '— none —' : '— groups / default —');
  if (current && !state.profiles.has(current)) opts.push([current, current]);
  const sel = select(null, opts, current);
  sel.removeAttribute('id');
  sel.className = 'inline';
  sel.dataset.focus = kind + ':' + m.mac;
  sel.setAttribute('aria-label', (isNext ? 'Next boot of ' : 'Profile of ') + (m.hostname || m.mac));
  sel.addEventListener('change', () => (isNext ? saveNextBoot : saveProfile)(m, sel.value, sel));
  return sel;
}

function machineRow(m, onEdit) {
  const o = outcome(m);
  const labels = Object.entries(m.labels || {}).map(([k, v]) => h('span', { class: 'label' }, k + '=' + v));
  const edit = h('button', { type: 'button', class: 'quiet small', 'data-focus': 'edit:' + m.mac,
    'aria-label': 'Edit ' + (m.hostname || m.mac) }, 'Edit');
  edit.addEventListener('click', () => onEdit(m));
  return h('tr', { 'data-mac': m.mac },
    h('td', { 'data-label': 'MAC', class: 'mono' }, m.mac),
    h('td', { 'data-label': 'Hostname', class: 'wrap' }, m.hostname || h('span', { class: 'muted' }, '–'),
      labels.length ? h('div', { class: 'labels' }, labels) : null),
    h('td', { 'data-label': 'Model', class: 'wrap' }, m.model || '–'),
    h('td', { 'data-label': 'Arch' }, m.arch || '–'),
    h('td', { 'data-label': 'Last seen', title: fmtDateTime(parseTime(m.last_seen)) },
      m.last_seen ? fmtAgo(parseTime(m.last_seen)) : 'never'),
    h('td', { 'data-label': 'Profile' }, rowSelect(m, 'profile')),
    h('td', { 'data-label': 'Next boot' }, rowSelect(m, 'next')),
    h('td', { 'data-label': 'Last outcome', title: o ? o.title : null },
      o ? [badge(o.kind, o.text), ' ', h('span', { class: 'muted' }, fmtAgo(o.time))] : '–'),
    h('td', { class: 'actions' }, edit));
}

function editForm(m, isNew, close) {
  const mac = h('input', { type: 'text', value: m.mac || '', autocomplete: 'off',
    placeholder: '52:54:00:12:34:56', disabled: !isNew });
  const hostname = h('input', { type: 'text', value: m.hostname || '', autocomplete: 'off' });
  const labels = h('textarea', { rows: '3', spellcheck: 'false' });
  labels.value = labelsText(m.labels);
  const profile = select(null, profileOptions('— groups / default —'), m.profile || NONE);
  const local = select(null, LOCAL_METHODS.map((x) => [x, x]), m.local || 'auto');
  const image = h('input', { type: 'text', value: m.image || '', autocomplete: 'off' });
  const err = formError();
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const cancel = h('button', { type: 'button', on: { click: close } }, 'Cancel');
  const forget = isNew ? null : h('button', { type: 'button', class: 'danger' }, 'Forget machine');
  const form = h('form', { class: 'form', novalidate: true },
    field('MAC address', mac, 'mac'),
    field('Hostname', hostname, 'hostname', 'A host name: letters, digits, dots and hyphens.'),
    field('Labels', labels, 'labels', 'One key=value per line (room=101); groups select by them.'),
    field('Profile', profile, 'profile'),
    field('Local boot', local, 'local', 'How its local disk is booted (docs/policy.md).'),
    field('Pinned NetBoot image', image, 'image', 'The image a Mac is offered as default; empty for none.'),
    err,
    buttons(save, cancel, forget));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const target = (isNew ? mac.value.trim() : m.mac);
    save.disabled = true;
    try {
      if (!target) throw new ApiError(400, { error: 'Enter the MAC address.', field: 'mac' });
      const body = { hostname: hostname.value.trim(), labels: parseLabels(labels.value),
        profile: profile.value, local: local.value, image: image.value.trim() };
      const saved = await api('PUT', '/machines/' + macPath(target), body);
      state.machines.set(saved.mac, { ...m, ...saved });
      publish('machines');
      toast('Saved ' + (saved.hostname || saved.mac));
      close();
    } catch (ex) {
      showError(form, ex);
    } finally {
      save.disabled = false;
    }
  });
  if (forget) {
    forget.addEventListener('click', async () => {
      try {
        await api('DELETE', '/machines/' + macPath(m.mac));
        state.machines.delete(m.mac);
        publish('machines');
        toast('Forgot ' + (m.hostname || m.mac));
        close();
      } catch (ex) {
        showError(form, ex);
      }
    });
  }
  return form;
}

export function machinesPage(main) {
  const view = { q: '', sort: 'last_seen', dir: -1, limit: PAGE_ROWS };
  const search = h('input', { type: 'search', id: 'machines-q', autocomplete: 'off',
    placeholder: 'MAC, hostname, model, label, profile' });
  const count = h('p', { class: 'summary', role: 'status' });
  const thead = h('thead');
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  const status = h('div');
  const add = h('button', { type: 'button', class: 'primary' }, 'Add machine');
  const onEdit = (m) => openDialog('Machine ' + (m.hostname || m.mac), (close) => editForm(m, false, close));
  add.addEventListener('click', () => openDialog('Add a machine', (close) => editForm({}, true, close)));
  search.addEventListener('input', () => { view.q = search.value; view.limit = PAGE_ROWS; render(); });

  replace(main,
    pageHeader('Machines', count),
    h('div', { class: 'toolbar' }, h('label', { for: 'machines-q' }, 'Search'), search, add),
    status,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'grid machines' }, h('caption', { class: 'sr-only' }, 'Machines'), thead, tbody)),
    more);

  function header() {
    replace(thead, h('tr', null, COLUMNS.map((c) => {
      const b = h('button', { type: 'button', class: 'sort', 'data-focus': 'sort:' + c.key }, c.label);
      b.addEventListener('click', () => {
        view.dir = view.sort === c.key ? -view.dir : (c.key === 'last_seen' || c.key === 'outcome' ? -1 : 1);
        view.sort = c.key;
        render();
      });
      return h('th', { scope: 'col', 'aria-sort': view.sort === c.key ? (view.dir > 0 ? 'ascending' : 'descending') : null }, b);
    }), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions'))));
  }

  function matches(m, q) {
    if (!q) return true;
    const hay = [m.mac, m.hostname, m.model, m.arch, m.profile, m.next_boot, m.ip,
      ...Object.entries(m.labels || {}).map(([k, v]) => k + '=' + v)];
    return hay.some((s) => s && String(s).toLowerCase().includes(q));
  }

  function render() {
    const focusKey = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.focus : null;
    const col = COLUMNS.find((c) => c.key === view.sort);
    const q = view.q.trim().toLowerCase();
    const all = [...state.machines.values()];
    const rows = all.filter((m) => matches(m, q)).sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      return (x < y ? -1 : x > y ? 1 : a.mac < b.mac ? -1 : 1) * view.dir;
    });
    header();
    count.textContent = rows.length === all.length ? all.length + ' machines'
      : rows.length + ' of ' + all.length + ' machines';
    replace(tbody, rows.length ? rows.slice(0, view.limit).map((m) => machineRow(m, onEdit))
      : emptyRow(COLUMNS.length + 1, all.length ? 'No machine matches.' : 'bsdpd has seen no machine yet.'));
    if (rows.length > view.limit) {
      const b = h('button', { type: 'button', 'data-focus': 'more' },
        'Show ' + Math.min(PAGE_ROWS, rows.length - view.limit) + ' more of ' + (rows.length - view.limit));
      b.addEventListener('click', () => { view.limit += PAGE_ROWS; render(); });
      replace(more, b);
    } else {
      replace(more);
    }
    if (focusKey) {
      const el = main.querySelector('[data-focus="' + CSS.escape(focusKey) + '"]');
      if (el) el.focus();
    }
  }

  render();
  Promise.all([loadMachines(), loadProfiles()]).catch((ex) => {
    replace(status, notice('bad', 'Cannot load the machines: ' + ex.message));
  });
  return subscribe(['machines', 'profiles'], render);
}
