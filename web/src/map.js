// The map: MapLibre GL JS over onegrid's own vector tiles. No basemap, fonts or
// sprites are loaded from anywhere; names are shown as HTML (panel, tooltip),
// never as map text, so no glyphs are needed for Chinese.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';

/**
 * Switchable layers, in drawing order; each names the tile layer it needs and
 * the capability a user must have to be offered it (the server's tile registry
 * says the same: outlines for anyone, counts per cell and hotspots for
 * aggregates, rows for buildings, addresses and event points).
 */
export const LAYERS = [
  { key: 'households_h3', tile: 'households_h3', on: false, need: 'aggregates' },
  { key: 'admin', tile: 'admin', on: true, need: null },
  { key: 'events_h3', tile: 'events_h3', on: true, need: 'aggregates' },
  { key: 'grids', tile: 'grids', on: true, need: null },
  { key: 'buildings', tile: 'buildings', on: true, need: 'rows' },
  { key: 'hotspots', tile: null, on: false, need: 'aggregates' },
  { key: 'addresses', tile: 'addresses', on: false, need: 'rows' },
  { key: 'events', tile: 'events', on: true, need: 'rows' },
];

const NONE = ['==', ['get', 'code'], '\u0000'];
/** Features whose code starts with prefix. */
const inside = (prefix) => ['==', ['slice', ['coalesce', ['get', 'code'], ''], 0, prefix.length], prefix];

const SEV_COLOR = ['match', ['get', 'severity'], 'urgent', '#ff4d4f', 'important', '#ffa940', '#fadb14'];
const OPEN = ['match', ['get', 'status'], ['reported', 'dispatched', 'handling'], true, false];

/**
 * Colour stops for event density from the cells in view: the 25th, 60th, 85th and
 * 98th percentiles of their counts, strictly increasing; null with too few cells.
 */
export function densityRamp(map) {
  if (!map.getLayer('eh3-fill') || map.getLayoutProperty('eh3-fill', 'visibility') === 'none') return null;
  const vals = map.queryRenderedFeatures({ layers: ['eh3-fill'] })
    .map((f) => f.properties.events).filter((v) => v > 0).sort((a, b) => a - b);
  if (vals.length < 4) return null;
  const q = (p) => vals[Math.floor(p * (vals.length - 1))];
  const stops = [Math.max(1, q(0.25))];
  for (const p of [0.6, 0.85, 0.98]) stops.push(Math.max(stops[stops.length - 1] + 1, q(p)));
  return stops;
}

/** The MapLibre layers drawn for each switchable layer (source-layer = tile layer). */
function styleLayers(key) {
  switch (key) {
    case 'households_h3': return [
      { id: 'hh-fill', type: 'fill', source: 'households_h3', 'source-layer': 'households_h3', paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'households'], 0, '#10324f', 50, '#1f6f8b', 200, '#35b0ab', 1000, '#b6f0c2'],
        'fill-opacity': 0.55 } },
    ];
    case 'admin': return [
      { id: 'admin-fill', type: 'fill', source: 'admin', 'source-layer': 'admin', paint: {
        'fill-color': '#13263d', 'fill-opacity': 0.85 } },
      { id: 'admin-line', type: 'line', source: 'admin', 'source-layer': 'admin', paint: {
        'line-color': '#3ba7ff', 'line-opacity': 0.9,
        'line-width': ['match', ['get', 'level'], 'district', 3, 'street', 2.2, 1.6] } },
    ];
    case 'events_h3': return [
      { id: 'eh3-fill', type: 'fill', source: 'events_h3', 'source-layer': 'events_h3', paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'events'], 1, '#2b5d8c', 3, '#d4a017', 8, '#f06d2c', 20, '#e8213a'],
        'fill-opacity': 0.55, 'fill-outline-color': 'rgba(255,255,255,0.15)' } },
    ];
    case 'grids': return [
      { id: 'grids-fill', type: 'fill', source: 'grids', 'source-layer': 'grids', paint: {
        'fill-color': '#000', 'fill-opacity': 0 } },
      { id: 'grids-line', type: 'line', source: 'grids', 'source-layer': 'grids', paint: {
        'line-color': '#7fd6ff', 'line-opacity': 0.6, 'line-dasharray': [3, 2],
        'line-width': ['match', ['get', 'level'], 'micro_grid', 0.8, 1.2] } },
    ];
    case 'buildings': return [
      { id: 'bld-fill', type: 'fill', source: 'buildings', 'source-layer': 'buildings', paint: {
        'fill-color': ['match', ['get', 'use'], 'commercial', '#6b5b95', 'residential', '#4a6d8c', '#5a6a7a'],
        'fill-opacity': 0.9, 'fill-outline-color': '#a9c4de' } },
    ];
    case 'hotspots': return [
      // Gi* hot spots (class 1..3: 90/95/99 % after FDR); cold spots are not drawn.
      { id: 'hot-fill', type: 'fill', source: 'hotspots', filter: ['>', ['get', 'class'], 0], paint: {
        'fill-color': ['step', ['get', 'class'], '#fdae61', 2, '#f46d43', 3, '#d73027'],
        'fill-opacity': 0.55, 'fill-outline-color': '#ffd0c0' } },
    ];
    case 'addresses': return [
      { id: 'addr-circle', type: 'circle', source: 'addresses', 'source-layer': 'addresses', paint: {
        'circle-radius': 2.5, 'circle-color': '#c8e1ff', 'circle-opacity': 0.8 } },
    ];
    case 'events': return [
      { id: 'ev-circle', type: 'circle', source: 'events', 'source-layer': 'events', paint: {
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 13, 5, 18, 9],
        'circle-color': SEV_COLOR,
        'circle-opacity': ['case', OPEN, 1, 0.45],
        'circle-stroke-color': ['case', ['==', ['get', 'overdue'], true], '#ff1f3d', '#0b1726'],
        'circle-stroke-width': ['case', ['==', ['get', 'overdue'], true], 2.5, 1] } },
    ];
  }
  return [];
}

