// SPDX-License-Identifier: MIT
// Building the page: every piece of text goes in as a text node, never as
// markup, so a hostname like <img src=x onerror=alert(1)> stays text.
// Nothing here sets innerHTML or a style attribute (the CSP forbids
// inline styles; classes do the styling).

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.setAttribute('class', value);
    else if (key === 'on') {
      for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    } else if (key === 'value') el.value = value;
    else if (key === 'checked' || key === 'selected' || key === 'disabled') el[key] = !!value;
    else if (key === 'style' || key.startsWith('on') || key === 'innerHTML') {
      throw new Error('dom: refusing to set ' + key);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
}

// h('td', {class: 'mac'}, text, child, ...)
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, kids);
  return el;
}

export function svg(tag, props, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, kids);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...kids) {
  clear(el);
  append(el, kids);
  return el;
}

// ---- formatting -------------------------------------------------------------

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + units[i];
}

export function fmtRate(bps) {
  return fmtBytes(Math.round(bps)) + '/s';
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || ms < 0) return '–';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return hrs + ' h ' + (m - hrs * 60) + ' min';
  return Math.floor(hrs / 24) + ' d';
}

export function fmtAgo(t, now = Date.now()) {
  if (!t) return 'never';
  const d = now - t;
  if (d < 5000) return 'just now';
  if (d < 60000) return Math.round(d / 1000) + ' s ago';
  return fmtDuration(d).replace(/ \d+ s$/, '') + ' ago';
}

export function fmtClock(t) {
  if (!t) return '–';
  const d = new Date(t);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function fmtDateTime(t) {
  if (!t) return '–';
  const d = new Date(t);
  return d.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function parseTime(s) {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? null : t;
}

// A small status pill: kind is ok, warn, bad, busy or idle.
export function badge(kind, text) {
  return h('span', { class: 'badge badge-' + kind }, text);
}

// ---- page furniture ---------------------------------------------------------

export function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, title), ...extra);
}

export function notice(kind, text) {
  return h('p', { class: 'notice notice-' + kind, role: kind === 'bad' ? 'alert' : null }, text);
}

export function emptyRow(cols, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: String(cols) }, text));
}

let toastTimer = 0;
// A short confirmation in the live region ("Saved next boot …").
export function toast(text, kind = 'ok') {
  const el = document.getElementById('toast');
  if (!el) return;
  replace(el, h('span', { class: 'toast-' + kind }, text));
  el.classList.add('shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('shown'), 4000);
}
