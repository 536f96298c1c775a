// SPDX-License-Identifier: MIT
// What the pages share: the records the API gave, the boots folded from
// the events, the transfers in flight, and a tiny publish/subscribe so a
// page redraws when what it shows changes (at most once per frame).

import { api } from './api.js';

export const state = {
  machines: new Map(),     // mac -> machine (GET /api/v1/machines)
  profiles: new Map(),     // name -> profile
  profilesLoaded: false,
  boots: new Map(),        // mac -> [boot], oldest first (boots.js)
  transfers: new Map(),    // id -> transfer object (event: transfer), with .seen
  eventsLoaded: false,
  features: { transfers: null, server: null }, // null: not known yet
};

const subscribers = new Map(); // topic -> Set(fn)
const pending = new Set();
let scheduled = false;

export function subscribe(topics, fn) {
  topics.forEach((t) => {
    if (!subscribers.has(t)) subscribers.set(t, new Set());
    subscribers.get(t).add(fn);
  });
  return () => topics.forEach((t) => subscribers.get(t).delete(fn));
}

export function publish(topic) {
  (subscribers.get(topic) || []).forEach((fn) => pending.add(fn));
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const fns = [...pending];
    pending.clear();
    fns.forEach((fn) => fn());
  });
}

export async function loadMachines() {
  const r = await api('GET', '/machines');
  state.machines = new Map((r.machines || []).map((m) => [m.mac, m]));
  publish('machines');
  return state.machines;
}

export async function loadProfiles() {
  const r = await api('GET', '/profiles');
  state.profiles = new Map((r.profiles || []).map((p) => [p.name, p]));
  state.profilesLoaded = true;
  publish('profiles');
  return state.profiles;
}

// How a machine is named on the pages: its hostname, else its MAC.
export function machineLabel(mac) {
  const m = state.machines.get(mac);
  if (m && m.hostname) return { primary: m.hostname, secondary: mac };
  return { primary: mac, secondary: '' };
}
