// Key figures of a unit (or the whole area) for the panel: households, people and
// tagged people from POST /api/v1/aggregates (privacy-suppressed: a small group
// shows "—"), events and the closed-on-time share in the time window from the same,
// and open/overdue from GET /api/v1/events/summary, which the aggregates lack.
import * as api from './api.js';

const OPEN = ['reported', 'dispatched', 'handling'];

const GROUPS = ['district', 'street', 'community', 'grid', 'micro_grid'];

/**
 * Figures for sel ({level, code}; null: the whole area) under filters {from, to,
 * category, severity}. Each figure is a number, or null when not available or
 * suppressed. tags are the household tags in use. area (from the overview; may
 * be null) scopes the whole-area figures: an area of one unit (a district, or a
 * jurisdiction's street or grid) is that unit's figures; over several, only
 * groups and events whose codes start with its code count. can(capability)
 * says what the user may ask: the aggregates need 'aggregates', the event
 * loop's open and overdue counts 'rows'; what may not be asked is null.
 */
export async function kpisFor(sel, f, tags, signal, area, can = () => true) {
  const root = !sel && area?.roots?.length === 1 && GROUPS.includes(area.roots[0].level) ? area.roots[0] : null;
  const unit = sel ?? root;
  const groupBy = unit ? unit.level : 'district';
  const key = unit?.code;
  const prefix = unit ? null : area?.code ?? null;
  const ev = { from: f.from, to: f.to };
  if (f.category) ev.category = f.category;
  if (f.severity) ev.severity = [f.severity];
  const agg = (metric, extra = {}) => (!can('aggregates') ? Promise.resolve(null)
    : api.aggregates({ group_by: groupBy, metric, ...extra }, signal).then((r) => pick(r, key, prefix), () => null));
  const sq = new URLSearchParams({ from: f.from, to: f.to });
  if (unit) sq.set('unit', unit.code);
  else if (prefix) sq.set('unit', prefix);
  if (f.category) sq.set('category', f.category);
  if (f.severity) sq.set('severity', f.severity);
  const [households, people, events, onTime, summary, ...tagged] = await Promise.all([
    agg('households'),
    agg('people'),
    agg('events', ev),
    agg('closed_on_time_share', ev),
    can('rows') ? api.getJSON(`/api/v1/events/summary?${sq}`, signal).catch(() => null) : null,
    ...tags.map((tag) => agg('tagged_people', { tag })),
  ]);
  let taggedSum = null;
  if (tags.length && tagged.every((v) => v != null)) taggedSum = tagged.reduce((a, b) => a + b, 0);
  return {
    // An area whose units have no district-level codes (not 12-digit admin
    // codes) has no aggregate groups: its household count is the overview's.
    households: households ?? (sel || !can('aggregates') ? null : area?.households ?? null),
    people, events: events ?? summary?.events ?? null,
    tagged_people: taggedSum,
    open: summary?.open ?? null,
    overdue: summary?.overdue ?? null,
    // Whole area over several districts: the aggregates give a share per group, the
    // summary the exact share over all of them.
    closed_on_time: onTime ?? summary?.closed_on_time_share ?? null,
  };
}

/**
 * The value for key in an aggregate answer (null key: the sum over all groups,
 * or over those whose key starts with prefix; null when there are none).
 */
function pick(r, key, prefix) {
  if (!r?.groups) return null;
  if (key != null) {
    const g = r.groups.find((x) => x.key === key);
    return g && !g.suppressed ? g.value : null;
  }
  const groups = prefix ? r.groups.filter((g) => g.key.startsWith(prefix)) : r.groups;
  if (prefix && !groups.length) return null;
  // Whole area: counts add up; a share is only exact for one group.
  if (groups.some((g) => g.suppressed)) return null;
  if (r.metric === 'closed_on_time_share' || r.metric === 'median_close_hours' || r.metric === 'events_per_1000_households') {
    return groups.length === 1 ? groups[0].value : null;
  }
  return groups.reduce((a, g) => a + (g.value ?? 0), 0);
}
