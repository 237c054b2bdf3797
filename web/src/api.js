// The server's HTTP interface as the page uses it. Every function resolves to
// plain data; an endpoint that is not there (404) resolves to null, so the page
// can hide what the server does not offer.
//
// Identity: the page logs in with POST /api/v1/session (an HttpOnly cookie the
// page never sees) and sends the session's anti-forgery token (X-CSRF-Token,
// from the login's answer or GET /api/v1/session) with every state-changing
// request. A request answered 401 "unauthenticated" means the session has
// ended: the handler set with whenUnauthorized is told, once per ending.

/** An HTTP failure other than 404: status, and the error code the server gave. */
export class HTTPError extends Error {
  constructor(status, url, body) {
    super(`${status} ${url}${body?.error?.message ? ': ' + body.error.message : ''}`);
    this.status = status;
    this.code = body?.error?.code ?? '';
    this.serverMessage = body?.error?.message ?? '';
    this.body = body;
  }
}

let onUnauthorized = null;
let csrf = null;

/** Sets f, called when a request finds the session gone (401 unauthenticated). */
export function whenUnauthorized(f) { onUnauthorized = f; }

// A 401 is a session that ended, except a wrong password (bad_credentials),
// which the login and password forms answer themselves.
const ended = (status, body) => status === 401 && body?.error?.code !== 'bad_credentials';

async function request(url, init) {
  const resp = await fetch(url, { headers: { Accept: 'application/json' }, ...init });
  if (resp.status === 404) return null;
  let body = null;
  if (resp.status !== 204) {
    try { body = await resp.json(); } catch { /* not JSON */ }
  }
  if (!resp.ok) {
    if (ended(resp.status, body)) {
      csrf = null;
      onUnauthorized?.();
    }
    throw new HTTPError(resp.status, url, body);
  }
  return body;
}

/** GET url as JSON; null on 404. init adds fetch options (cache). */
export const getJSON = (url, signal, init) => request(url, { signal, ...init });

/** Who the page is logged in as (GET /api/v1/session); null when nobody is. Keeps the anti-forgery token. */
export async function session() {
  const resp = await fetch('/api/v1/session', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (resp.status === 401) { csrf = null; return null; }
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  if (!resp.ok) throw new HTTPError(resp.status, '/api/v1/session', body);
  csrf = body.csrf ?? null;
  return body;
}

/**
 * A state-changing request with the session's anti-forgery token (read first
 * when the page has none); a 403 "csrf" (the session was renewed elsewhere, or
 * the token was lost) reads it again and retries once.
 */
async function send(method, url, body, signal) {
  if (csrf === null) await session();
  for (let attempt = 0; ; attempt++) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    try {
      return await request(url, { method, signal, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      if (attempt > 0 || err.status !== 403 || err.code !== 'csrf') throw err;
      csrf = null;
      if (!(await session())) throw err;
    }
  }
}

/** POST body as JSON; null on 404. */
export const postJSON = (url, body, signal) => send('POST', url, body, signal);

/**
 * Logs in (POST /api/v1/session). Resolves to the session (as GET
 * /api/v1/session answers it); rejects with an HTTPError, 401
 * "bad_credentials" for a wrong name or password (the server never says which).
 */
export async function login(name, password) {
  const s = await request('/api/v1/session', {
    method: 'POST', cache: 'no-store',
    headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
  csrf = s?.csrf ?? null;
  return s;
}

/** Ends the session (DELETE /api/v1/session); an ended one is fine. */
export async function logout() {
  try {
    await send('DELETE', '/api/v1/session');
  } catch (err) {
    if (err.status !== 401) throw err;
  } finally {
    csrf = null;
  }
}

/** Changes the password (POST /api/v1/session/password): 401 "bad_credentials" for a wrong current one, 400 for a new one the policy refuses. */
export const changePassword = (old, neu) => send('POST', '/api/v1/session/password', { old, new: neu });

/**
 * The tile layers the server offers: a Map from layer name to
 * {tiles: [url template], minzoom, maxzoom, sourceLayer}. Empty when /tiles.json is
 * not there.
 */
export async function tileLayers(init) {
  const index = await getJSON('/tiles.json', undefined, init);
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

/** A page of the households of a unit, masked (GET /api/v1/households); cursor from the previous page's next_cursor. */
export function households(unit, cursor, signal) {
  const q = new URLSearchParams({ unit, limit: '50' });
  if (cursor) q.set('cursor', cursor);
  return request(`/api/v1/households?${q}`, { signal, cache: 'no-store' });
}

/** The clear values of a household's personal fields, with the reason (audited: POST /api/v1/households/{id}/unmask). */
export const unmask = (id, fields, reason) => postJSON(`/api/v1/households/${encodeURIComponent(id)}/unmask`, { fields, reason });

/**
 * The live stream: calls on.event(e), on.changed(), on.alert(a), on.state(open) as
 * they come; EventSource reconnects by itself with Last-Event-ID, except after an
 * answer that is not a stream (a 401 when the session has ended), when it calls
 * on.closed().
 */
export function stream(on) {
  const es = new EventSource('/api/v1/stream');
  es.addEventListener('ready', () => on.state(true));
  es.addEventListener('event', (m) => on.event(JSON.parse(m.data)));
  es.addEventListener('events_changed', () => on.changed());
  es.addEventListener('resync', () => on.changed());
  es.addEventListener('alert', (m) => on.alert?.(JSON.parse(m.data)));
  es.onerror = () => {
    on.state(false);
    if (es.readyState === EventSource.CLOSED) on.closed?.();
  };
  return es;
}
