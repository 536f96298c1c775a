// SPDX-License-Identifier: MIT
// Profiles & groups: create, edit and delete them, and set the default
// profile.  The API validates; its {"error","field"} is shown beside the
// field it names (forms.js).

import { api, ApiError } from './api.js';
import { h, replace, pageHeader, notice, emptyRow, toast } from './dom.js';
import { state, subscribe, loadProfiles } from './state.js';
import { field, formError, showError, clearErrors, openDialog, buttons, labelsText,
  parseLabels, lines, select, LOCAL_METHODS } from './forms.js';

const KINDS = ['linux', 'local', 'chain', 'menu', 'shell', 'script'];

function summary(p) {
  switch (p.kind) {
    case 'linux': return [p.kernel, ...(p.initrds || [])].join(' + ') + (p.cmdline ? ' — ' + p.cmdline : '');
    case 'local': return 'local disk: ' + (p.local || 'auto');
    case 'chain': return p.chain || '';
    case 'menu': return (p.items || []).join(', ') + (p.default ? ' (default ' + p.default + ', ' + p.timeout + ' s)' : '');
    case 'script': return (p.template || '').split('\n').length + ' lines';
    default: return '';
  }
}

// ---- profiles ------------------------------------------------------------------

// PUT /profiles/NAME or /groups/NAME; the API's error goes beside its field.
async function saveRecord(form, save, what, n, body, isNew, close, done) {
  save.disabled = true;
  try {
    if (!n) throw new ApiError(400, { error: 'Enter a name.', field: 'name' });
    await api('PUT', '/' + what + 's/' + encodeURIComponent(n), body);
    toast((isNew ? 'Created' : 'Saved') + ' ' + what + ' ' + n);
    close();
    done();
  } catch (ex) {
    showError(form, ex);
  } finally {
    save.disabled = false;
  }
}

