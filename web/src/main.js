// The command-centre page: wires the map, the panel, the filters and the live
// stream together. State lives here; map.js and panel.js only draw.
//
// The screen is the logged-in user's: it starts with the login form when there
// is no session (auth.js), shows the areas of the user's jurisdiction (the
// overview answers under row-level security) and offers only the layers and
// panels the user's capabilities allow (GET /api/v1/session says which).
import './app.css';
import maplibregl from 'maplibre-gl';
import * as api from './api.js';
import * as auth from './auth.js';
import * as households from './households.js';
import { createMap, LAYERS } from './map.js';
import * as panel from './panel.js';
import { kpisFor } from './kpis.js';
import { t, setLang, getLang, applyI18n, onLangChange, dateTime } from './i18n.js';

const LEVELS = ['district', 'street', 'community', 'grid', 'micro_grid'];

const state = {
  preset: '30d',
  customFrom: '', // yyyy-mm-dd, China time
  customTo: '',
  category: '',
  severity: '',
  chain: [], // selected unit and its ancestors: [{level, code, name}], root first
  visible: new Set(LAYERS.filter((l) => l.on).map((l) => l.key)),
};

const app = {
  state, map: null, ctl: null, cats: new Map(), units: new Map(), tags: [],
  // The areas the server knows (GET /api/v1/overview: a root admin unit and its
  // subtree, or a city's districts together), the one with the most households
  // first, and the one on screen: the map fits it, and the panel's figures and
  // drill-down stay inside it.
  areas: [], area: null,
  // The units from the top down to the area's root when the area is one unit
  // (a district, a jurisdiction's street or grid): the drill-down starts below it.
  rootChain: [],
  // Who is logged in (GET /api/v1/session) and what their roles allow.
  session: null, caps: new Set(),
  ready: false, streamOpen: false, kpis: null, kpiRequest: null, eventsSeen: 0,
  metrics: { navigationStart: 0 },
  // The server's clock minus the browser's, in ms: windows, ages and the clock on
  // the screen count from the server's "now" (GET /api/v1/overview), never from
  // the browser's, so a server whose clock is set (a demo, a test) is followed.
  clockOffset: 0,
};
window.__onegrid = app;

/** Whether the user's roles allow a capability (scope.Can* on the server). */
const can = (c) => app.caps.has(c);

// ---- time window and filters ----

const DAY = 86400e3;
/** The server's now, in ms since the epoch. */
const nowMs = () => Date.now() + app.clockOffset;
/** Midnight (China time, UTC+8) of the day containing d. */
function cstMidnight(d) {
  const shifted = new Date(d.getTime() + 8 * 3600e3);
  return new Date(Date.UTC(shifted.getUTCFullYear(), shifted.getUTCMonth(), shifted.getUTCDate()) - 8 * 3600e3);
}
function cstDate(s) { return new Date(s + 'T00:00:00+08:00'); }
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The window [from, to) of the current preset. A live window ends a minute from now, so refreshed tiles have new URLs and include what just arrived. */
export function windowRange() {
  const now = new Date(nowMs());
  const end = new Date(Math.ceil(now.getTime() / 1000) * 1000 + 60e3);
  switch (state.preset) {
    case 'today': return { from: cstMidnight(now), to: end };
    case '7d': return { from: new Date(now - 7 * DAY), to: end };
    case 'custom': {
      const from = state.customFrom ? cstDate(state.customFrom) : new Date(now - 30 * DAY);
      const to = state.customTo ? new Date(cstDate(state.customTo).getTime() + DAY) : end;
      return { from, to: to > from ? to : new Date(from.getTime() + DAY) };
    }
    default: return { from: new Date(now - 30 * DAY), to: end };
  }
}

/** The event filter as tile query parameters. */
function eventQuery() {
  const w = windowRange();
  const q = new URLSearchParams({ from: iso(w.from), to: iso(w.to) });
  if (state.category) q.set('category', state.category);
  return q.toString();
}

