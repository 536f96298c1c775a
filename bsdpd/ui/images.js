// SPDX-License-Identifier: MIT
// Images: the NetBoot catalog as bsdpd serves it (GET /api/v1/catalog):
// each image, the bundles left out or warned about, the default, and
// which Mac selected which image (selections, when bsdpd reports them).

import { api } from './api.js';
import { h, replace, fmtAgo, fmtDateTime, parseTime, badge, pageHeader, notice, emptyRow } from './dom.js';
import { state } from './state.js';

function hex(id) { return '0x' + Number(id).toString(16).padStart(8, '0'); }

function imagesTable(images, defaultId) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
    h('caption', { class: 'sr-only' }, 'NetBoot images'),
    h('thead', null, h('tr', null, ['Name', 'ID', 'Bundle', 'Type', 'Arch', 'Booter', 'State']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, images.length ? images.map((im) => h('tr', null,
      h('td', { 'data-label': 'Name', class: 'wrap' }, im.name,
        im.id === defaultId || (defaultId === undefined && im.default) ? [' ', badge('idle', 'default')] : null),
      h('td', { 'data-label': 'ID', class: 'mono', title: 'Index ' + (im.id & 0xffff) }, hex(im.id)),
      h('td', { 'data-label': 'Bundle', class: 'wrap mono' }, im.bundle),
      h('td', { 'data-label': 'Type' }, im.type + ' (kind ' + im.kind + ')'),
      h('td', { 'data-label': 'Arch' }, (im.arch || []).join(', ')),
      h('td', { 'data-label': 'Booter', class: 'wrap mono' }, im.booter),
      h('td', { 'data-label': 'State' }, im.enabled ? badge('ok', 'enabled') : badge('warn', 'disabled'))))
      : emptyRow(7, 'No image: bsdpd answers no Mac until --root holds a valid NAME.nbi bundle.'))));
}

function problemsList(problems) {
  if (!problems.length) return h('p', { class: 'muted' }, 'No problem: every bundle under --root is served.');
  return h('ul', { class: 'problems' }, problems.map((p) => h('li', null,
    badge(p.severity === 'error' ? 'bad' : 'warn', p.severity), ' ',
    h('span', { class: 'mono' }, p.bundle), ': ', p.error)));
}

function selectionsTable(sel, images) {
  const names = new Map(images.map((im) => [im.id, im.name]));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'grid' },
    h('caption', { class: 'sr-only' }, 'Selections'),
    h('thead', null, h('tr', null, ['Mac', 'Hostname', 'Image', 'Machine name', 'Selected']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, sel.length ? sel.map((s) => {
      const m = state.machines.get(s.mac);
      const t = parseTime(s.time);
      return h('tr', null,
        h('td', { 'data-label': 'Mac', class: 'mono' }, s.mac),
        h('td', { 'data-label': 'Hostname' }, (m && m.hostname) || '–'),
        h('td', { 'data-label': 'Image' }, s.image || names.get(s.image_id) ||
          h('span', { class: 'muted' }, hex(s.image_id) + ' (not in the catalog)')),
        h('td', { 'data-label': 'Machine name', class: 'mono' },
          'NetBoot' + String(s.number).padStart(3, '0')),
        h('td', { 'data-label': 'Selected', title: fmtDateTime(t) }, fmtAgo(t)));
    }) : emptyRow(5, 'No Mac has selected an image yet.'))));
}

export function imagesPage(main) {
  const body = h('div', null, notice('idle', 'Loading the catalog…'));
  replace(main, pageHeader('Images'), body);
  let alive = true;
  api('GET', '/catalog').then((c) => {
    if (!alive) return;
    const images = c.images || [];
    const problems = c.problems || [];
    const def = 'default' in c ? c.default : undefined;
    const defImg = images.find((im) => (def === undefined ? im.default : im.id === def));
    replace(body,
      h('section', { class: 'panel', 'aria-labelledby': 'cat-h' },
        h('div', { class: 'section-head' }, h('h2', { id: 'cat-h' }, 'Catalog'),
          h('p', { class: 'muted' }, images.length + ' image' + (images.length === 1 ? '' : 's') +
            ' · default: ' + (defImg ? defImg.name : 'none'))),
        imagesTable(images, def)),
      h('section', { class: 'panel', 'aria-labelledby': 'prob-h' },
        h('h2', { id: 'prob-h' }, 'Problems'), problemsList(problems)),
      Array.isArray(c.selections)
        ? h('section', { class: 'panel', 'aria-labelledby': 'sel-h' },
          h('div', { class: 'section-head' }, h('h2', { id: 'sel-h' }, 'Selections'),
            h('p', { class: 'muted' }, c.selections.length + ' Mac' + (c.selections.length === 1 ? '' : 's') +
              ' bound, newest first')),
          selectionsTable(c.selections, images))
        : null);
  }).catch((ex) => {
    if (alive) replace(body, notice('bad', 'Cannot load the catalog: ' + ex.message));
  });
  return () => { alive = false; };
}
