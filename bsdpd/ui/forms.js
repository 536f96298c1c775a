// SPDX-License-Identifier: MIT
// Forms that save through the API: each input knows the API field it
// carries (data-field), so an {"error","field"} answer is shown beside
// that input, and anything else above the buttons.

import { h, replace } from './dom.js';
import { ApiError } from './api.js';

let uid = 0;

// A labelled field.  input: an <input>, <select> or <textarea>; field:
// the API's name for it ("hostname", "selector.mac_prefix", ...).
export function field(label, input, apiField, help) {
  const id = input.id || 'f' + (++uid);
  input.id = id;
  input.dataset.field = apiField;
  const err = h('p', { class: 'field-error', id: id + '-error', hidden: true });
  const describedBy = [];
  let helpEl = null;
  if (help) {
    helpEl = h('p', { class: 'help', id: id + '-help' }, help);
    describedBy.push(helpEl.id);
  }
  if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
  return h('div', { class: 'field', 'data-for': apiField },
    h('label', { for: id }, label), input, helpEl, err);
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => { e.hidden = true; e.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((e) => {
    e.removeAttribute('aria-invalid');
    const d = (e.getAttribute('aria-describedby') || '').split(' ')
      .filter((x) => x && !x.endsWith('-error'));
    if (d.length) e.setAttribute('aria-describedby', d.join(' '));
    else e.removeAttribute('aria-describedby');
  });
  const top = form.querySelector('.form-error');
  if (top) { top.hidden = true; top.textContent = ''; }
}

// The input an API field name belongs to: the field itself, or the
// nearest enclosing one ("labels.room" -> "labels", "initrds[1]" -> "initrds").
function inputFor(form, name) {
  let n = name || '';
  while (n) {
    const el = form.querySelector('[data-field="' + CSS.escape(n) + '"]');
    if (el) return el;
    const cut = Math.max(n.lastIndexOf('.'), n.lastIndexOf('['));
    n = cut > 0 ? n.slice(0, cut) : '';
  }
  return null;
}

export function showError(form, ex) {
  clearErrors(form);
  const msg = ex instanceof ApiError ? ex.message : 'Cannot reach the API: ' + ex.message;
  const input = ex instanceof ApiError ? inputFor(form, ex.field) : null;
  if (input) {
    const err = form.querySelector('#' + CSS.escape(input.id + '-error'));
    err.textContent = msg;
    err.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    const d = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    d.push(err.id);
    input.setAttribute('aria-describedby', d.join(' '));
    input.focus();
    return;
  }
  const top = form.querySelector('.form-error');
  top.textContent = (ex instanceof ApiError && ex.field ? ex.field + ': ' : '') + msg;
  top.hidden = false;
  top.focus();
}

export function formError() {
  return h('p', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
}

// A modal <dialog> holding a form; Escape and Cancel close it, and focus
// goes back to what opened it.
export function openDialog(title, buildForm) {
  const opener = document.activeElement;
  const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
  const close = () => { dlg.close(); };
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  const form = buildForm(close);
  replace(dlg, h('h2', { id: 'dlg-title' }, title), form);
  document.body.appendChild(dlg);
  dlg.showModal();
  const first = form.querySelector('input:not([type=hidden]):not([disabled]), select, textarea');
  if (first) first.focus();
  return dlg;
}

export function buttons(...kids) {
  return h('div', { class: 'buttons' }, ...kids);
}

// Text of "key=value" lines <-> a labels object.
export function labelsText(labels) {
  return Object.entries(labels || {}).map(([k, v]) => k + '=' + v).join('\n');
}

export function parseLabels(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    const eq = l.indexOf('=');
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq).trim()] = l.slice(eq + 1).trim();
  }
  return out;
}

export function lines(text) {
  return text.split('\n').map((s) => s.trim()).filter(Boolean);
}

export function select(id, options, value) {
  const s = h('select', { id });
  options.forEach(([v, label]) => s.appendChild(h('option', { value: v, selected: v === value }, label)));
  return s;
}

export const LOCAL_METHODS = ['auto', 'exit', 'sanboot', 'refuse', 'reboot'];