/**
 * Creates the map in container. tiles is the Map from tileLayers(); bounds the
 * initial [minlon, minlat, maxlon, maxlat]. Returns the controller the rest of the
 * page uses.
 */
/** The sources and layers for the tile layers the server offers. */
function buildStyle({ tiles, eventQuery, allowed = () => true }) {
  const sources = {};
  const layers = [];
  const available = new Set();
  for (const l of LAYERS) {
    if (!allowed(l)) continue; // the user's roles do not allow it: not offered
    if (l.key === 'hotspots') {
      // Filled by setHotspots when the layer is turned on (an analysis runs per request).
      sources.hotspots = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
    } else {
      const t = tiles.get(l.tile);
      if (!t) continue; // the server has no such layer yet: no source, no toggle
      const filtered = l.key === 'events' || l.key === 'events_h3';
      sources[l.key] = {
        type: 'vector',
        tiles: t.tiles.map((u) => abs(u) + (filtered ? '?' + eventQuery : '')),
        minzoom: t.minzoom, maxzoom: t.maxzoom,
        promoteId: l.key === 'admin' || l.key === 'grids' ? 'code' : undefined,
      };
    }
    available.add(l.key);
    for (const sl of styleLayers(l.key)) {
      sl.layout = { visibility: l.on ? 'visible' : 'none' };
      // Density gives way to points where the event points begin.
      if (sl.id === 'eh3-fill' && tiles.get('events')) sl.maxzoom = tiles.get('events').minzoom;
      layers.push(sl);
    }
  }
  // The selection: everything outside it dimmed, its outline on top. Filters
  // match by code prefix, since the tiles at a zoom may hold only the selected
  // unit's children (communities of a street, micro-grids of a grid).
  if (sources.admin) {
    layers.push({ id: 'sel-dim', type: 'fill', source: 'admin', 'source-layer': 'admin', filter: NONE,
      paint: { 'fill-color': '#02060b', 'fill-opacity': 0.55 } });
    layers.push({ id: 'sel-admin', type: 'line', source: 'admin', 'source-layer': 'admin', filter: NONE,
      paint: { 'line-color': '#ffe066', 'line-width': 3 } });
  }
  if (sources.grids) {
    layers.push({ id: 'sel-grid-dim', type: 'fill', source: 'grids', 'source-layer': 'grids', filter: NONE,
      paint: { 'fill-color': '#02060b', 'fill-opacity': 0.45 } });
    layers.push({ id: 'sel-grid', type: 'line', source: 'grids', 'source-layer': 'grids', filter: NONE,
      paint: { 'line-color': '#ffe066', 'line-width': 3 } });
  }
  sources.live = { type: 'geojson', data: { type: 'FeatureCollection', features: [] } };
  layers.push({ id: 'live-halo', type: 'circle', source: 'live', paint: {
    'circle-radius': 16, 'circle-color': SEV_COLOR, 'circle-opacity': 0.25, 'circle-stroke-color': SEV_COLOR, 'circle-stroke-width': 2 } });
  layers.push({ id: 'live-circle', type: 'circle', source: 'live', paint: {
    'circle-radius': 6, 'circle-color': SEV_COLOR, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  return { sources, layers, available };
}

const abs = (u) => (/^https?:/.test(u) ? u : location.origin + u); // keep {z}/{x}/{y} unescaped

/**
 * Creates the map in container at once; data (a promise of {tiles, bounds,
 * eventQuery, allowed}: tiles the Map from tileLayers(), bounds [minlon, minlat,
 * maxlon, maxlat], allowed(layer) whether the user may be offered a layer of
 * LAYERS) adds the layers when it comes. Returns the controller the rest of the
 * page uses; its ready promise resolves once the layers are on the map.
 */
export function createMap(container, data) {
  const tileRequests = [];
  let tiles = new Map();
  const available = new Set();
  const map = new maplibregl.Map({
    container,
    // Start at once with an empty style, so WebGL and the workers start while
    // the page asks the server what it has; the layers come with setData.
    style: { version: 8, sources: {}, layers: [{ id: 'bg', type: 'background', paint: { 'background-color': '#0a1420' } }] },
    center: [114, 22.5], zoom: 3,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    maxZoom: 19,
    fadeDuration: 0,
    // Tiles are fetched by MapLibre's worker, out of sight of the page: note each
    // URL here (tests check which filters the tiles were asked with).
    transformRequest(url, type) {
      if (type === 'Tile') {
        tileRequests.push(url);
        if (tileRequests.length > 2000) tileRequests.splice(0, 1000);
      }
      return { url };
    },
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

  const live = [];
  let severity = '';

  const ctl = {
    map,
    available,
    /** Shows or hides a switchable layer. */
    setVisible(key, on) {
      for (const sl of styleLayers(key)) {
        if (map.getLayer(sl.id)) map.setLayoutProperty(sl.id, 'visibility', on ? 'visible' : 'none');
      }
    },
    /** Re-requests the event layers with a new query (from, to, category). */
    setEventQuery(query) {
      for (const key of ['events', 'events_h3']) {
        const src = map.getSource(key);
        const t = tiles.get(key);
        if (src && t) src.setTiles(t.tiles.map((u) => abs(u) + '?' + query));
      }
    },
    /** Replaces the hotspot cells (a GeoJSON FeatureCollection). */
    setHotspots(fc) {
      map.getSource('hotspots')?.setData(fc ?? { type: 'FeatureCollection', features: [] });
    },
    /** Shows only events of one severity ('' for all). */
    setSeverity(sev) {
      severity = sev;
      const f = sev ? ['==', ['get', 'severity'], sev] : null;
      for (const id of ['ev-circle', 'live-circle', 'live-halo']) if (map.getLayer(id)) map.setFilter(id, f);
    },
    /** Outlines the selected unit (admin or grid code; null clears). */
    highlight(sel, prefix) {
      const isGrid = sel && (sel.level === 'grid' || sel.level === 'micro_grid');
      const set = (id, f) => map.getLayer(id) && map.setFilter(id, f);
      set('sel-admin', sel && !isGrid ? inside(prefix) : NONE);
      set('sel-dim', sel && !isGrid ? ['!', inside(prefix)] : NONE);
      set('sel-grid', isGrid ? inside(prefix) : NONE);
      set('sel-grid-dim', isGrid ? ['!', inside(prefix)] : NONE);
    },
    /** Adds a live event (from the stream) to the map until the tiles show it. */
    addLive(e) {
      live.push({ type: 'Feature', id: e.id, geometry: { type: 'Point', coordinates: [e.lon, e.lat] },
        properties: { ...e, category: e.category_code, live: true } });
      while (live.length > 200) live.shift();
      map.getSource('live')?.setData({ type: 'FeatureCollection', features: live });
    },
    /** Bounds [[w,s],[e,n]] of the loaded admin/grid features whose code starts with prefix. */
    boundsOf(prefix, gridLevel) {
      const b = new maplibregl.LngLatBounds();
      const scan = (source, sourceLayer, pred) => {
        if (!map.getSource(source)) return;
        for (const f of map.querySourceFeatures(source, { sourceLayer })) {
          if (pred(f.properties)) extend(b, f.geometry);
        }
      };
      if (gridLevel) scan('grids', 'grids', (p) => p.code === prefix || (p.code ?? '').startsWith(prefix));
      else {
        scan('admin', 'admin', (p) => (p.code ?? '').startsWith(prefix));
        if (b.isEmpty()) scan('grids', 'grids', (p) => (p.code ?? '').startsWith(prefix));
      }
      return b.isEmpty() ? null : b;
    },
    fit(b) {
      map.fitBounds(b, { padding: fitPadding(), maxZoom: 17, duration: 700 });
    },
    /**
     * Takes a tile source the server refuses (403) off the map with every layer
     * drawn from it, so its tiles are not asked for again; its switch goes.
     * Reports whether there was one.
     */
    dropSource(id) {
      if (!map.getSource(id)) return false;
      for (const l of map.getStyle().layers) if (l.source === id) map.removeLayer(l.id);
      map.removeSource(id);
      available.delete(id);
      return true;
    },
    /** Asks for every tile again (after the session was renewed). */
    reloadTiles() {
      for (const [key, t] of tiles) {
        const src = map.getSource(key);
        if (src?.setTiles) src.setTiles(src.tiles ?? t.tiles.map(abs));
      }
    },
  };
  // Unit names as HTML labels (no glyphs needed for Chinese): one per label point
  // the admin and grid tiles carry, for what is in view.
  const labels = new Map();
  let labelText = (p) => p.name;
  const updateLabels = () => {
    const want = new Map();
    const view = map.getBounds();
    const add = (source, sourceLayer, cls) => {
      if (!map.getSource(source) || map.getLayoutProperty(source === 'admin' ? 'admin-line' : 'grids-line', 'visibility') === 'none') return;
      for (const f of map.querySourceFeatures(source, { sourceLayer })) {
        const p = f.properties;
        const [lon, lat] = f.geometry.coordinates;
        if (!p.code || want.has(p.code) || !view.contains([lon, lat])) continue;
        want.set(p.code, { lon, lat, p, cls });
      }
    };
    add('admin', 'admin_label', 'admin');
    if (map.getZoom() >= 15) add('grids', 'grid_label', 'grid');
    for (const [code, m] of labels) {
      if (!want.has(code)) { m.remove(); labels.delete(code); }
    }
    for (const [code, w] of want) {
      if (labels.has(code) || labels.size > 150) continue;
      const el = document.createElement('div');
      el.className = 'unit-label ' + w.cls;
      el.dataset.code = code;
      el.textContent = labelText(w.p);
      labels.set(code, new maplibregl.Marker({ element: el }).setLngLat([w.lon, w.lat]).addTo(map));
    }
  };
  map.on('idle', updateLabels);
  // Event density is coloured relative to what is in view: absolute stops that suit
  // a street at z14 turn a whole city at z9 (cells 300 times larger) one flat red.
  let densityStops = '';
  map.on('idle', () => {
    const stops = densityRamp(map);
    if (!stops || stops.join() === densityStops) return;
    densityStops = stops.join();
    map.setPaintProperty('eh3-fill', 'fill-color', ['interpolate', ['linear'], ['get', 'events'],
      stops[0], '#2b5d8c', stops[1], '#d4a017', stops[2], '#f06d2c', stops[3], '#e8213a']);
    ctl.onDensityScale?.(stops[0], stops[3]);
  });
  /** Sets how a label reads from its feature's properties, and redraws labels. */
  ctl.setLabelText = (f) => {
    labelText = f;
    for (const m of labels.values()) m.remove();
    labels.clear();
    updateLabels();
  };
  ctl.severity = () => severity;
  ctl.tileRequests = tileRequests;
  const styleLoaded = new Promise((r) => map.once('load', r));
  ctl.ready = Promise.all([data, styleLoaded]).then(([d]) => {
    tiles = d.tiles;
    const st = buildStyle(d);
    for (const k of st.available) available.add(k);
    for (const [id, src] of Object.entries(st.sources)) map.addSource(id, src);
    for (const l of st.layers) map.addLayer(l);
    if (d.bounds) map.fitBounds(d.bounds, { padding: fitPadding(), animate: false });
  });
  return ctl;
}

/** Padding that keeps fitted areas clear of the side panel and top bar. */
export function fitPadding() {
  const panel = document.getElementById('panel');
  const layers = document.getElementById('layers');
  const shown = (e) => e && getComputedStyle(e).display !== 'none';
  const right = shown(panel) && panel.offsetWidth < innerWidth * 0.6 ? panel.offsetWidth + 24 : 24;
  const left = shown(layers) ? layers.offsetWidth + 32 : 24;
  return { top: 72, bottom: 32, left, right };
}

function extend(b, g) {
  const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
  if (g?.coordinates) walk(g.coordinates);
}