function filtersChanged() {
  app.ctl?.setEventQuery(eventQuery());
  app.ctl?.setSeverity(state.severity);
  loadHotspots();
  loadKpis();
}

/** Runs the hotspot analysis for the window and category when its layer is on. */
async function loadHotspots() {
  if (!state.visible.has('hotspots') || !app.ctl) return;
  const w = windowRange();
  const q = new URLSearchParams({ format: 'geojson', from: iso(w.from), to: iso(new Date(Math.min(w.to, nowMs()))) });
  if (state.category) q.set('category', state.category);
  const fc = await api.getJSON(`/api/v1/hotspots?${q}`).catch((err) => { console.warn('hotspots:', err.message); return undefined; });
  if (fc === null) { // the server has no hotspot service: drop the toggle
    app.ctl.available.delete('hotspots');
    state.visible.delete('hotspots');
    renderLayerList();
    return;
  }
  if (fc) app.ctl.setHotspots(fc);
}

// ---- selection and drill-down ----

/** Unit prefix of a code: what every code inside the unit starts with (a 12-digit admin code without its zero padding). */
function codePrefix(code) {
  if (!/^[0-9]{12}$/.test(code)) return code;
  if (code.endsWith('000000')) return code.slice(0, 6);
  if (code.endsWith('000')) return code.slice(0, 9);
  return code;
}
const prefixOf = (u) => codePrefix(u.code);

function unitName(code, level, fallback) {
  return app.units.get(code)?.name ?? fallback ?? code;
}

/** The admin units from the root down to code, by their parents; [] when code is not a known unit. */
function adminChain(code) {
  const chain = [];
  for (let u = app.units.get(code); u && chain.length < 8; u = app.units.get(u.parent_code)) {
    chain.unshift({ level: u.level, code: u.code, name: u.name });
    if (!u.parent_code) break;
  }
  return chain;
}

/** The admin unit a grid code lies in: the longest prefix of it that is a unit. */
function adminOfGrid(code) {
  for (let n = code.length - 1; n > 0; n--) if (app.units.has(code.slice(0, n))) return code.slice(0, n);
  return null;
}

/** The area a code lies in (the first whose code prefixes it). */
const areaOf = (code) => app.areas.find((a) => code.startsWith(a.code)) ?? null;

/** The chain of units at a clicked point, from the rendered admin and grid features. */
function chainAt(features) {
  let deepest = null;
  for (const f of features) {
    const p = f.properties;
    if (!p.code) continue;
    if (f.layer.id === 'grids-fill' && (!deepest || p.code.length > deepest.code.length)) deepest = { code: p.code, level: p.level, name: p.name, parent: p.parent_code };
    if (f.layer.id === 'admin-fill' && !deepest) deepest = { code: p.code, level: p.level, name: p.name };
  }
  if (!deepest) return [];
  const c = deepest.code;
  // The admin units above it from their parent links (any code scheme), then the grids.
  const admin = app.units.has(c) ? c : adminOfGrid(c);
  const above = admin ? adminChain(admin) : [];
  if (above.length) {
    if (deepest.level === 'grid' && c === admin) return above;
    return above.concat(gridsOf(deepest, features));
  }
  // Units the overview did not list: 12-digit admin codes by their digits.
  const chain = [];
  const district = c.slice(0, 6) + '000000';
  chain.push({ level: 'district', code: district, name: unitName(district) });
  if (deepest.level !== 'district') {
    const street = c.slice(0, 9) + '000';
    chain.push({ level: 'street', code: street, name: unitName(street) });
  }
  if (['community', 'grid', 'micro_grid'].includes(deepest.level)) {
    const comm = c.slice(0, 12);
    chain.push({ level: 'community', code: comm, name: unitName(comm) });
  }
  return chain.concat(gridsOf(deepest, features));
}