function profileForm(p, isNew, close, done) {
  const name = h('input', { type: 'text', value: p.name || '', autocomplete: 'off', disabled: !isNew });
  const kind = select(null, KINDS.map((k) => [k, k]), p.kind || 'linux');
  const description = h('input', { type: 'text', value: p.description || '', autocomplete: 'off' });
  const kernel = h('input', { type: 'text', value: p.kernel || '', autocomplete: 'off', spellcheck: 'false' });
  const initrds = h('textarea', { rows: '2', spellcheck: 'false' });
  initrds.value = (p.initrds || []).join('\n');
  const cmdline = h('input', { type: 'text', value: p.cmdline || '', autocomplete: 'off', spellcheck: 'false' });
  const local = select(null, LOCAL_METHODS.map((x) => [x, x]), p.local || 'auto');
  const chain = h('input', { type: 'text', value: p.chain || '', autocomplete: 'off', spellcheck: 'false' });
  const items = h('textarea', { rows: '3', spellcheck: 'false' });
  items.value = (p.items || []).join('\n');
  const dflt = h('input', { type: 'text', value: p.default || '', autocomplete: 'off' });
  const timeout = h('input', { type: 'number', min: '0', value: String(p.timeout === undefined ? 10 : p.timeout) });
  const template = h('textarea', { rows: '8', spellcheck: 'false', class: 'mono' });
  template.value = p.template || '#!ipxe\n';
  const byKind = {
    linux: [field('Kernel', kernel, 'kernel', 'Path under the HTTP root, or a URL.'),
      field('Initrds', initrds, 'initrds', 'One per line, in order.'),
      field('Command line', cmdline, 'cmdline')],
    local: [field('Local boot', local, 'local', 'auto: exit on EFI, sanboot on BIOS.')],
    chain: [field('Chain to', chain, 'chain', 'An EFI binary or script under the HTTP root, or a URL.')],
    menu: [field('Items', items, 'items', 'Profile names, one per line.'),
      field('Default item', dflt, 'default'), field('Timeout (s)', timeout, 'timeout')],
    shell: [],
    script: [field('Template', template, 'template', 'An iPXE script; placeholders as in bsdpd(8).')],
  };
  const sections = Object.fromEntries(Object.entries(byKind).map(([k, f]) =>
    [k, h('div', { class: 'kind-fields', hidden: k !== kind.value }, f)]));
  kind.addEventListener('change', () => {
    Object.entries(sections).forEach(([k, el]) => { el.hidden = k !== kind.value; });
  });
  const err = formError();
  const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create profile' : 'Save');
  const form = h('form', { class: 'form', novalidate: true },
    field('Name', name, 'name', isNew ? 'Letters, digits, . _ - (up to 63).' : null),
    field('Kind', kind, 'kind'),
    field('Description', description, 'description'),
    Object.values(sections), err,
    buttons(save, h('button', { type: 'button', on: { click: close } }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { kind: kind.value, description: description.value };
    if (kind.value === 'linux') Object.assign(body, { kernel: kernel.value.trim(),
      initrds: lines(initrds.value), cmdline: cmdline.value });
    if (kind.value === 'local') body.local = local.value;
    if (kind.value === 'chain') body.chain = chain.value.trim();
    if (kind.value === 'menu') Object.assign(body, { items: lines(items.value),
      default: dflt.value.trim(), timeout: Number(timeout.value) });
    if (kind.value === 'script') body.template = template.value;
    await saveRecord(form, save, 'profile', name.value.trim(), body, isNew, close, done);
  });
  return form;
}

// ---- groups --------------------------------------------------------------------

function groupForm(g, isNew, close, done) {
  const sel = g.selector || {};
  const name = h('input', { type: 'text', value: g.name || '', autocomplete: 'off', disabled: !isNew });
  const prefix = h('input', { type: 'text', value: sel.mac_prefix || '', autocomplete: 'off', placeholder: '52:54:00' });
  const model = h('input', { type: 'text', value: sel.model || '', autocomplete: 'off', placeholder: 'MacPro*' });
  const arch = h('input', { type: 'text', value: sel.arch || '', autocomplete: 'off', placeholder: 'x86_64' });
  const labels = h('textarea', { rows: '2', spellcheck: 'false' });
  labels.value = labelsText(sel.labels);
  const profile = select(null, [['', '— choose —'], ...[...state.profiles.keys()].sort().map((x) => [x, x])],
    g.profile || '');
  const priority = h('input', { type: 'number', value: String(g.priority || 0) });
  const local = select(null, LOCAL_METHODS.map((x) => [x, x]), g.local || 'auto');
  const image = h('input', { type: 'text', value: g.image || '', autocomplete: 'off' });
  const err = formError();
  const save = h('button', { type: 'submit', class: 'primary' }, isNew ? 'Create group' : 'Save');
  const form = h('form', { class: 'form', novalidate: true },
    field('Name', name, 'name'),
    h('fieldset', null, h('legend', null, 'Selects machines by'),
      field('MAC prefix', prefix, 'selector.mac_prefix'),
      field('Model', model, 'selector.model', 'A glob: MacPro*, iMac1?,?'),
      field('Arch', arch, 'selector.arch'),
      field('Labels', labels, 'selector.labels', 'One key=value per line; all must match.')),
    field('Profile', profile, 'profile'),
    field('Priority', priority, 'priority', 'Among equally specific groups, the higher wins.'),
    field('Local boot', local, 'local'),
    field('Pinned NetBoot image', image, 'image'),
    err,
    buttons(save, h('button', { type: 'button', on: { click: close } }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const n = name.value.trim();
    const body = {
      selector: { mac_prefix: prefix.value.trim(), model: model.value.trim(), arch: arch.value.trim(),
        labels: parseLabels(labels.value) },
      profile: profile.value, priority: Number(priority.value || 0), local: local.value,
      image: image.value.trim(),
    };
    await saveRecord(form, save, 'group', n, body, isNew, close, done);
  });
  return form;
}

function selectorText(s) {
  const parts = [];
  if (s.mac_prefix) parts.push('MAC ' + s.mac_prefix + '…');
  if (s.model) parts.push('model ' + s.model);
  if (s.arch) parts.push('arch ' + s.arch);
  Object.entries(s.labels || {}).forEach(([k, v]) => parts.push(k + '=' + v));
  return parts.join(', ') || 'every machine';
}

// ---- the page ------------------------------------------------------------------

export function policyPage(main) {
  const profBody = h('tbody');
  const groupBody = h('tbody');
  const status = h('div', { class: 'status' });
  const defaultSel = h('select', { id: 'default-profile' });
  const defaultSave = h('button', { type: 'button' }, 'Set default');
  let groups = [];
  let dflt = null;

  async function reload() {
    try {
      const [, g, d] = await Promise.all([loadProfiles(), api('GET', '/groups'), api('GET', '/default')]);
      groups = g.groups || [];
      dflt = d.profile || null;
      render();
    } catch (ex) {
      replace(status, notice('bad', 'Cannot load the policy: ' + ex.message));
    }
  }

  async function remove(what, name) {
    try {
      await api('DELETE', '/' + what + '/' + encodeURIComponent(name));
      toast('Deleted ' + (what === 'profiles' ? 'profile ' : 'group ') + name);
      replace(status);
      reload();
    } catch (ex) {
      replace(status, notice('bad', 'Cannot delete ' + name + ': ' + ex.message));
    }
  }

  function actions(label, onEdit, onDelete) {
    const e = h('button', { type: 'button', class: 'quiet small', 'aria-label': 'Edit ' + label }, 'Edit');
    const d = h('button', { type: 'button', class: 'quiet small danger', 'aria-label': 'Delete ' + label }, 'Delete');
    e.addEventListener('click', onEdit);
    d.addEventListener('click', () => {
      if (d.dataset.armed) { onDelete(); return; }
      d.dataset.armed = '1';
      d.textContent = 'Confirm delete';
      setTimeout(() => { if (d.isConnected) { delete d.dataset.armed; d.textContent = 'Delete'; } }, 4000);
    });
    return h('td', { class: 'actions' }, e, ' ', d);
  }

  function render() {
    const profiles = [...state.profiles.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    replace(profBody, profiles.length ? profiles.map((p) => h('tr', null,
      h('td', { 'data-label': 'Name', class: 'mono' }, p.name, dflt === p.name ? [' ', h('span', { class: 'badge badge-idle' }, 'default')] : null),
      h('td', { 'data-label': 'Kind' }, p.kind),
      h('td', { 'data-label': 'Description', class: 'wrap' }, p.description || '–'),
      h('td', { 'data-label': 'Boots', class: 'wrap mono small' }, summary(p) || '–'),
      actions('profile ' + p.name,
        () => openDialog('Profile ' + p.name, (close) => profileForm(p, false, close, reload)),
        () => remove('profiles', p.name)))) : emptyRow(5, 'No profile yet.'));
    replace(groupBody, groups.length ? groups.map((g) => h('tr', null,
      h('td', { 'data-label': 'Name', class: 'mono' }, g.name),
      h('td', { 'data-label': 'Selects', class: 'wrap' }, selectorText(g.selector || {})),
      h('td', { 'data-label': 'Profile' }, g.profile || '–'),
      h('td', { 'data-label': 'Priority', class: 'num' }, String(g.priority)),
      h('td', { 'data-label': 'Local' }, g.local || 'auto'),
      actions('group ' + g.name,
        () => openDialog('Group ' + g.name, (close) => groupForm(g, false, close, reload)),
        () => remove('groups', g.name)))) : emptyRow(6, 'No group yet.'));
    replace(defaultSel, h('option', { value: '' }, '— none (the template) —'),
      profiles.map((p) => h('option', { value: p.name, selected: p.name === dflt }, p.name)));
  }

  defaultSave.addEventListener('click', async () => {
    try {
      if (defaultSel.value) await api('PUT', '/default', { profile: defaultSel.value });
      else await api('DELETE', '/default');
      dflt = defaultSel.value || null;
      toast('Default profile: ' + (dflt || 'none'));
      render();
    } catch (ex) {
      replace(status, notice('bad', 'Cannot set the default: ' + ex.message));
    }
  });
  const newProfile = h('button', { type: 'button', class: 'primary' }, 'New profile');
  newProfile.addEventListener('click', () => openDialog('New profile', (close) => profileForm({}, true, close, reload)));
  const newGroup = h('button', { type: 'button', class: 'primary' }, 'New group');
  newGroup.addEventListener('click', () => openDialog('New group', (close) => groupForm({}, true, close, reload)));

  replace(main,
    pageHeader('Profiles & groups'),
    status,
    h('section', { class: 'panel', 'aria-labelledby': 'default-h' },
      h('h2', { id: 'default-h' }, 'Default profile'),
      h('p', { class: 'muted' }, 'What a machine boots when no next boot, profile of its own or group applies.'),
      h('div', { class: 'toolbar' }, h('label', { for: 'default-profile' }, 'Default'), defaultSel, defaultSave)),
    h('section', { class: 'panel', 'aria-labelledby': 'profiles-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'profiles-h' }, 'Profiles'), newProfile),
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
        h('thead', null, h('tr', null, ['Name', 'Kind', 'Description', 'Boots'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        profBody))),
    h('section', { class: 'panel', 'aria-labelledby': 'groups-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'groups-h' }, 'Groups'), newGroup),
      h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
        h('thead', null, h('tr', null, ['Name', 'Selects', 'Profile', 'Priority', 'Local'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        groupBody))));
  render();
  reload();
  return subscribe(['profiles'], render);
}
