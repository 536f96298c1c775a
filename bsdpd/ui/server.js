// SPDX-License-Identifier: MIT
// Server: bsdpd's counters (GET /api/v1/server, polled every 2 s while
// signed in, so the charts have the last minutes when the page opens),
// rates from the differences, and the transfers in flight from the
// event stream.

import { api, ApiError } from './api.js';
import { h, svg, replace, fmtBytes, fmtRate, fmtDuration, fmtDateTime, parseTime, badge,
  pageHeader, notice, emptyRow } from './dom.js';
import { state, subscribe, publish, machineLabel } from './state.js';

const POLL_MS = 2000;
const HISTORY = 300;                 // samples: 10 minutes
const samples = [];                  // {t, s: server object}
let timer = 0;
let lastError = null;

async function poll() {
  try {
    const s = await api('GET', '/server');
    state.features.server = true;
    lastError = null;
    samples.push({ t: Date.now(), s });
    if (samples.length > HISTORY) samples.shift();
    publish('server');
  } catch (ex) {
    if (ex instanceof ApiError && (ex.status === 404 || ex.status === 405)) {
      state.features.server = false; // an older bsdpd: nothing to poll
      stopServerPolling();
    } else {
      lastError = ex.message;
    }
    publish('server');
  }
}

export function startServerPolling() {
  stopServerPolling();
  samples.length = 0;
  poll();
  timer = setInterval(poll, POLL_MS);
}

export function stopServerPolling() {
  clearInterval(timer);
  timer = 0;
}

function get(o, path) {
  return path.split('.').reduce((x, k) => (x && typeof x === 'object' ? x[k] : undefined), o);
}

// Per-second rate of a counter between successive samples.
function series(path) {
  const out = [];
  for (let i = 1; i < samples.length; i++) {
    const a = get(samples[i - 1].s, path);
    const b = get(samples[i].s, path);
    const dt = (samples[i].t - samples[i - 1].t) / 1000;
    if (typeof a === 'number' && typeof b === 'number' && dt > 0) {
      out.push({ t: samples[i].t, v: Math.max(0, (b - a) / dt) });
    }
  }
  return out;
}

function gaugeSeries(path) {
  return samples.map((x) => ({ t: x.t, v: get(x.s, path) })).filter((p) => typeof p.v === 'number');
}

const W = 300;
const H = 64;
// A small area chart of the last minutes; the latest value is the title.
function chart(title, points, fmt) {
  const max = Math.max(1, ...points.map((p) => p.v));
  const now = Date.now();
  const x = (t) => W - ((now - t) / (HISTORY * POLL_MS)) * W;
  const y = (v) => H - 2 - (v / max) * (H - 6);
  const last = points.length ? points[points.length - 1].v : null;
  let line = '';
  points.forEach((p, i) => { line += (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1); });
  const area = points.length > 1
    ? line + 'L' + x(points[points.length - 1].t).toFixed(1) + ' ' + H + 'L' + x(points[0].t).toFixed(1) + ' ' + H + 'Z'
    : '';
  return h('figure', { class: 'chart' },
    h('figcaption', null, h('span', null, title),
      h('strong', null, last === null ? '–' : fmt(last))),
    svg('svg', { viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img',
      'aria-label': title + ' over the last ' + Math.round((HISTORY * POLL_MS) / 60000) +
        ' minutes; now ' + (last === null ? 'unknown' : fmt(last)) + ', peak ' + fmt(max) },
    svg('line', { x1: '0', x2: String(W), y1: String(H - 1), y2: String(H - 1), class: 'axis' }),
    area ? svg('path', { d: area, class: 'area' }) : null,
    line ? svg('path', { d: line, class: 'line' }) : null),
    h('p', { class: 'chart-scale muted' }, 'peak ' + fmt(max)));
}

function perMin(v) { return (v * 60).toFixed(v * 60 < 10 ? 1 : 0) + '/min'; }

function counterTable(title, obj) {
  if (!obj || typeof obj !== 'object') return null;
  return h('section', { class: 'panel counters' },
    h('h2', null, title),
    h('dl', null, Object.entries(obj).map(([k, v]) => [
      h('dt', null, k.replace(/_/g, ' ')),
      h('dd', { class: 'num' }, /bytes/.test(k) ? fmtBytes(v) : String(v))])));
}