/**
 * The grid units of a clicked grid feature, grid first: the grid itself, or a
 * micro-grid's grid (named from its rendered feature) and the micro-grid.
 */
function gridsOf(deepest, features) {
  const c = deepest.code;
  if (deepest.level === 'grid') return [{ level: 'grid', code: c, name: deepest.name || c }];
  if (deepest.level !== 'micro_grid') return [];
  const grid = deepest.parent || c.slice(0, -2);
  const gf = features.find((f) => f.layer.id === 'grids-fill' && f.properties.code === grid);
  return [
    { level: 'grid', code: grid, name: gf?.properties.name || grid },
    { level: 'micro_grid', code: c, name: deepest.name || c },
  ];
}

/**
 * The units from the top down to the root of an area of one unit: the admin
 * units by their parents, and for a grid its admin unit's, then the grid.
 */
function rootChain(area) {
  if (area?.roots?.length !== 1) return [];
  const r = area.roots[0];
  if (app.units.has(r.code)) return adminChain(r.code);
  const admin = adminOfGrid(r.code);
  const chain = admin ? adminChain(admin) : [];
  if (r.level === 'micro_grid' && r.parent_code && r.parent_code !== admin) {
    chain.push({ level: 'grid', code: r.parent_code, name: r.parent_code });
  }
  chain.push({ level: r.level, code: r.code, name: r.name });
  return chain;
}

/** Depth of the first selectable level: the area's root unit (and what lies above it) is skipped. */
const minDepth = () => app.rootChain.length + 1;

function drill(features) {
  const at = chainAt(features);
  if (!at.length) return;
  // Drill-down stays inside the area on screen, below its root.
  if (app.area && !at[at.length - 1].code.startsWith(app.area.code)) return;
  if (at.length < minDepth()) return;
  const cur = state.chain;
  let depth;
  const inside = cur.length && at[cur.length - 1]?.code === cur[cur.length - 1].code;
  if (!cur.length) depth = minDepth();
  else if (inside) depth = cur.length + 1; // one level down
  else depth = cur.length; // a neighbour at the same level
  depth = Math.min(Math.max(depth, minDepth()), at.length);
  select(at.slice(0, depth), true);
}

/** The breadcrumb: the root unit is left out where it is the whole area; the root carries the area's name. */
function renderBreadcrumb() {
  const skip = minDepth() - 1;
  const chain = state.chain;
  panel.renderBreadcrumb(chain.slice(skip), (i) => select(i < 0 ? [] : chain.slice(0, skip + i + 1), true), app.area?.name ?? '',
    app.rootChain[app.rootChain.length - 1]);
}

/** Selects the last unit of chain ([] = whole area) and fits the map to it. */
function select(chain, fit) {
  state.chain = chain;
  const sel = chain[chain.length - 1] ?? null;
  app.ctl.highlight(sel, sel && prefixOf(sel));
  renderBreadcrumb();
  panel.hideDetails();
  showHouseholds();
  if (can('aggregates') && sel && (sel.level === 'grid' || sel.level === 'micro_grid') && sel.name === sel.code) {
    // Tiles at this zoom may hold only the grid's micro-grids: ask for its name.
    api.gridLoad(sel.code, '').then((g) => {
      if (g?.name && state.chain[state.chain.length - 1] === sel) { sel.name = g.name; renderBreadcrumb(); }
    }).catch(() => {});
  }
  if (fit) {
    const b = sel ? app.ctl.boundsOf(prefixOf(sel), sel.level === 'grid' || sel.level === 'micro_grid') : app.bounds;
    if (b) app.ctl.fit(b);
  }
  loadKpis();
}

// ---- figures ----

