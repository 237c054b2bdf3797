// The server's HTTP interface as the page uses it. Every function resolves to
// plain data; an endpoint that is not there (404) resolves to null, so the page
// can hide what the server does not offer.

/** An HTTP failure other than 404. */
export class HTTPError extends Error {
  constructor(status, url, body) {
    super(`${status} ${url}${body?.error?.message ? ': ' + body.error.message : ''}`);
    this.status = status;
    this.body = body;
  }
}

async function request(url, init) {
  const resp = await fetch(url, { headers: { Accept: 'application/json' }, ...init });
  if (resp.status === 404) return null;
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new HTTPError(resp.status, url, body);
  return body;
}

/** GET url as JSON; null on 404. */
export const getJSON = (url, signal) => request(url, { signal });

// The session's anti-forgery token: a state-changing request made with the
// session cookie must carry it (X-CSRF-Token). Read once from GET /api/v1/session.
let csrf = null;

/** Who the page is logged in as (GET /api/v1/session); null when not logged in. */
export async function session() {
  const resp = await fetch('/api/v1/session', { headers: { Accept: 'application/json' } });
  if (!resp.ok) { csrf = null; return null; }
  const s = await resp.json();
  csrf = s.csrf ?? null;
  return s;
}

/** POST body as JSON; null on 404. */
export async function postJSON(url, body, signal) {
  if (csrf === null) await session();
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  return request(url, { method: 'POST', signal, body: JSON.stringify(body), headers });
}

/**
 * The tile layers the server offers: a Map from layer name to
 * {tiles: [url template], minzoom, maxzoom, sourceLayer}. Empty when /tiles.json is
 * not there.
 */
export async function tileLayers() {
  const index = await getJSON('/tiles.json');
  const out = new Map();
  if (!index) return out;
  // /tiles.json describes the composite layer: one entry per MVT layer in
  // vector_layers; each layer is also served alone under /tiles/{layer}/.
  // The server builds its URLs from its configured public base URL; the page
  // asks its own origin whatever name it was opened by (and the page's
  // Content-Security-Policy allows nothing else).
  const path = (index.tiles?.[0] ?? '/tiles/all/{z}/{x}/{y}.pbf').split('?')[0].replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const all = location.origin + path;
  for (const v of index.vector_layers ?? []) {
    if (!v.id) continue;
    out.set(v.id, {
      tiles: [all.replace('/tiles/all/', `/tiles/${v.id}/`)],
      minzoom: v.minzoom ?? 0,
      maxzoom: v.maxzoom ?? index.maxzoom ?? 16,
    });
  }
  out.bounds = index.bounds;
  return out;
}

/** Address search hits for free text q. */
export async function searchAddresses(q, signal) {
  const r = await getJSON(`/api/v1/addresses?q=${encodeURIComponent(q)}&limit=8`, signal);
  return r?.addresses ?? r?.hits ?? r?.results ?? r?.features ?? [];
}

/** A grid's load (households, people, tagged people, events). */
export const gridLoad = (code, params) => getJSON(`/api/v1/grids/${encodeURIComponent(code)}/load?${params}`);

/** POST /api/v1/aggregates. */
export const aggregates = (body, signal) => postJSON('/api/v1/aggregates', body, signal);

/**
 * The live stream: calls on.event(e), on.changed(), on.alert(a), on.state(open) as
 * they come; EventSource reconnects by itself with Last-Event-ID.
 */
export function stream(on) {
  const es = new EventSource('/api/v1/stream');
  es.addEventListener('ready', () => on.state(true));
  es.addEventListener('event', (m) => on.event(JSON.parse(m.data)));
  es.addEventListener('events_changed', () => on.changed());
  es.addEventListener('resync', () => on.changed());
  es.addEventListener('alert', (m) => on.alert?.(JSON.parse(m.data)));
  es.onerror = () => on.state(false);
  return es;
}
