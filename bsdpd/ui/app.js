// SPDX-License-Identifier: MIT
// The dashboard's shell: sign-in with the API token, the hash routes
// (#/boots, #/machines, #/policy, #/images, #/server) and the one event
// stream every page shares.

import { api, session, onUnauthorized, openEventStream, ApiError } from './api.js';
import { h, replace } from './dom.js';
import { state, publish, loadMachines, loadProfiles } from './state.js';
import { addEvent } from './boots.js';
import { bootsPage } from './boots.js';
import { machinesPage } from './machines.js';
import { policyPage } from './policy.js';
import { imagesPage } from './images.js';
import { serverPage, startServerPolling, stopServerPolling } from './server.js';

const PAGES = {
  boots: bootsPage,
  machines: machinesPage,
  policy: policyPage,
  images: imagesPage,
  server: serverPage,
};
const HISTORY_MS = 60 * 60 * 1000;     // Boots starts with the last hour

const main = document.getElementById('main');
const top = document.getElementById('top');
const live = document.getElementById('live');
let stream = null;
let leavePage = null;
let ticker = 0;
let machinesReload = 0;

// ---- sign-in -----------------------------------------------------------------

function signInForm(message) {
  const input = h('input', { id: 'token', name: 'token', type: 'password', required: true,
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'token-help' });
  const err = h('p', { id: 'token-error', class: 'field-error', hidden: !message }, message || '');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin', novalidate: true },
    h('h1', null, 'Sign in to bsdpd'),
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'API token'),
      input,
      h('p', { id: 'token-help', class: 'help' },
        'The token is in STATE_DIR/api-token on the server (sudo cat /var/lib/bsdpd/api-token). ' +
        'It is kept for this browser tab only.'),
      err),
    button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) { showError('Enter the API token.'); return; }
    button.disabled = true;
    try {
      await api('GET', '/default', undefined, token);
      session.save(token);
      start();
    } catch (ex) {
      showError(ex instanceof ApiError && ex.status === 401
        ? 'bsdpd does not accept this token.'
        : 'Cannot reach the API: ' + ex.message);
    } finally {
      button.disabled = false;
    }
  });
  function showError(text) {
    err.textContent = text;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'token-help token-error');
    input.focus();
  }
  top.hidden = true;
  replace(main, form);
  input.focus();
}

function signOut(message) {
  session.clear();
  if (stream) stream.close();
  stream = null;
  stopServerPolling();
  clearInterval(ticker);
  if (leavePage) leavePage();
  leavePage = null;
  state.boots.clear();
  state.transfers.clear();
  state.eventsLoaded = false;
  signInForm(message);
}

// ---- live data ---------------------------------------------------------------

function onEvent(ev) {
  addEvent(ev);
  if (ev.mac && !state.machines.has(ev.mac)) {
    // A machine seen for the first time: fetch its record (model, arch) soon.
    clearTimeout(machinesReload);
    machinesReload = setTimeout(() => loadMachines().catch(() => {}), 1000);
  }
  publish('events');
}

function onTransfer(x) {
  if (!x || !x.id) return;
  state.features.transfers = true;
  x.seen = Date.now();
  state.transfers.set(x.id, x);
  publish('transfers');
}

function onStreamState(s) {
  const text = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…' }[s];
  live.textContent = text;
  live.dataset.state = s;
  if (s === 'live') {
    state.eventsLoaded = true;
    publish('events');
  }
}

function sweepTransfers() {
  const now = Date.now();
  for (const [id, x] of state.transfers) if (now - x.seen > 10000) state.transfers.delete(id);
  publish('tick');
}

// ---- routing -----------------------------------------------------------------

function route() {
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1];
  if (!PAGES[name]) { location.replace('#/boots'); return; }
  if (leavePage) leavePage();
  document.querySelectorAll('#nav a').forEach((a) => {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  const title = document.querySelector('#nav a[data-page="' + name + '"]').textContent;
  document.title = title + ' · bsdpd';
  leavePage = PAGES[name](main) || null;
  const heading = main.querySelector('h1');
  if (heading && document.activeElement && document.activeElement.closest('#nav')) heading.focus();
}

function start() {
  top.hidden = false;
  if (!location.hash) location.replace('#/boots');
  Promise.all([loadMachines(), loadProfiles()]).catch(() => {});
  const since = new Date(Date.now() - HISTORY_MS).toISOString();
  stream = openEventStream({ event: onEvent, transfer: onTransfer, state: onStreamState }, since);
  startServerPolling();
  ticker = setInterval(sweepTransfers, 1000);
  route();
}

onUnauthorized(() => signOut('bsdpd no longer accepts this token: sign in again.'));
document.getElementById('signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', () => { if (session.token()) route(); });

if (session.token()) start();
else signInForm();
