// The side panel: breadcrumb, scope name, key figures, details of a clicked
// building or event, the live feed; plus the layer switcher and search results.
// Everything is built with DOM calls and textContent: no HTML from data.
import { t, tOr, num, dateTime, getLang } from './i18n.js';
import { $, el } from './dom.js';

/**
 * Breadcrumb: chain is [{level, code, name}], root first; onPick(index or -1 for
 * root). The root is the whole area, named rootName; rootUnit ({level, code}),
 * when the area is one unit, is said under its name.
 */
export function renderBreadcrumb(chain, onPick, rootName, rootUnit) {
  const nav = $('breadcrumb');
  nav.replaceChildren();
  const items = [{ name: rootName || t('wholeArea'), level: 'city' }, ...chain];
  items.forEach((u, i) => {
    if (i > 0) nav.append(el('span', { class: 'sep' }, '›'));
    const last = i === items.length - 1;
    nav.append(el(last ? 'span' : 'a', { class: last ? 'here' : null, href: last ? null : '#',
      dataset: { level: u.level, code: u.code ?? '' },
      onclick: last ? null : (ev) => { ev.preventDefault(); onPick(i - 1); } }, u.name || u.code));
  });
  const cur = items[items.length - 1];
  $('scope-name').textContent = cur.name || cur.code;
  const sub = cur.level === 'city' ? rootUnit : cur;
  $('scope-sub').textContent = sub?.code && sub.level !== 'city' ? `${t('lvl_' + sub.level)} · ${sub.code}` : '';
}

/**
 * The area switcher: every area with its figures (from the overview), the one
 * on screen marked; hidden when there is only one. onPick(area).
 */
export function renderAreas(areas, current, onPick) {
  const box = $('areas');
  box.hidden = areas.length < 2;
  const list = $('area-list');
  list.replaceChildren();
  if (box.hidden) return;
  for (const a of areas) {
    const on = a === current;
    list.append(el('button', { type: 'button', class: 'area' + (on ? ' on' : ''), 'aria-pressed': on ? 'true' : 'false',
      dataset: { area: a.code }, onclick: () => onPick(a) },
    el('span', { class: 'n' }, a.name || a.code),
    el('span', { class: 'f' },
      el('span', { dataset: { fig: 'households' } }, `${t('households')} ${num(a.households)}`),
      el('span', { dataset: { fig: 'events' } }, `${t('events')} ${num(a.events)}`),
      el('span', { dataset: { fig: 'open' } }, `${t('open')} ${num(a.open)}`))));
  }
}

const KPI_ORDER = [
  ['households', 0], ['people', 0], ['tagged_people', 0],
  ['events', 0], ['open', 0], ['overdue', 0], ['closed_on_time', 1],
];

/** The key figures the panel can show. */
export const KPI_KEYS = KPI_ORDER.map(([k]) => k);

/** Key figures, those of keys (default all); k holds numbers (null: not available; undefined: loading). */
export function renderKpis(k, note, keys = KPI_KEYS) {
  const box = $('kpis');
  box.replaceChildren();
  for (const [key, digits] of KPI_ORDER) {
    if (!keys.includes(key)) continue;
    let v = k?.[key];
    let text;
    if (v === undefined) text = '…';
    else if (v === null) text = '—';
    else if (key === 'closed_on_time') text = num(v * 100, digits) + '%';
    else text = num(v, digits);
    const warn = (key === 'overdue' && v > 0) ? 'warn' : (key === 'open' && v > 0 ? 'info' : null);
    // Seven-digit figures of a whole city must fit a third of the panel.
    const size = text.length > 7 ? ' long' : text.length > 5 ? ' mid' : '';
    box.append(el('div', { class: 'kpi ' + (warn ?? '') + size, dataset: { kpi: key, value: v ?? '' } },
      el('div', { class: 'v' }, text), el('div', { class: 'k' }, t(key))));
  }
  if (note) box.append(el('div', { class: 'note' }, note));
}

/** Shows a details card: title, rows [[label, value]], onClose. */
export function renderDetails(title, rows, kind) {
  const box = $('details');
  box.hidden = false;
  box.dataset.kind = kind;
  box.replaceChildren(
    el('div', { class: 'dhead' }, el('h2', {}, title),
      el('button', { type: 'button', class: 'x', 'aria-label': t('close'), onclick: hideDetails }, '×')),
    el('dl', {}, rows.filter((r) => r[1] != null && r[1] !== '').map(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v))])),
  );
}

export function hideDetails() {
  const box = $('details');
  box.hidden = true;
  box.replaceChildren();
}

/** Category display name for code, from the overview's taxonomy. */
export function categoryName(cats, code) {
  const c = cats.get(code);
  if (!c) return code ?? '';
  return getLang() === 'en' && c.name_en ? c.name_en : c.name;
}