async function loadKpis() {
  app.kpiRequest?.abort();
  const ctrl = new AbortController();
  app.kpiRequest = ctrl;
  app.kpisFor = null;
  panel.renderKpis(undefined);
  const sel = state.chain[state.chain.length - 1] ?? null;
  const w = windowRange();
  app.kpiWindow = { from: iso(w.from), to: iso(w.to) };
  const day = (d) => new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 16).replace('T', ' ');
  document.getElementById('scope-window').textContent = `${t('windowLabel')} ${day(w.from)} — ${day(new Date(Math.min(w.to, nowMs())))}`;
  try {
    const k = await kpisFor(sel, { from: iso(w.from), to: iso(w.to), category: state.category, severity: state.severity }, app.tags, ctrl.signal, app.area, can);
    if (ctrl.signal.aborted) return;
    app.kpis = k;
    app.kpisFor = sel?.code ?? '';
    k.note = kpiKeys().some((key) => k[key] === null) ? t('suppressedNote') : '';
    panel.renderKpis(k, k.note, kpiKeys());
  } catch (err) {
    if (err.name === 'AbortError') return;
    console.warn('figures:', err.message);
    app.kpis = null;
    panel.renderKpis({}, t('errorLoad'), kpiKeys());
  }
}

/** The figures the user may see: the event loop's open and overdue counts need rows; everything else, aggregates. */
function kpiKeys() {
  return panel.KPI_KEYS.filter((k) => (k === 'open' || k === 'overdue' ? can('rows') : can('aggregates') || can('rows')));
}

// ---- households ----

/** The households of the grid on screen (the selection, or a grid that is the whole area), for those who serve them. */
function showHouseholds() {
  if (!can('households')) return;
  const sel = state.chain[state.chain.length - 1] ?? app.rootChain[app.rootChain.length - 1] ?? null;
  if (sel && (sel.level === 'grid' || sel.level === 'micro_grid')) households.show(sel.code, can('personal'));
  else households.hide();
}

// ---- clicks: events, buildings, units ----

function showEvent(p) {
  panel.renderDetails(`${t('eventDetails')} #${p.id ?? ''}`, panel.eventRows(p, app.cats), 'event');
}

async function showBuilding(id) {
  const b = await api.getJSON(`/api/v1/buildings/${id}`).catch(() => null);
  if (!b) return;
  panel.renderDetails(t('building'), [
    [t('address'), b.address],
    [t('householdsHere'), b.households],
    [t('floors'), b.floors],
    [t('use'), b.use ? t('use_' + b.use) : null],
    [t('grid'), b.grid_code],
  ], 'building');
}

function onClick(ev) {
  const map = app.map;
  const ids = ['live-circle', 'ev-circle', 'bld-fill', 'grids-fill', 'admin-fill'].filter((id) => map.getLayer(id));
  const feats = map.queryRenderedFeatures(ev.point, { layers: ids });
  const e = feats.find((f) => f.layer.id === 'ev-circle' || f.layer.id === 'live-circle');
  if (e) return showEvent({ id: e.id ?? e.properties.id, ...e.properties });
  const b = feats.find((f) => f.layer.id === 'bld-fill');
  if (b && (b.id ?? b.properties.id)) {
    const inside = state.chain.length >= 3; // buildings answer once a community is in view
    if (inside || map.getZoom() >= 16) return showBuilding(b.id ?? b.properties.id);
  }
  drill(feats);
}

// ---- tooltip ----

function tooltip(ev) {
  const map = app.map;
  const tip = document.getElementById('tooltip');
  const ids = ['live-circle', 'ev-circle', 'grids-fill', 'admin-fill'].filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  const f = map.queryRenderedFeatures(ev.point, { layers: ids })[0];
  if (!f) { tip.hidden = true; map.getCanvas().style.cursor = ''; return; }
  map.getCanvas().style.cursor = 'pointer';
  const p = f.properties;
  let text;
  if (f.layer.id.includes('circle')) text = `${panel.categoryName(app.cats, p.category ?? p.category_code)} · ${t('sev_' + p.severity)}`;
  else {
    const name = p.level === 'grid' || p.level === 'micro_grid' ? (p.name || p.code) : unitName(p.code, p.level, p.name);
    text = `${name} · ${t('households')} ${p.households ?? '—'} · ${t('open')} ${p.open_events ?? '—'}`;
  }
  tip.textContent = text;
  tip.style.left = ev.point.x + 14 + 'px';
  tip.style.top = ev.point.y + 14 + 'px';
  tip.hidden = false;
}

