// SPDX-License-Identifier: MIT
// The JSON API (docs/api.md) and its event stream.  The token lives in
// sessionStorage only: it goes with the tab, never into localStorage or a
// cookie, and is sent as "Authorization: Bearer" on every call.

const TOKEN_KEY = 'bsdpd.token';

export const session = {
  token() { return sessionStorage.getItem(TOKEN_KEY); },
  save(t) { sessionStorage.setItem(TOKEN_KEY, t); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
};

// {"error","field"} from the API, with its status.
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || 'HTTP ' + status);
    this.status = status;
    this.field = (body && body.field) || null;
  }
}

let unauthorized = () => {};
// Called when the server stops taking the token (rotated, or bsdpd was
// set up afresh): the app goes back to the sign-in form.
export function onUnauthorized(fn) { unauthorized = fn; }

function headers(token, json) {
  const hd = { Authorization: 'Bearer ' + token, Accept: 'application/json' };
  if (json) hd['Content-Type'] = 'application/json';
  return hd;
}

// api('GET', '/machines') -> the parsed body; null for 204.
export async function api(method, path, body, token = session.token()) {
  const res = await fetch('/api/v1' + path, {
    method,
    headers: headers(token, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (res.status === 401 && token === session.token()) unauthorized();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Machines' MACs go into paths as they come, colons and all.
export function macPath(mac) { return encodeURIComponent(mac).replace(/%3A/gi, ':'); }

// ---- Server-Sent Events over fetch() ----------------------------------------
// EventSource cannot send an Authorization header, so the stream is read
// with fetch() and parsed here as the HTML standard's event stream format
// (§9.2.6): lines end in CR, LF or CRLF; "field: value"; a blank line
// dispatches; lines starting with ':' are comments (bsdpd's pings).

export class SseParser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.buf = '';
    this.type = '';
    this.data = [];
    this.id = null;       // the last id: field seen, kept across events
    this.retry = null;
    this.pendingCR = false;
  }

  push(chunk) {
    let text = this.buf + chunk;
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(text.slice(start, i));
      if (c === '\r') {
        if (i + 1 < text.length && text[i + 1] === '\n') i++;
        else if (i + 1 === text.length) this.pendingCR = true;
      }
      start = i + 1;
    }
    this.buf = text.slice(start);
  }

  line(l) {
    if (l === '') { this.fire(); return; }
    if (l[0] === ':') return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  fire() {
    const data = this.data.join('\n');
    const type = this.type || 'message';
    const hadData = this.data.length > 0;
    this.type = '';
    this.data = [];
    if (hadData) this.dispatch({ type, data, id: this.id });
  }
}

const STALL_MS = 40000;     // bsdpd pings every 15 s: silence this long is a dead stream
const BACKOFF_MAX_MS = 15000;

// Opens /api/v1/events/stream and keeps it open: after a drop it
// reconnects with Last-Event-ID and asks /api/v1/events for what it
// missed (so no boot event is lost whether or not the server replays),
// skipping ids already seen.  handlers: event(ev) for stored boot
// events, transfer(obj) for the live transfer progress, state(s) with
// 'live' | 'connecting' | 'offline'.  since (RFC 3339) is where the
// history starts: the first connection reads it from there.
export function openEventStream(handlers, since) {
  let lastId = 0;
  let lastTime = since;
  let stopped = false;
  let ctrl = null;
  let backoff = 1000;

  function deliver(ev) {
    if (typeof ev.id === 'number') {
      if (ev.id <= lastId) return;
      lastId = ev.id;
    }
    if (ev.time) lastTime = ev.time;
    handlers.event(ev);
  }

  function onMessage(m) {
    let obj;
    try { obj = JSON.parse(m.data); } catch (e) { return; }
    if (m.type === 'transfer') { if (handlers.transfer) handlers.transfer(obj); return; }
    if (obj && typeof obj === 'object' && obj.kind) deliver(obj);
  }

  async function backfill() {
    if (!lastTime) return;
    for (let page = 0; page < 10; page++) {
      const q = '?since=' + encodeURIComponent(lastTime) + '&limit=1000';
      const r = await api('GET', '/events' + q);
      const evs = (r && r.events) || [];
      const before = lastId;
      evs.forEach(deliver);
      if (evs.length < 1000 || lastId === before) break;
    }
  }

  async function once() {
    ctrl = new AbortController();
    let watchdog = 0;
    const kick = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => ctrl.abort(), STALL_MS);
    };
    const hd = { Authorization: 'Bearer ' + session.token(), Accept: 'text/event-stream' };
    if (lastId) hd['Last-Event-ID'] = String(lastId);
    try {
      kick();
      const res = await fetch('/api/v1/events/stream', {
        headers: hd, cache: 'no-store', credentials: 'omit', signal: ctrl.signal,
      });
      if (res.status === 401) { unauthorized(); return; }
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      backoff = 1000;
      await backfill();
      handlers.state('live');
      const parser = new SseParser(onMessage);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        kick();
        parser.push(value);
      }
    } catch (e) {
      // Aborted, refused or dropped: reconnect below.
    } finally {
      clearTimeout(watchdog);
    }
  }

  (async () => {
    handlers.state('connecting');
    while (!stopped && session.token()) {
      await once();
      if (stopped) break;
      handlers.state('offline');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      handlers.state('connecting');
    }
  })();

  return {
    close() { stopped = true; if (ctrl) ctrl.abort(); },
  };
}