/** Rows describing an event (tile properties or stream payload). */
export function eventRows(p, cats) {
  return [
    [t('category'), categoryName(cats, p.category ?? p.category_code)],
    [t('severity'), tOr('sev_' + p.severity, p.severity)],
    [t('status'), tOr('st_' + p.status, p.status)],
    [t('source'), p.source ? tOr('src_' + p.source, p.source) : null],
    [t('reportedAt'), p.reported_at ? dateTime(p.reported_at) : null],
    [t('ageDays'), p.age_days ?? null],
    [t('overdue'), p.overdue == null ? null : (p.overdue ? t('yes') : t('no'))],
    [t('escalation'), p.escalation ? p.escalation : null],
    [t('grid'), p.grid_code],
  ];
}

/** Prepends a live event to the feed; onPick(e) when clicked. */
export function feedAdd(e, cats, onPick) {
  const feed = $('feed');
  feed.querySelector('.empty')?.remove();
  const li = el('li', { class: 'sev-' + e.severity, dataset: { id: e.id }, tabindex: 0, onclick: () => onPick(e) },
    el('span', { class: 'badge' }, tOr('sev_' + e.severity, e.severity)),
    el('span', { class: 'cat' }, categoryName(cats, e.category_code)),
    el('time', {}, dateTime(e.reported_at)),
    el('span', { class: 'grid' }, e.grid_code ?? ''));
  feed.prepend(li);
  li.classList.add('fresh');
  setTimeout(() => li.classList.remove('fresh'), 4000);
  while (feed.children.length > 50) feed.lastChild.remove();
}

/** Prepends a hotspot alert to the feed; onPick(a) when clicked. */
export function feedAlert(a, onPick) {
  const feed = $('feed');
  feed.querySelector('.empty')?.remove();
  const li = el('li', { class: 'alert', dataset: { alert: a.id }, tabindex: 0, onclick: () => onPick(a) },
    el('span', { class: 'badge' }, t('hotspotAlert')),
    el('span', { class: 'cat' }, `${tOr('hot_' + a.kind, a.kind ?? '')} · ${t('events')} ${a.count ?? '—'} · z ${a.z ?? '—'}`),
    el('time', {}, dateTime(a.created_at)),
    el('span', { class: 'grid' }, `H3 ${a.cell ?? ''}${a.area ? ' · ' + a.area : ''}`));
  feed.prepend(li);
  li.classList.add('fresh');
  setTimeout(() => li.classList.remove('fresh'), 4000);
  while (feed.children.length > 50) feed.lastChild.remove();
}

export function feedEmpty() {
  const feed = $('feed');
  if (!feed.children.length) feed.append(el('li', { class: 'empty' }, t('feedEmpty')));
}

/** The layer switcher: layers [{key, available}], visible Set; onToggle(key, on). */
export function renderLayers(layers, visible, onToggle) {
  const list = $('layer-list');
  list.replaceChildren();
  for (const l of layers) {
    if (!l.available) continue;
    const id = 'layer-' + l.key;
    list.append(el('label', { for: id, class: 'layer' },
      el('input', { type: 'checkbox', id, checked: visible.has(l.key), dataset: { layer: l.key },
        onchange: (ev) => onToggle(l.key, ev.target.checked) }),
      el('span', {}, t('layer_' + l.key))));
  }
}

/** Search results: hits [{label, sub, onPick}]. */
export function renderSearch(hits, message) {
  const ul = $('search-results');
  ul.replaceChildren();
  if (message) ul.append(el('li', { class: 'msg' }, message));
  for (const h of hits) {
    ul.append(el('li', {}, el('button', { type: 'button', onclick: h.onPick },
      el('span', { class: 'l' }, h.label), h.sub ? el('span', { class: 's' }, h.sub) : null)));
  }
  ul.hidden = !message && !hits.length;
}

/** The map legend: of the event points and the event density, where the map has them. */
export function renderLegend(points = true, density = true) {
  const box = $('legend');
  const sw = (color, label, cls) => el('span', { class: 'item' }, el('i', { class: cls ?? 'dot', style: `--c:${color}` }), label);
  box.replaceChildren(
    points ? el('div', {}, el('b', {}, t('legendEvents')),
      sw('#ff4d4f', t('sev_urgent')), sw('#ffa940', t('sev_important')), sw('#fadb14', t('sev_general')),
      sw('#ff1f3d', t('legendOverdue'), 'ring')) : null,
    density ? el('div', {}, el('b', {}, t('legendDensity')), el('span', { class: 'ramp' }),
      el('span', { class: 'rl', id: 'density-range' }, densityRange)) : null,
  );
  box.hidden = !points && !density;
}

let densityRange = '1 → 20+';

/** Shows the event counts at the ends of the density colour ramp in view. */
export function setDensityRange(lo, hi) {
  densityRange = `${num(lo, 0)} → ${num(hi, 0)}+`;
  const r = $('density-range');
  if (r) r.textContent = densityRange;
}