// ---- search ----

let searchTimer = 0;
let searchAbort = null;
let marker = null;

function flyToPoint(lon, lat, label) {
  marker?.remove();
  const m = document.createElement('div');
  m.className = 'pin';
  m.title = label ?? '';
  marker = new maplibregl.Marker({ element: m }).setLngLat([lon, lat]).addTo(app.map);
  app.map.flyTo({ center: [lon, lat], zoom: 17, duration: 900 });
}

async function search(q) {
  searchAbort?.abort();
  q = q.trim();
  if (!q) return panel.renderSearch([]);
  const hits = [];
  // A standard code: an admin unit, or a grid (whose community we can fit to first).
  if (/^[0-9]{6,20}$/.test(q)) {
    for (const [code, u] of app.units) {
      if (code.startsWith(q) && areaOf(code) && hits.length < 5) hits.push({ label: u.name, sub: `${t('lvl_' + u.level)} · ${code}`, onPick: () => pickCode(code) });
    }
    if (q.length > 12 && areaOf(q)) hits.push({ label: q, sub: t('gridCode'), onPick: () => pickCode(q) });
  }
  if (!can('rows')) return panel.renderSearch(hits, hits.length ? null : t('noResults')); // addresses are rows
  panel.renderSearch(hits, hits.length ? null : t('searching'));
  const ctrl = new AbortController();
  searchAbort = ctrl;
  try {
    const found = await api.searchAddresses(q, ctrl.signal);
    for (const h of found) {
      const a = h.address ?? h;
      const lon = a.lon ?? a.geometry?.coordinates?.[0];
      const lat = a.lat ?? a.geometry?.coordinates?.[1];
      if (lon == null) continue;
      hits.push({ label: a.text ?? a.full_text ?? a.properties?.text, sub: h.matched && h.matched !== a.text ? h.matched : a.code,
        onPick: () => { panel.renderSearch([]); flyToPoint(lon, lat, a.text); } });
    }
  } catch (err) {
    if (err.name === 'AbortError') return;
  }
  panel.renderSearch(hits, hits.length ? null : t('noResults'));
}

/** Selects a unit by code (admin or grid) and fits to it, switching to its area first. */
function pickCode(code) {
  panel.renderSearch([]);
  const admin = app.units.has(code) ? code : adminOfGrid(code);
  if (!admin) return;
  const chain = adminChain(admin);
  if (code !== admin) chain.push({ level: 'grid', code, name: code });
  const area = areaOf(code);
  if (!area) return;
  if (area !== app.area) setArea(area, false);
  if (chain.length < minDepth()) return select([], true);
  select(chain.slice(0), true);
  if (code !== admin) {
    // Fit to the grid's admin unit first; once the grid's features load, fit to the grid.
    const b = app.ctl.boundsOf(codePrefix(admin), false);
    if (b) app.ctl.fit(b);
    app.map.once('idle', () => { const g = app.ctl.boundsOf(code, true); if (g) app.ctl.fit(g); });
  }
}

// ---- areas ----

/** Puts area on screen: fits the map to it (fit), clears the selection, scopes the figures. */
function setArea(area, fit) {
  app.area = area;
  app.rootChain = rootChain(area);
  app.bounds = area ? [[area.bounds[0], area.bounds[1]], [area.bounds[2], area.bounds[3]]] : null;
  renderAreas();
  select([], fit);
}

function renderAreas() {
  panel.renderAreas(app.areas, app.area, (a) => { if (a !== app.area) setArea(a, true); });
}

