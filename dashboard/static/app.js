// The intercom dashboard: cards built from /api/devices, kept live by
// /api/events (SSE). Text from devices is only ever set as text (never as
// HTML), and the server's Content-Security-Policy forbids inline script.
'use strict';

const HISTORY = 120;           // points per sensor chart
const DRIVE_HZ = 20;           // drive mode: at most this many sets per second
const cards = new Map();       // id -> card state
let linkState = { broker: false, bridge: false, events: false };

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k);   // strings become text nodes
  return e;
}

function ago(iso) {
  if (!iso) return 'never seen';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 90) return `seen ${s} s ago`;
  if (s < 5400) return `seen ${Math.round(s / 60)} min ago`;
  if (s < 172800) return `seen ${Math.round(s / 3600)} h ago`;
  return `seen ${Math.round(s / 86400)} days ago`;
}

// A camera with motion detection: moving now, or when it last did.
function motionText(dev) {
  if (dev.motion === true) return 'motion now';
  const t = dev.last_event?.end || dev.last_event?.start;
  return t ? `last motion ${ago(t).replace('seen ', '')}` : 'no motion seen';
}

function fmtAge(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 90000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`;
}

function fmt(v) {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
  return v === undefined || v === null ? '–' : String(v);
}

function renderLink() {
  const b = document.getElementById('link');
  const ok = linkState.events && linkState.broker && linkState.bridge;
  b.textContent = !linkState.events ? 'reconnecting…' : !linkState.broker ? 'broker unreachable'
    : !linkState.bridge ? 'base unit offline' : 'live';
  b.className = 'badge' + (ok ? '' : ' off');
  for (const card of cards.values()) if (card.dev) updateCard(card, card.dev);
}

// --- commands ---

async function sendSet(id, values) {
  let res, body;
  try {
    res = await fetch(`/api/devices/${encodeURIComponent(id)}/set`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(values), credentials: 'same-origin',
    });
    body = await res.json().catch(() => ({ status: 'error', error: `HTTP ${res.status}` }));
  } catch (e) {
    body = { status: 'error', error: 'the dashboard is unreachable' };
  }
  if (res && res.status === 401) location.href = '/login';
  return body;
}

function showResult(span, r) {
  span.textContent = r.status + (r.error ? `: ${r.error}` : '');
  span.className = 'result ' + (r.status === 'ok' ? 'ok' : 'bad');
}

// Sends the newest value of a control, at most one request in flight: a
// slider dragged across its range costs a few sets, not one per pixel.
function latestSender(id, resultSpan, onRtt) {
  let pending = null, busy = false;
  return async function send(values) {
    pending = values;
    if (busy) return;
    busy = true;
    while (pending) {
      const v = pending;
      pending = null;
      resultSpan.textContent = '…';
      resultSpan.className = 'result';
      const t0 = performance.now(), r = await sendSet(id, v);
      if (onRtt && r.status === 'ok') onRtt(performance.now() - t0);
      showResult(resultSpan, r);
    }
    busy = false;
  };
}

// --- cards ---

function sparkline(points) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', '0 0 100 30');
  svg.setAttribute('preserveAspectRatio', 'none');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  svg.append(line);
  svg.update = () => {
    if (points.length < 2) { line.setAttribute('points', ''); return; }
    const vs = points.map(p => p[1]);
    const lo = Math.min(...vs), hi = Math.max(...vs), span = hi - lo || 1;
    const t0 = points[0][0], tspan = points[points.length - 1][0] - t0 || 1;
    line.setAttribute('points', points.map(([t, v]) =>
      `${((t - t0) / tspan * 100).toFixed(2)},${(28 - (v - lo) / span * 26).toFixed(2)}`).join(' '));
  };
  svg.update();
  return svg;
}

function controlRow(dev, c, card) {
  const result = el('span', { class: 'result' });
  const send = latestSender(dev.id, result);
  let input;
  if (c.type === 'switch') {
    input = el('button', {
      type: 'button', 'aria-pressed': 'false', 'data-control': c.name,
      onclick: () => send({ [c.name]: input.getAttribute('aria-pressed') === 'true' ? 'OFF' : 'ON' }),
    }, 'OFF');
    input.set = v => { const on = v === 'ON'; input.setAttribute('aria-pressed', String(on)); input.textContent = on ? 'ON' : 'OFF'; };
  } else if (c.type === 'range') {
    const shown = el('span', { class: 'value' });
    input = el('input', { type: 'range', min: c.min, max: c.max, step: c.step || 'any', 'data-control': c.name,
      oninput: () => { shown.textContent = input.value; send({ [c.name]: Number(input.value) }); } });
    input.set = v => { if (document.activeElement !== input) input.value = v; shown.textContent = fmt(v); };
    input.extra = shown;
  } else {
    input = el('select', { 'data-control': c.name, onchange: () => send({ [c.name]: input.value }) },
      ...(c.values || []).map(v => el('option', { value: v }, v)));
    input.set = v => { input.value = v; };
  }
  card.inputs.set(c.name, input);
  card.results.set(c.name, result);
  const safe = c.failsafe ? el('small', { class: 'failsafe' }, ` safe ${c.failsafe.value} after ${c.failsafe.after_ms} ms`) : null;
  return el('div', { class: 'row' }, el('span', { class: 'name' }, c.name, safe), input, input.extra || el('span'), result);
}

function sensorRow(dev, s, card) {
  const value = el('span', { class: 'value' });
  const points = card.history.get(s.name) || [];
  card.history.set(s.name, points);
  const chart = sparkline(points);
  card.values.set(s.name, { value, unit: s.unit, chart, points });
  return el('div', { class: 'row' }, el('span', { class: 'name' }, s.name), value, el('span', { class: 'sub' }, s.unit), chart);
}

// A camera's picture, fetched as snapshots (never a held stream: a browser
// keeps at most six connections to one host for all its tabs, and a set must
// never wait behind pictures). Only while the picture is on screen and the
// tab visible; small (the thumbnail) in the overview, full size once opened.
// A frame already shown costs a 304 and no bytes (its ETag).
const CAM_FULL_MS = 100, CAM_THUMB_MS = 2000;   // an opened camera: up to 10 pictures a second
function cameraView(id, { full = false, onAge } = {}) {
  const img = el('img', { class: 'cam' + (full ? ' open' : ''), alt: `camera ${id}` });
  let visible = false, running = false, etag = '', url = '', wake = null;
  const view = { img, full, stopped: false };
  const nap = ms => new Promise(r => { wake = r; setTimeout(r, ms); });
  async function loop() {
    running = true;
    while (visible && !document.hidden && !view.stopped) {
      const t0 = performance.now();
      try {
        const res = await fetch(`/api/devices/${encodeURIComponent(id)}/snapshot.jpg${view.full ? '' : '?size=thumb'}`,
          { credentials: 'same-origin', headers: etag ? { 'If-None-Match': etag } : {} });
        if (res.status === 200) {
          etag = res.headers.get('ETag') || '';
          const next = URL.createObjectURL(await res.blob());
          img.src = next;
          if (url) URL.revokeObjectURL(url);
          url = next;
        }
        if ((res.status === 200 || res.status === 304) && onAge)
          onAge(Number(res.headers.get('X-Frame-Age-Ms')) + (performance.now() - t0) / 2);
      } catch { /* the dashboard is unreachable: try again later */ }
      await nap(view.full ? CAM_FULL_MS : CAM_THUMB_MS);
    }
    running = false;
  }
  const kick = () => { if (visible && !document.hidden && !running && !view.stopped) loop(); else if (wake) wake(); };
  new IntersectionObserver(es => { visible = es.some(e => e.isIntersecting); kick(); }).observe(img);
  document.addEventListener('visibilitychange', kick);
  view.setFull = f => { view.full = f; etag = ''; img.classList.toggle('open', f); kick(); };
  view.stop = () => { view.stopped = true; if (wake) wake(); };
  view.start = () => { view.stopped = false; kick(); };
  return view;
}

function drivePanel(dev, throttle, steering, card) {
  const result = el('span', { class: 'result' });
  const send = latestSender(dev.id, result, ms => { rtt.textContent = `round trip ${Math.round(ms)} ms`; });
  const held = new Set();
  let on = false, last = null, timer = null, padHeld = new Set();
  const scale = (c, dir) => dir > 0 ? c.max : dir < 0 ? c.min : Math.min(Math.max(0, c.min), c.max);
  const snap = (c, v) => { const st = c.step || 1; return Math.min(c.max, Math.max(c.min, Math.round(v / st) * st)); };

  // Keys ramp: a held arrow goes from nothing to full in RAMP_MS, so a tap is
  // a little and a hold is a lot; letting go is zero at once.
  const RAMP_MS = 600;
  const since = new Map();                     // key -> when it went down
  const ramp = key => since.has(key) ? Math.min(1, (performance.now() - since.get(key)) / RAMP_MS) : 0;
  function target() {
    const keys = new Set([...held, ...padHeld]);
    for (const k of [...since.keys()]) if (!keys.has(k)) since.delete(k);
    for (const k of keys) if (!since.has(k)) since.set(k, performance.now());
    const t = (keys.has('ArrowUp') ? ramp('ArrowUp') : 0) - (keys.has('ArrowDown') ? ramp('ArrowDown') : 0);
    const s = (keys.has('ArrowRight') ? ramp('ArrowRight') : 0) - (keys.has('ArrowLeft') ? ramp('ArrowLeft') : 0);
    let tv = snap(throttle, t > 0 ? t * throttle.max : -t * throttle.min), sv = snap(steering, s > 0 ? s * steering.max : -s * steering.min);
    if (t === 0) tv = scale(throttle, 0);
    if (s === 0) sv = scale(steering, 0);
    const pads = navigator.getGamepads ? [...navigator.getGamepads()].filter(Boolean) : [];
    if (pads.length && !keys.size) {           // left stick: x steers, y (up is negative) drives
      const [x, y] = pads[0].axes;
      const dz = v => Math.abs(v) < 0.12 ? 0 : v;
      tv = snap(throttle, -dz(y) * (dz(y) < 0 ? throttle.max : -throttle.min));
      sv = snap(steering, dz(x) * (dz(x) > 0 ? steering.max : -steering.min));
    }
    return { [throttle.name]: tv, [steering.name]: sv };
  }
  // A held control is sent again before the car's failsafe would stop it
  // (five tries within its time, so one lost set does not stop the car);
  // letting go, leaving the tab, closing it or losing the dashboard sends
  // the safe value at once, and the car stops by itself if even that is lost.
  const failsafes = [throttle, steering].map(c => c.failsafe && c.failsafe.after_ms).filter(Boolean);
  const refreshMs = failsafes.length ? Math.max(50, Math.min(...failsafes) / 5) : 0;
  let sentAt = 0;
  const neutral = t => t[throttle.name] === scale(throttle, 0) && t[steering.name] === scale(steering, 0);
  function tick() {
    const t = target(), now = performance.now();
    const changed = !last || t[throttle.name] !== last[throttle.name] || t[steering.name] !== last[steering.name];
    if (changed || (refreshMs && !neutral(t) && now - sentAt >= refreshMs)) {
      last = t;
      sentAt = now;
      send(t);                                 // newest wins: latestSender drops stale values
    }
  }
  function stop() {
    held.clear(); padHeld.clear();
    if (last && !neutral(last)) tick();
  }
  // The page is going away: a normal request may be cancelled, a keepalive one is not.
  function stopNow() {
    if (!on || !last || neutral(last)) return;
    held.clear(); padHeld.clear();
    last = target();
    fetch(`/api/devices/${encodeURIComponent(dev.id)}/set`, { method: 'POST', keepalive: true,
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(last), credentials: 'same-origin' })
      .catch(() => {});
  }
  // The car's own camera (a camera unit with the id DEVICE-cam) beside the controls while driving.
  const rtt = el('span', { class: 'sub' }), age = el('span', { class: 'sub' });
  const camView = cameraView(dev.id + '-cam', { full: true, onAge: ms => { age.textContent = `picture ${fmtAge(ms)} old`; } });
  camView.stop();
  const view = camView.img;
  view.hidden = true;
  view.alt = `camera of ${dev.id}`;
  const toggle = el('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
    on = !on;
    toggle.setAttribute('aria-pressed', String(on));
    box.classList.toggle('on', on);
    pad.hidden = !on;
    view.hidden = !on;
    if (on) camView.start(); else camView.stop();
    if (on) box.scrollIntoView({ block: 'nearest' });   // picture and pad in view (a phone held sideways)
    if (on) { timer = setInterval(tick, Math.min(1000 / DRIVE_HZ, refreshMs || Infinity)); tick(); }
    else { stop(); tick(); clearInterval(timer); last = null; }
  } }, 'Drive mode');
  const padKey = (key, label) => el('button', { type: 'button', 'data-key': key,
    onpointerdown: e => { e.preventDefault(); padHeld.add(key); },
    onpointerup: () => padHeld.delete(key), onpointerleave: () => padHeld.delete(key),
    onpointercancel: () => padHeld.delete(key) }, label);
  const pad = el('div', { class: 'pad', hidden: '' },
    el('span', { class: 'gap' }), padKey('ArrowUp', '▲'), el('span', { class: 'gap' }),
    padKey('ArrowLeft', '◀'), padKey('ArrowDown', '▼'), padKey('ArrowRight', '▶'));
  window.addEventListener('keydown', e => {
    if (on && e.key.startsWith('Arrow')) { e.preventDefault(); held.add(e.key); }
  });
  window.addEventListener('keyup', e => { if (held.delete(e.key)) tick(); });
  window.addEventListener('blur', stop);
  window.addEventListener('offline', stop);
  window.addEventListener('pagehide', stopNow);
  document.addEventListener('visibilitychange', () => { if (document.hidden) { stop(); } });
  card.stopDriving = stop;                     // the event stream lost: stop (connect())
  const box = el('div', { class: 'drive' }, view,
    el('div', null, el('p', { class: 'hint' }, 'Arrow keys (they ramp up), the pad or a gamepad; let go and it stops.' +
      (failsafes.length ? ` The car stops by itself ${Math.min(...failsafes)} ms after its commands stop.` : '')), pad, result,
      el('div', { class: 'camrow' }, rtt, age)));
  card.driveBox = box;
  return el('div', null, toggle, box);
}

function shape(dev) {
  return JSON.stringify([dev.name, dev.kind, dev.camera, dev.sensors, dev.controls]);
}

function buildCard(dev) {
  const card = { id: dev.id, shape: shape(dev), values: new Map(), inputs: new Map(), results: new Map(),
                 history: cards.get(dev.id)?.history || new Map() };
  const badge = el('span', { class: 'badge' });
  const seen = el('span', { class: 'sub' });
  const title = el('div', null, el('h2', null, dev.name), dev.name !== dev.id ? el('span', { class: 'sub' }, dev.id + ' ') : null, seen);
  const root = el('section', { class: 'card', 'data-device': dev.id }, el('div', { class: 'top' }, title, badge));
  card.root = root; card.badge = badge; card.seen = seen;
  for (const s of dev.sensors || []) root.append(sensorRow(dev, s, card));
  const controls = dev.controls || [];
  const throttle = controls.find(c => c.name === 'throttle' && c.type === 'range');
  const steering = controls.find(c => c.name === 'steering' && c.type === 'range');
  for (const c of controls) root.append(controlRow(dev, c, card));
  if (dev.camera) {
    const age = el('span', { class: 'sub age' });
    const view = cameraView(dev.id, { onAge: ms => { age.textContent = `picture ${fmtAge(ms)} old`; } });
    const open = el('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
      view.setFull(!view.full);
      open.setAttribute('aria-pressed', String(view.full));
      open.textContent = view.full ? 'Small' : 'Open';
    } }, 'Open');
    view.img.addEventListener('click', () => open.click());
    view.img.addEventListener('dblclick', () => view.img.requestFullscreen?.().catch(() => {}));
    const snap = el('a', { href: `/api/devices/${encodeURIComponent(dev.id)}/snapshot.jpg`, download: `${dev.id}.jpg` },
      el('button', { type: 'button', tabindex: '-1' }, 'Snapshot'));
    card.cam = view.img;
    card.motion = el('span', { class: 'motion', hidden: '' });
    root.append(view.img, el('div', { class: 'camrow' }, open, snap, age, card.motion));
  }
  if (throttle && steering) {
    root.classList.add('wide');
    root.append(drivePanel(dev, throttle, steering, card));
  }
  return card;
}

// A device is reachable only while the page has its event stream, the
// dashboard has the broker and the base unit is online: otherwise its last
// availability is history, and the card says so and takes no commands.
const reachable = () => linkState.events && linkState.broker && linkState.bridge;

function updateCard(card, dev) {
  card.dev = dev;
  const reach = reachable(), online = reach && dev.online;
  card.badge.textContent = !reach ? 'unreachable' : online ? 'online' : 'offline';
  card.badge.className = 'badge' + (online ? '' : ' off');
  card.badge.title = !reach ? (linkState.bridge ? 'the dashboard has lost its link' : 'the base unit is offline') : '';
  card.root.classList.toggle('unreachable', !reach);
  for (const input of card.inputs.values()) input.disabled = !online;
  card.seen.textContent = ago(dev.last_seen);
  if (card.motion) {
    card.motion.hidden = dev.motion === null || dev.motion === undefined;
    card.motion.textContent = motionText(dev);
    card.motion.classList.toggle('on', dev.motion === true);
  }
  for (const [name, v] of card.values) {
    const x = dev.state?.[name];
    v.value.textContent = fmt(x);
  }
  for (const [name, input] of card.inputs) if (dev.state && name in dev.state) input.set(dev.state[name]);
}

function render(devices) {
  const main = document.getElementById('devices');
  const seen = new Set();
  for (const dev of devices) {
    seen.add(dev.id);
    let card = cards.get(dev.id);
    if (!card || card.shape !== shape(dev)) {
      const fresh = buildCard(dev);
      if (card) card.root.replaceWith(fresh.root); else main.append(fresh.root);
      cards.set(dev.id, fresh);
      card = fresh;
      if (dev.sensors?.length) loadHistory(dev.id);
    }
    updateCard(card, dev);
  }
  for (const [id, card] of cards) if (!seen.has(id)) { card.root.remove(); cards.delete(id); }
  document.getElementById('empty').hidden = devices.length > 0;
}

async function loadHistory(id) {
  const res = await fetch(`/api/devices/${encodeURIComponent(id)}`, { credentials: 'same-origin' });
  if (!res.ok) return;
  const dev = await res.json();
  const card = cards.get(id);
  if (!card) return;
  for (const [name, v] of card.values) {
    v.points.splice(0, v.points.length, ...(dev.history?.[name] || []));
    v.chart.update();
  }
}

function onState(id, state) {
  const card = cards.get(id);
  if (!card) return;
  card.dev = { ...card.dev, state, last_seen: state.last_seen || card.dev.last_seen };
  const t = state.last_seen ? Date.parse(state.last_seen) : Date.now();
  for (const [name, v] of card.values) {
    if (typeof state[name] === 'number') {
      v.points.push([t, state[name]]);
      if (v.points.length > HISTORY) v.points.splice(0, v.points.length - HISTORY);
      v.chart.update();
    }
  }
  updateCard(card, card.dev);
}

// What the event stream says, wherever it comes from (this tab's own stream
// or another tab's, below).
const handlers = {
  link: d => {
    linkState.events = d.events;
    renderLink();
    if (!d.events) for (const c of cards.values()) if (c.stopDriving) c.stopDriving();
  },
  snapshot: d => {
    linkState = { broker: d.broker, bridge: d.bridge, events: true };
    renderLink();
    render(d.devices);
  },
  devices: d => render(d.devices),
  state: d => onState(d.id, d.state),
  availability: d => {
    const card = cards.get(d.id);
    if (card) updateCard(card, { ...card.dev, online: d.online });
  },
  result: d => {
    const card = cards.get(d.device);
    if (!card || !d.result || String(d.result.id || '').startsWith('dash-')) return;   // ours arrive as HTTP answers
    for (const span of card.results.values()) showResult(span, d.result);
  },
  seen: d => {                                 // a camera's newest frame
    const card = cards.get(d.id);
    if (card) card.dev = { ...card.dev, last_seen: d.last_seen };
  },
  motion: d => {
    const card = cards.get(d.id);
    if (card) updateCard(card, { ...card.dev, motion: d.motion, motion_since: d.since });
  },
  motion_event: d => {
    const card = cards.get(d.id);
    if (card) updateCard(card, { ...card.dev, last_event: d.event });
  },
  recording: () => recordings.changed(),
  bridge: d => { linkState.bridge = d.online; renderLink(); },
  broker: d => { linkState.broker = d.connected; renderLink(); },
};

// Recordings (GET /api/recordings): what cameras showed while they saw
// motion, newest first, a page at a time; the player paces the frames by
// their recorded times and fetches each once (the server lets it be cached).
const recordings = (() => {
  const section = document.getElementById('recordings'), list = document.getElementById('rec-list');
  const more = document.getElementById('rec-more'), camSel = document.getElementById('rec-camera');
  const dlg = document.getElementById('player'), img = document.getElementById('play-img');
  const pos = document.getElementById('play-pos'), toggle = document.getElementById('play-toggle');
  const time = document.getElementById('play-time'), title = document.getElementById('play-title');
  const download = document.getElementById('play-download'), del = document.getElementById('play-delete');
  const PAGE = 24;
  let oldest = 0, timer = null, reloadTimer = null, ev = null, frame = 0;
  const cameras = new Set();
  const frameUrl = (id, i) => `/api/recordings/${id}/frames/${i}.jpg`;
  const when = iso => new Date(iso).toLocaleString();

  function item(e) {
    const name = cards.get(e.camera)?.dev?.name || e.camera;
    const meta = el('span', { class: 'meta' }, el('b', null, name), el('br'), when(e.start), el('br'),
      e.recording ? el('span', { class: 'live' }, 'recording') : `${e.seconds.toFixed(1)} s, ${e.frames} frames`);
    const b = el('button', { type: 'button', 'data-recording': String(e.id), onclick: () => open(e.id) },
      el('img', { src: `/api/recordings/${e.id}/thumb.jpg`, alt: `${name} at ${when(e.start)}`, loading: 'lazy' }), meta);
    if (e.recording) b.disabled = true;
    return el('li', null, b);
  }

  async function load(append) {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (camSel.value) q.set('camera', camSel.value);
    if (append && oldest) q.set('before', String(oldest));
    const res = await fetch(`/api/recordings?${q}`, { credentials: 'same-origin' });
    if (res.status === 404) { section.hidden = true; return; }   // recordings are off
    if (!res.ok) return;
    const events = await res.json();
    section.hidden = false;
    if (!append) list.replaceChildren();
    for (const e of events) {
      list.append(item(e));
      if (!cameras.has(e.camera)) { cameras.add(e.camera); camSel.append(el('option', { value: e.camera }, e.camera)); }
    }
    if (events.length) oldest = events[events.length - 1].id;
    more.hidden = events.length < PAGE;
    document.getElementById('rec-empty').hidden = list.children.length > 0;
  }

  function show(i) {
    frame = Math.max(0, Math.min(i, ev.frame_ms.length - 1));
    img.src = frameUrl(ev.id, frame);
    pos.value = String(frame);
    const t = ev.frame_ms[frame] / 1000, total = (ev.frame_ms[ev.frame_ms.length - 1] || 0) / 1000;
    time.textContent = `${t.toFixed(1)} s of ${total.toFixed(1)} s`;
    if (frame + 1 < ev.frame_ms.length) new Image().src = frameUrl(ev.id, frame + 1);   // the next, ahead
  }
  function stop() { clearTimeout(timer); timer = null; toggle.textContent = 'Play'; }
  function play() {
    if (!ev || !ev.frame_ms.length) return;
    if (frame >= ev.frame_ms.length - 1) show(0);
    toggle.textContent = 'Pause';
    const step = () => {
      if (frame >= ev.frame_ms.length - 1) { stop(); return; }
      const wait = ev.frame_ms[frame + 1] - ev.frame_ms[frame];
      timer = setTimeout(() => { show(frame + 1); step(); }, Math.max(0, Math.min(wait, 5000)));
    };
    step();
  }
  async function open(id) {
    const res = await fetch(`/api/recordings/${id}`, { credentials: 'same-origin' });
    if (!res.ok) return;
    ev = await res.json();
    title.textContent = `${cards.get(ev.camera)?.dev?.name || ev.camera}, ${when(ev.start)}`;
    pos.max = String(Math.max(0, ev.frame_ms.length - 1));
    download.href = `/api/recordings/${id}/clip.mjpeg`;
    show(0);
    if (!dlg.open) dlg.showModal();
    play();
  }

  toggle.addEventListener('click', () => (timer ? stop() : play()));
  pos.addEventListener('input', () => { stop(); show(Number(pos.value)); });
  document.getElementById('play-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => { stop(); img.removeAttribute('src'); ev = null; });
  dlg.addEventListener('keydown', e => {
    if (e.key === ' ') { e.preventDefault(); toggle.click(); }
    else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') { e.preventDefault(); stop(); show(frame + (e.key === 'ArrowRight' ? 1 : -1)); }
  });
  del.addEventListener('click', async () => {
    if (!ev || !confirm('Delete this recording?')) return;
    const res = await fetch(`/api/recordings/${ev.id}/delete`, { method: 'POST', credentials: 'same-origin' });
    if (res.ok) { dlg.close(); load(false); }
  });
  more.addEventListener('click', () => load(true));
  camSel.addEventListener('change', () => { oldest = 0; load(false); });
  return {
    load,
    changed() { clearTimeout(reloadTimer); reloadTimer = setTimeout(() => { oldest = 0; load(false); }, 500); },
  };
})();
recordings.load(false);

// One event stream for all of this browser's tabs: a browser keeps at most
// six connections to one host, and five tabs each holding a stream would
// leave a set nothing to go on. The tab that holds the lock opens the stream
// and passes every event on over a BroadcastChannel; when it closes, another
// tab gets the lock and opens its own. A new tab asks for the current state.
const bus = 'BroadcastChannel' in window ? new BroadcastChannel('intercom-events') : null;
let leader = !(bus && navigator.locks);

function connect() {
  const es = new EventSource('/api/events');
  const relay = (type, data) => {
    handlers[type](data);
    if (bus) bus.postMessage({ type, data });
  };
  es.addEventListener('open', () => relay('link', { events: true }));
  es.addEventListener('error', () => {
    relay('link', { events: false });
    if (es.readyState === EventSource.CLOSED) {          // e.g. the session expired
      fetch('/api/devices', { credentials: 'same-origin' }).then(r => {
        if (r.status === 401) location.href = '/login'; else setTimeout(connect, 2000);
      }, () => setTimeout(connect, 2000));
    }
  });
  for (const type of Object.keys(handlers))
    if (type !== 'link') es.addEventListener(type, e => relay(type, JSON.parse(e.data)));
}

if (bus) bus.onmessage = m => {
  const { type, data } = m.data || {};
  if (leader) {
    if (type === 'want-snapshot')
      bus.postMessage({ type: 'snapshot', data: { broker: linkState.broker, bridge: linkState.bridge,
        devices: [...cards.values()].map(c => c.dev).filter(Boolean) } });
  } else if (handlers[type]) {
    handlers[type](data);
  }
};
if (leader) {
  connect();
} else {
  navigator.locks.request('intercom-events', () => new Promise(() => { leader = true; connect(); }));
  bus.postMessage({ type: 'want-snapshot' });
}

setInterval(() => {
  for (const card of cards.values()) {
    if (!card.dev) continue;
    card.seen.textContent = ago(card.dev.last_seen);
    if (card.motion && !card.motion.hidden) card.motion.textContent = motionText(card.dev);
  }
}, 1000);