function transfersTable() {
  const now = Date.now();
  const xs = [...state.transfers.values()].filter((x) => now - x.seen < 4000)
    .sort((a, b) => (b.rate || 0) - (a.rate || 0));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
    h('caption', { class: 'sr-only' }, 'Transfers in flight'),
    h('thead', null, h('tr', null, ['Machine', 'Kind', 'File', 'Progress', 'Rate', 'Elapsed']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, xs.length ? xs.map((x) => h('tr', null,
      h('td', { 'data-label': 'Machine', class: 'mono' }, x.mac ? machineLabel(x.mac).primary : x.ip),
      h('td', { 'data-label': 'Kind' }, x.kind + (x.stage ? ' · ' + x.stage : '')),
      h('td', { 'data-label': 'File', class: 'wrap mono' }, x.detail),
      h('td', { 'data-label': 'Progress' },
        x.size ? h('progress', { max: String(x.size), value: String(Math.min(x.bytes, x.size)),
          'aria-label': 'Progress of ' + x.detail }) : null,
        ' ' + fmtBytes(x.bytes) + (x.size ? ' of ' + fmtBytes(x.size) : '')),
      h('td', { 'data-label': 'Rate', class: 'num' }, fmtRate(x.rate || 0)),
      h('td', { 'data-label': 'Elapsed', class: 'num' }, fmtDuration(x.elapsed_ms)))) :
      emptyRow(6, 'No transfer in flight.'))));
}

export function serverPage(main) {
  const body = h('div');
  replace(main, pageHeader('Server'), body);

  function render() {
    if (state.features.server === false) {
      replace(body, notice('idle', 'This bsdpd does not report its status (GET /api/v1/server); ' +
        'its Prometheus counters are at /metrics.'));
      return;
    }
    const cur = samples.length ? samples[samples.length - 1].s : null;
    if (!cur) {
      replace(body, notice(lastError ? 'bad' : 'idle', lastError ? 'Cannot read the status: ' + lastError : 'Loading…'));
      return;
    }
    const c = cur.counters || {};
    const services = Object.entries(cur.services || {}).map(([k, v]) =>
      badge(v === false || v === 'off' ? 'idle' : 'ok', k + (typeof v === 'string' ? ' ' + v : v ? ' on' : ' off')));
    const started = parseTime(cur.started);
    const selects = series('counters.bsdp.select');
    const bsdp = series('counters.bsdp.list').map((p, i) =>
      ({ t: p.t, v: p.v + (selects[i] ? selects[i].v : 0) }));
    replace(body,
      h('section', { class: 'panel facts' },
        h('dl', null,
          h('dt', null, 'Version'), h('dd', null, cur.version || '–'),
          h('dt', null, 'Up'), h('dd', { title: fmtDateTime(started) }, fmtDuration((cur.uptime_s || 0) * 1000)),
          h('dt', null, 'Services'), h('dd', { class: 'services' }, services),
          cur.gauges ? [h('dt', null, 'Machines'), h('dd', null, String(cur.gauges.machines ?? '–')),
            h('dt', null, 'Images'), h('dd', null, String(cur.gauges.catalog_images ?? '–') +
              (cur.gauges.catalog_problems ? ' (' + cur.gauges.catalog_problems +
                (cur.gauges.catalog_problems === 1 ? ' problem)' : ' problems)') : '')),
            h('dt', null, 'Database'), h('dd', null, cur.gauges.database_up === false
              ? 'away: ' + (cur.gauges.boot_records_queued ?? 0) + ' boot records wait to be written'
              : 'up')] : null),
        lastError ? notice('warn', 'Last poll failed: ' + lastError) : null),
      h('div', { class: 'charts' },
        chart('TFTP sent', series('counters.tftp.bytes_sent'), fmtRate),
        chart('HTTP sent', series('counters.http.bytes_sent'), fmtRate),
        chart('BSDP LIST + SELECT', bsdp, perMin),
        chart('TFTP transfers active', gaugeSeries('counters.tftp.active'), (v) => String(Math.round(v)))),
      h('section', { class: 'panel' }, h('h2', null, 'Transfers in flight'), transfersTable()),
      h('div', { class: 'counter-grid' },
        counterTable('BSDP', c.bsdp), counterTable('proxyDHCP', c.proxy),
        counterTable('TFTP', c.tftp), counterTable('HTTP', c.http)));
  }
  render();
  return subscribe(['server', 'transfers'], render);
}