/** Re-reads the areas' figures (at most every 30 s): they move with the live events. */
let areasRead = 0;
async function refreshAreas() {
  if (app.areas.length < 2 || Date.now() - areasRead < 30e3) return;
  areasRead = Date.now();
  const o = await api.getJSON('/api/v1/overview').catch(() => null);
  for (const a of o?.areas ?? []) {
    const mine = app.areas.find((x) => x.code === a.code);
    if (mine) Object.assign(mine, { households: a.households, events: a.events, open: a.open, overdue: a.overdue });
  }
  renderAreas();
}

// ---- live ----

let refreshTimer = 0;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => { app.ctl.setEventQuery(eventQuery()); loadKpis(); refreshAreas(); }, 1500);
}

function startStream() {
  const live = document.getElementById('live');
  panel.feedEmpty();
  app.es?.close();
  app.es = api.stream({
    state(open) {
      app.streamOpen = open;
      live.classList.toggle('off', !open);
      live.title = open ? t('liveTitle') : t('liveOff');
    },
    event(e) {
      app.eventsSeen++;
      panel.feedAdd(e, app.cats, (ev) => {
        app.map.flyTo({ center: [ev.lon, ev.lat], zoom: Math.max(app.map.getZoom(), 16) });
        showEvent(ev);
      });
      app.ctl.addLive(e);
      scheduleRefresh();
    },
    changed: scheduleRefresh,
    closed() {
      // Not a stream (a 401 when the session has ended): ask who is logged in;
      // a live session gets a new stream in a while, an ended one the login form.
      app.es = null;
      api.session().then((s) => (s ? setTimeout(() => { if (!app.es && !auth.showing()) startStream(); }, 5e3) : sessionEnded()),
        () => setTimeout(() => { if (!app.es && !auth.showing()) startStream(); }, 5e3));
    },
    alert(a) {
      panel.feedAlert(a, (x) => {
        state.visible.add('hotspots');
        app.ctl.setVisible('hotspots', true);
        renderLayerList();
        loadHotspots();
      });
      if (state.visible.has('hotspots')) loadHotspots();
    },
  });
}

// ---- controls ----

function wireControls() {
  const buttons = document.querySelectorAll('#window-buttons button');
  const mark = () => buttons.forEach((b) => b.classList.toggle('on', b.dataset.window === state.preset));
  mark();
  const custom = document.getElementById('custom-window');
  const fromEl = document.getElementById('from-date');
  const toEl = document.getElementById('to-date');
  buttons.forEach((b) => b.addEventListener('click', () => {
    state.preset = b.dataset.window;
    custom.hidden = state.preset !== 'custom';
    if (state.preset === 'custom' && !fromEl.value) {
      const w = windowRange();
      fromEl.value = new Date(w.from.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
      toEl.value = new Date(nowMs() + 8 * 3600e3).toISOString().slice(0, 10);
      state.customFrom = fromEl.value; state.customTo = toEl.value;
    }
    mark();
    filtersChanged();
  }));
  for (const inp of [fromEl, toEl]) inp.addEventListener('change', () => {
    state.customFrom = fromEl.value; state.customTo = toEl.value; filtersChanged();
  });
  document.getElementById('category').addEventListener('change', (e) => { state.category = e.target.value; filtersChanged(); });
  document.getElementById('severity').addEventListener('change', (e) => { state.severity = e.target.value; filtersChanged(); });
  document.getElementById('lang').addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  const input = document.getElementById('search-input');
  input.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => search(input.value), 250); });
  document.getElementById('search').addEventListener('submit', (e) => { e.preventDefault(); search(input.value); });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      panel.renderSearch([]);
      if (!document.getElementById('details').hidden) panel.hideDetails();
      else if (state.chain.length >= minDepth()) select(state.chain.length > minDepth() ? state.chain.slice(0, -1) : [], true);
    }
  });
  const clock = document.getElementById('clock');
  app.tickClock = () => { clock.textContent = dateTime(new Date(nowMs())); };
  app.tickClock();
  setInterval(app.tickClock, 10e3);
}

function fillCategories() {
  const sel = document.getElementById('category');
  const keep = sel.value;
  sel.replaceChildren(sel.options[0]);
  for (const c of app.cats.values()) {
    if (c.level > 2) continue;
    const o = document.createElement('option');
    o.value = c.code;
    o.textContent = (c.level === 2 ? '\u3000' : '') + panel.categoryName(app.cats, c.code);
    sel.append(o);
  }
  sel.value = keep;
}

function unitLabel(p) {
  const name = p.level === 'grid' || p.level === 'micro_grid' ? (p.name || p.code) : unitName(p.code, p.level, p.name);
  return name;
}

function relabel() {
  document.getElementById('lang').textContent = getLang() === 'zh' ? 'EN' : '中文';
  fillCategories();
  renderAreas();
  renderLegend();
  renderBreadcrumb();
  renderLayerList();
  panel.renderKpis(app.kpis ?? undefined, app.kpis?.note, kpiKeys());
  panel.hideDetails();
  auth.renderUser(app.session);
  households.relabel();
}

function renderLayerList() {
  panel.renderLayers(LAYERS.map((l) => ({ key: l.key, available: app.ctl?.available.has(l.key) })), state.visible, toggleLayer);
}

/** The legend of the event layers the map has. */
function renderLegend() {
  const has = (key) => !app.ctl || app.ctl.available.has(key);
  panel.renderLegend(has('events'), has('events_h3'));
}

/** Whether the user's roles allow a layer (the server refuses the others' tiles anyway). */
const allowedLayer = (l) => !l.need || can(l.need);

function toggleLayer(key, on) {
  if (on) state.visible.add(key); else state.visible.delete(key);
  app.ctl.setVisible(key, on);
  if (key === 'hotspots' && on) loadHotspots();
}

// ---- session ----

/**
 * The session has ended (an API call or a tile answered 401): the login form
 * comes back over the screen. The same user logging in again gets the screen
 * back as it was (tiles, figures and the stream asked for again); another user
 * gets the page started afresh for their own scope. No reload happens without
 * a login, so an ended session cannot loop.
 */
function sessionEnded() {
  if (auth.showing()) return;
  app.es?.close();
  app.es = null;
  app.streamOpen = false;
  document.getElementById('live').classList.add('off');
  const before = app.session?.name;
  auth.logIn('sessionEnded').then((s) => {
    if (s.name !== before) {
      location.reload();
      return;
    }
    app.session = s;
    auth.done();
    app.ctl.reloadTiles();
    loadKpis();
    if (can('rows')) startStream();
    households.hide();
    showHouseholds();
  });
}

/** A tile or source the map could not load: an ended session, a layer the server refuses, or a failure worth reporting. */
function mapError(e) {
  const status = e.error?.status;
  if (status === 401) return sessionEnded();
  if (status === 403 && e.sourceId) {
    // The server does not serve this layer to this user (their roles, or a
    // jurisdiction it does not draw tiles for): take it off the map quietly.
    if (app.ctl.dropSource(e.sourceId)) {
      console.info(`tiles of ${e.sourceId}: not served to this user`);
      state.visible.delete(e.sourceId);
      renderLayerList();
      renderLegend();
    }
    return;
  }
  // A tile that fails is retried by the next view change; say which one.
  console.error('map:', e.error?.message ?? String(e.error), status ?? '', e.error?.url ?? '', e.sourceId ?? '');
}

// ---- boot ----

/** Starts the page: the screen for the session there is, else the login form first. */
async function start() {
  applyI18n(document);
  auth.wire();
  // Ask for the overview and the tile index (preloaded by index.html) while
  // the session is checked: for a logged-in user they are the screen's first
  // data; without a session they are refused, and asked for again after the login.
  const early = {
    overview: api.getJSON('/api/v1/overview').catch(() => null),
    tiles: api.tileLayers().catch(() => new Map()),
  };
  // The map starts at once too (WebGL and its workers take a while), hidden
  // behind the login form until there is a user; its layers come with boot.
  let layers;
  app.ctl = createMap('map', new Promise((resolve) => { layers = resolve; }));
  app.map = app.ctl.map;
  let s = null;
  let problem = '';
  try {
    s = await api.session();
  } catch (err) {
    console.warn('session:', err.message);
    problem = 'loginFailed';
  }
  if (!s) {
    s = await auth.logIn(problem);
    early.overview = early.tiles = null;
  } else if (s.must_change_password) {
    s = await auth.changePassword();
    early.overview = early.tiles = null;
  }
  auth.done();
  boot(s, early, layers);
}

/**
 * Starts the screen for session s; early holds the overview and tile index
 * asked for before it, or nulls to ask afresh; layers(data) gives the map
 * (app.ctl) what createMap waits for.
 */
async function boot(s, early, layers) {
  app.metrics.bootMs = performance.now();
  app.session = s;
  app.caps = new Set(s.capabilities ?? []);
  api.whenUnauthorized(sessionEnded);
  auth.renderUser(s);
  applyI18n(document);
  wireControls();
  if (!can('rows')) {
    // No rows: no live feed of events (the stream is rows), no address search.
    document.getElementById('feed-section').hidden = true;
    document.getElementById('live').hidden = true;
  }
  // After a login on this page, ask afresh. (A browser hands a preloaded
  // answer to the first fetch with the same URL, mode and credentials mode,
  // whatever its cache mode; credentials 'include', the same cookies on this
  // origin, is another preload key, so not even a preload refused before the
  // login can answer.)
  const init = { cache: 'no-store', credentials: 'include' };
  const overviewP = early.overview ?? api.getJSON('/api/v1/overview', undefined, init).catch(() => null);
  const tilesP = early.tiles ?? api.tileLayers(init).catch(() => new Map());
  const synced = overviewP.then((o) => {
    if (o?.now) app.clockOffset = Date.parse(o.now) - Date.now();
    app.tickClock();
    return o;
  });
  // The map opens on the first area (the most households; for a user whose
  // jurisdiction is not everything, their own unit): never on the extent of
  // everything, which may span continents.
  const areaBounds = (o) => (o?.areas?.[0]?.bounds ?? o?.bounds);
  layers(Promise.all([synced, tilesP]).then(([o, tiles]) => ({
    tiles, bounds: areaBounds(o) ?? tiles.bounds, eventQuery: eventQuery(), allowed: allowedLayer,
  })));
  app.ctl.onDensityScale = panel.setDensityRange;
  app.map.on('error', mapError);
  const overview = await synced;
  app.metrics.dataMs = performance.now();
  for (const c of overview?.categories ?? []) app.cats.set(c.code, c);
  for (const u of overview?.units ?? []) app.units.set(u.code, u);
  app.tags = overview?.tags ?? [];
  app.areas = overview?.areas ?? [];
  app.area = app.areas[0] ?? null;
  app.rootChain = rootChain(app.area);
  areasRead = Date.now();
  const b = areaBounds(overview) ?? (await tilesP).bounds;
  app.bounds = b ? [[b[0], b[1]], [b[2], b[3]]] : null;
  await app.ctl.ready;
  app.metrics.layersMs = performance.now();
  // Figures and the live stream wait for the first full map: the browser has six
  // connections to the server, and the tiles should have them first.
  app.map.once('idle', () => {
    app.metrics.firstIdleMs = performance.now();
    app.ready = true;
    loadKpis();
    showHouseholds();
    if (can('rows')) startStream();
  });
  app.ctl.setLabelText(unitLabel);
  app.map.on('click', onClick);
  app.map.on('mousemove', tooltip);
  app.map.on('mouseout', () => { document.getElementById('tooltip').hidden = true; });
  onLangChange(relabel);
  relabel();
}

start();
