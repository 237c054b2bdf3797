package query

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onegrid/onegrid/scope"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/sdc"
)

// Group is one row of an aggregate's answer. Value is nil when Suppressed.
type Group struct {
	Key        string   `json:"key"`
	Name       *string  `json:"name"`
	Value      *float64 `json:"value"`
	Suppressed bool     `json:"suppressed"`
}

// AggregateResult is the answer of Aggregate.
type AggregateResult struct {
	GroupBy   string `json:"group_by"`
	Metric    string `json:"metric"`
	Tag       string `json:"tag,omitempty"`
	Threshold int    `json:"threshold"`
	// RoundingBase is b: every released count is a multiple of it (package sdc).
	RoundingBase int     `json:"rounding_base"`
	Rule         string  `json:"suppression_rule"`
	Groups       []Group `json:"groups"`
	// Areas holds the uploaded polygons by key (group_by polygons), for GeoJSON output.
	Areas map[string]string `json:"-"`
}

// counts are the underlying numbers of one group, with the sums of the record
// keys of what they count (package sdc).
type counts struct {
	name             *string
	households, hkey int64 // households (all, whatever the tag)
	people           int64
	tagged, tkey     int64 // households carrying the tag (tagged_people)
	events, ekey     int64
	closed           int64
	closeHours       float64
	due, dueKey      int64
	onTime, onKey    int64
	median           *float64
	based            bool // the group has households: it is listed even when its figure is suppressed
}

// SuppressionRules documents, per metric, when a group is listed, when its figure
// is suppressed and how it is released (README "Disclosure control").
var SuppressionRules = map[string]string{
	"households":                 "groups with households are listed; suppressed when fewer than threshold households, else rounded to a multiple of rounding_base (consistent random rounding keyed by the households)",
	"people":                     "groups with households are listed; suppressed when fewer than threshold households, else the people rounded to a multiple of rounding_base (keyed by the households)",
	"tagged_people":              "groups with households are listed; suppressed when fewer than threshold households carry the tag (none included), else that count rounded to a multiple of rounding_base",
	"events":                     "groups with households or a released count are listed; suppressed when fewer than threshold events match (none included), else rounded to a multiple of rounding_base (keyed by the events)",
	"events_per_1000_households": "groups with households or a released figure are listed; suppressed when fewer than threshold households or events, else computed from the two rounded counts",
	"median_close_hours":         "groups with households or a released figure are listed; suppressed when fewer than threshold closed events; the median itself is exact (an order statistic, not a count)",
	"closed_on_time_share":       "groups with households or a released figure are listed; suppressed when fewer than threshold closed events with a deadline, else the rounded on-time count over the rounded count, at most 1",
}

// Aggregate answers an aggregate request: every figure goes through the
// disclosure-control rule (package sdc), and a group is listed because of its
// base population (it has households; uploaded polygons always), never because of
// a filtered count, so that a suppressed 1..k-1 and an absent 0 look the same.
func (s *Store) Aggregate(ctx context.Context, a *Aggregate) (*AggregateResult, error) {
	res := &AggregateResult{GroupBy: a.GroupBy, Metric: a.Metric, Tag: a.Tag, Threshold: s.cfg.MinCount, RoundingBase: int(s.rule.K()), Rule: SuppressionRules[a.Metric]}
	if a.GroupBy == "h3" {
		res.GroupBy = "h3:" + strconv.Itoa(a.H3Res)
	}
	if a.GroupBy == "polygons" {
		res.Areas = make(map[string]string, len(a.Polygons))
		for i, p := range a.Polygons {
			if err := s.checkArea(ctx, fmt.Sprintf("polygons.features[%d].geometry", i), p.Area); err != nil {
				return nil, err
			}
			res.Areas[p.Key] = p.GeoJSON
		}
	}
	var cats []string
	catLevel := 0
	if a.Category != "" {
		var err error
		if catLevel, cats, err = s.category(ctx, "category", a.Category); err != nil {
			return nil, err
		}
	}
	groups := map[string]*counts{}
	get := func(k string) *counts {
		c := groups[k]
		if c == nil {
			c = &counts{}
			groups[k] = c
		}
		return c
	}
	fail := func(err error) (*AggregateResult, error) {
		return nil, fmt.Errorf("aggregate %s by %s: %w", a.Metric, res.GroupBy, err)
	}
	switch a.Metric {
	case "households", "people", "tagged_people", "events_per_1000_households":
		sql, args := householdSQL(a)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name, c.households, c.people, c.hkey, c.tagged, c.tkey = name, v[0].(int64), v[1].(int64), v[2].(int64), v[3].(int64), v[4].(int64)
			c.based = c.based || c.households > 0
		}, new(int64), new(int64), new(int64), new(int64), new(int64)); err != nil {
			return fail(err)
		}
		if a.Metric == "tagged_people" && usesRollup(a) { // the tag's rows alone: list the groups with households
			if err := s.presence(ctx, a, get); err != nil {
				return fail(err)
			}
		}
	default: // event metrics: the households only say which groups to list
		if err := s.presence(ctx, a, get); err != nil {
			return fail(err)
		}
	}
	switch a.Metric {
	case "events", "events_per_1000_households", "closed_on_time_share":
		sql, args := eventSQL(a, cats, catLevel)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name = name
			c.events, c.closed, c.closeHours, c.due, c.onTime = v[0].(int64), v[1].(int64), v[2].(float64), v[3].(int64), v[4].(int64)
			c.ekey, c.dueKey, c.onKey = v[5].(int64), v[6].(int64), v[7].(int64)
		}, new(int64), new(int64), new(float64), new(int64), new(int64), new(int64), new(int64), new(int64)); err != nil {
			return fail(err)
		}
	case "median_close_hours":
		if medianHistFits(a) {
			ok, err := s.histMedians(ctx, a, get)
			if err != nil {
				return fail(err)
			}
			if ok {
				break
			}
			for _, c := range groups { // the event table changed between the reads: read raw rows
				c.closed, c.median = 0, nil
			}
		}
		sql, args := medianSQL(a, cats)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name, c.closed = name, v[0].(int64)
			m := v[1].(float64)
			c.median = &m
		}, new(int64), new(float64)); err != nil {
			return fail(err)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res.Groups = make([]Group, 0, len(keys))
	for _, k := range keys {
		c := groups[k]
		g := Group{Key: k, Name: c.name}
		g.Value, g.Suppressed = metricValue(a.Metric, c, s.rule)
		if g.Suppressed && !c.based && a.GroupBy != "polygons" {
			continue // no households and nothing released: absent, as an empty group is
		}
		res.Groups = append(res.Groups, g)
	}
	if a.GroupBy == "polygons" { // report every uploaded polygon, empty ones suppressed
		for _, p := range a.Polygons {
			if groups[p.Key] == nil {
				res.Groups = append(res.Groups, Group{Key: p.Key, Suppressed: true})
			}
		}
		sort.Slice(res.Groups, func(i, j int) bool { return res.Groups[i].Key < res.Groups[j].Key })
	}
	return res, nil
}

// metricValue computes a group's released value from its protected figures, or
// reports it suppressed (rule r, package sdc).
func metricValue(metric string, c *counts, r sdc.Rule) (*float64, bool) {
	var v float64
	switch metric {
	case "households":
		n, ok := r.Count(c.households, c.hkey, sdc.Households)
		if !ok {
			return nil, true
		}
		v = float64(n)
	case "people":
		n, ok := r.Sum(c.people, c.households, c.hkey, sdc.People)
		if !ok {
			return nil, true
		}
		v = float64(n)
	case "tagged_people":
		n, ok := r.Count(c.tagged, c.tkey, sdc.Tagged)
		if !ok {
			return nil, true
		}
		v = float64(n)
	case "events":
		n, ok := r.Count(c.events, c.ekey, sdc.Events)
		if !ok {
			return nil, true
		}
		v = float64(n)
	case "events_per_1000_households":
		x, ok := r.Rate(c.events, c.ekey, sdc.Events, c.households, c.hkey, sdc.Households, 1000)
		if !ok {
			return nil, true
		}
		v = math.Round(x*100) / 100
	case "median_close_hours":
		if r.Suppressed(c.closed) || c.median == nil {
			return nil, true
		}
		v = math.Round(*c.median*100) / 100
	case "closed_on_time_share":
		x, ok := r.Share(c.onTime, c.onKey, sdc.OnTime, c.due, c.dueKey, sdc.Due)
		if !ok {
			return nil, true
		}
		v = math.Round(x*10000) / 10000
	}
	return &v, false
}

// scanGroups runs a grouping query whose rows are (key, name, values...).
func (s *Store) scanGroups(ctx context.Context, sql string, args []any, fn func(key string, name *string, v []any), dest ...any) error {
	rows, err := s.db.Query(ctx, sql, append([]any{scope.FreshPlan}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n++; n > s.cfg.MaxGroups {
			return paramErr("group_by", "more than %d groups; use a coarser group_by or a smaller area", s.cfg.MaxGroups)
		}
		var key string
		var name *string
		if err := rows.Scan(append([]any{&key, &name}, dest...)...); err != nil {
			return err
		}
		v := make([]any, len(dest))
		for i, d := range dest {
			switch p := d.(type) {
			case *int64:
				v[i] = *p
			case *float64:
				v[i] = *p
			}
		}
		fn(key, name, v)
	}
	return rows.Err()
}

// keyExpr is the base group key of a row of alias t (columns admin_code,
// grid_code, h3): the final key, except for group_by grid, where it is the row's
// finest grid and outerSQL maps micro-grids to their grid after the rows have
// been reduced to one per micro-grid.
func keyExpr(a *Aggregate, t string) string {
	switch a.GroupBy {
	// Admin codes are 12 digits padded with zeros (district 440304000000, street
	// 440304001000); rows carry their community's code. Other codes have no unit.
	case "district":
		return "CASE WHEN length(" + t + ".admin_code) = 12 THEN left(" + t + ".admin_code, 6) || '000000' END"
	case "street":
		return "CASE WHEN length(" + t + ".admin_code) = 12 THEN left(" + t + ".admin_code, 9) || '000' END"
	case "community":
		return "CASE WHEN length(" + t + ".admin_code) = 12 THEN " + t + ".admin_code END"
	case "micro_grid", "grid":
		return "nullif(" + t + ".grid_code, '')"
	case "h3":
		// h3_parent(h3, res) inlined (a SQL function call per row costs more than
		// the rest of the row): set the resolution field, set the finer digits to 7.
		clear := ^(int64(15) << 52)
		set := int64(a.H3Res)<<52 | (int64(1)<<(3*(15-a.H3Res)) - 1)
		return fmt.Sprintf("CASE WHEN %[1]s.h3 > 0 THEN (%[1]s.h3 & %[2]d) | %[3]d END", t, clear, set)
	case "polygons":
		return "p.key"
	}
	panic("query: unknown group_by " + a.GroupBy)
}

// outerSQL groups the union of parts (each yielding k, v0, v1, ...) by a's final
// key with the outer aggregates aggs (over s.v0, s.v1, ...), and adds names.
// A single part already grouped by the final key (any group_by but grid) is not
// grouped again when aggs are sums: the second hash aggregate over every group
// cost as much as the first (micro_grid, 12,483 groups). Rows come unordered:
// Aggregate sorts the groups.
func outerSQL(a *Aggregate, parts []string, aggs []string) string {
	key := "s.k"
	join := ""
	if a.GroupBy == "grid" {
		key = "coalesce(gm.parent_code, s.k)"
		join = " LEFT JOIN grid gm ON gm.code = s.k AND gm.valid_to IS NULL AND gm.level = 'micro_grid'"
	}
	regroup := len(parts) > 1 || a.GroupBy == "grid"
	for i, ag := range aggs {
		if !strings.HasPrefix(ag, fmt.Sprintf("sum(s.v%d)::", i)) {
			regroup = true
		}
	}
	inAggs := make([]string, len(aggs))
	outCols := make([]string, len(aggs))
	for i, ag := range aggs {
		if !regroup { // sum(s.vI)::T -> s.vI::T
			ag = strings.TrimPrefix(ag, "sum(")
			ag = strings.Replace(ag, ")", "", 1)
		}
		inAggs[i] = fmt.Sprintf("%s AS v%d", ag, i)
		outCols[i] = fmt.Sprintf("g.v%d", i)
	}
	vals := strings.Join(outCols, ", ")
	inner := "SELECT " + key + " AS key, " + strings.Join(inAggs, ", ") + " FROM (" + strings.Join(parts, " UNION ALL ") + ") s" + join + " WHERE s.k IS NOT NULL"
	if regroup {
		inner += " GROUP BY 1"
	}
	switch a.GroupBy {
	case "district", "street", "community":
		return "SELECT g.key, n.name, " + vals + " FROM (" + inner + ") g LEFT JOIN admin_area n ON n.code = g.key"
	case "grid", "micro_grid":
		return "SELECT g.key, n.name, " + vals + " FROM (" + inner + ") g LEFT JOIN grid n ON n.code = g.key AND n.valid_to IS NULL"
	case "h3":
		return "SELECT to_hex(g.key), NULL::text, " + vals + " FROM (" + inner + ") g"
	}
	return "SELECT g.key, NULL::text, " + vals + " FROM (" + inner + ") g"
}

// sums are the outer aggregates of pre-aggregated count columns of the given types.
func sums(types ...string) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = fmt.Sprintf("sum(s.v%d)::%s", i, t)
	}
	return out
}

// usesRollup reports whether a's household groups can be read from the roll-ups
// (which keep H3 cells at res 9 and no geometry).
func usesRollup(a *Aggregate) bool {
	return a.GroupBy != "polygons" && !(a.GroupBy == "h3" && a.H3Res > rollupH3Res)
}

// polygonSource is the uploaded polygons as rows (key, geom), args appended to b.
func polygonSource(a *Aggregate, b *sqlBuilder) string {
	keys := make([]string, len(a.Polygons))
	gj := make([]string, len(a.Polygons))
	for i, p := range a.Polygons {
		keys[i], gj[i] = p.Key, p.GeoJSON
	}
	return "SELECT u.key, ST_GeomFromGeoJSON(u.gj) AS geom FROM unnest(" + b.arg(keys) + "::text[], " + b.arg(gj) + "::text[]) AS u(key, gj)"
}

// recordKey is the SQL of the record key (schema 0770, package sdc) of the
// household or event row of alias t; the seed's subquery runs once per statement.
func recordKey(t string) string {
	return "sdc_record_key(" + t + ".id, (SELECT seed FROM sdc_secret))"
}

// householdSQL counts, per group, households, people and the sum of their
// record keys (v0, v1, v2) and, for tagged_people, the households carrying the
// tag and their keys (v3, v4; 0 otherwise). From the roll-ups, tagged_people
// reads only the tag's rows (v0..v2 are 0): Aggregate lists its groups from
// presence. Sums of keys are cast to bigint where they are made, so that outer
// sums add bigints, not numerics.
func householdSQL(a *Aggregate) (string, []any) {
	b := &sqlBuilder{}
	// Raw rows: all households and, in the same pass, the tagged ones.
	hh := "count(*) AS v0, sum(h.members) AS v1, sum(" + recordKey("h") + ")::bigint AS v2, "
	rawTagged := func() string {
		if a.Metric != "tagged_people" {
			return "0::bigint AS v3, 0::bigint AS v4"
		}
		cond := "h.tags @> ARRAY[" + b.arg(a.Tag) + "::text]"
		return "count(*) FILTER (WHERE " + cond + ") AS v3, coalesce(sum(" + recordKey("h") + ") FILTER (WHERE " + cond + "), 0)::bigint AS v4"
	}
	var part string
	switch {
	case a.GroupBy == "polygons":
		tagged := rawTagged()
		part = "SELECT p.key AS k, " + hh + tagged + " FROM (" + polygonSource(a, b) + ") p" +
			" JOIN address ad ON ad.geom && p.geom AND ST_Intersects(ad.geom, p.geom) JOIN household h ON h.address_id = ad.id GROUP BY 1"
	case !usesRollup(a):
		part = "SELECT " + keyExpr(a, "h") + " AS k, " + hh + rawTagged() + " FROM household h GROUP BY 1"
	case a.Metric == "tagged_people":
		part = "SELECT " + keyExpr(a, "r") + " AS k, 0::bigint AS v0, 0::bigint AS v1, 0::bigint AS v2, sum(r.households)::bigint AS v3, sum(r.hkey)::bigint AS v4 FROM (SELECT admin_code, grid_code, h3_9 AS h3, households, hkey FROM household_tag_rollup WHERE tag = " + b.arg(a.Tag) + ") r GROUP BY 1"
	default:
		part = "SELECT " + keyExpr(a, "r") + " AS k, sum(r.households) AS v0, sum(r.people) AS v1, sum(r.hkey)::bigint AS v2, 0::bigint AS v3, 0::bigint AS v4 FROM (SELECT admin_code, grid_code, h3_9 AS h3, households, people, hkey FROM household_rollup) r GROUP BY 1"
	}
	return outerSQL(a, []string{part}, sums("bigint", "bigint", "bigint", "bigint", "bigint")), b.args
}

// presenceSQL lists the groups that have households (the base population that
// decides which groups are listed when the figure counts something else: a tag,
// events), with their names. Admin units and grids come from tile_load (the
// households per community and per finest grid, a few hundred and some ten
// thousand rows, kept by the household triggers; its policy is the
// jurisdiction's), H3 cells from the household roll-up, or for cells finer than
// it from the household rows, as the households metric reads them.
func presenceSQL(a *Aggregate) string {
	var part string
	switch {
	case a.GroupBy == "district" || a.GroupBy == "street" || a.GroupBy == "community":
		part = "SELECT " + keyExpr(a, "t") + " AS k, 1::bigint AS v0 FROM (SELECT code AS admin_code FROM tile_load WHERE kind = 'admin' AND households > 0) t GROUP BY 1"
	case a.GroupBy == "grid" || a.GroupBy == "micro_grid":
		part = "SELECT " + keyExpr(a, "t") + " AS k, 1::bigint AS v0 FROM (SELECT code AS grid_code FROM tile_load WHERE kind = 'grid' AND households > 0) t GROUP BY 1"
	case usesRollup(a):
		part = "SELECT " + keyExpr(a, "r") + " AS k, 1::bigint AS v0 FROM (SELECT h3_9 AS h3 FROM household_rollup WHERE households > 0) r GROUP BY 1"
	default:
		part = "SELECT " + keyExpr(a, "h") + " AS k, 1::bigint AS v0 FROM household h WHERE h.h3 IS NOT NULL GROUP BY 1"
	}
	return outerSQL(a, []string{part}, sums("bigint"))
}

// eventFilters appends the category, severity, status and source filters on alias t.
func eventFilters(a *Aggregate, cats []string, b *sqlBuilder, t string) string {
	var conds []string
	if cats != nil {
		conds = append(conds, t+".category_code = ANY("+b.arg(cats)+"::text[])")
	}
	for _, f := range []struct {
		col  string
		vals []string
	}{{"severity", a.Severity}, {"status", a.Status}, {"source", a.Source}} {
		if f.vals != nil {
			conds = append(conds, t+"."+f.col+" = ANY("+b.arg(f.vals)+"::text[])")
		}
	}
	return strings.Join(conds, " AND ")
}

func and(conds ...string) string {
	var out []string
	for _, c := range conds {
		if c != "" {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(out, " AND ")
}

// rawEventAggs are the per-group event counts and closing sums of raw rows e,
// with the sums of the record keys of the events, of those closed with a
// deadline and of those closed on time (v5, v6, v7): count(col) and FILTER skip
// NULLs without a CASE per row, and date_part stays in float8 where extract
// would compute in numeric. Only what the metric needs is computed: counting
// alone is several times cheaper.
func rawEventAggs(metric string) string {
	key := recordKey("e")
	switch metric {
	case "events", "events_per_1000_households":
		return "count(*) AS v0, 0::bigint AS v1, 0::float8 AS v2, 0::bigint AS v3, 0::bigint AS v4, sum(" + key + ")::bigint AS v5, 0::bigint AS v6, 0::bigint AS v7"
	case "closed_on_time_share":
		return "count(*) AS v0, 0::bigint AS v1, 0::float8 AS v2, count(e.closed_at) FILTER (WHERE e.deadline IS NOT NULL) AS v3, count(*) FILTER (WHERE e.closed_at <= e.deadline) AS v4, " +
			"0::bigint AS v5, coalesce(sum(" + key + ") FILTER (WHERE e.closed_at IS NOT NULL AND e.deadline IS NOT NULL), 0)::bigint AS v6, coalesce(sum(" + key + ") FILTER (WHERE e.closed_at <= e.deadline), 0)::bigint AS v7"
	}
	return "count(*) AS v0, count(e.closed_at) AS v1, coalesce(sum(date_part('epoch', e.closed_at - e.reported_at)), 0) / 3600 AS v2, " +
		"count(e.closed_at) FILTER (WHERE e.deadline IS NOT NULL) AS v3, count(*) FILTER (WHERE e.closed_at <= e.deadline) AS v4, " +
		"sum(" + key + ")::bigint AS v5, coalesce(sum(" + key + ") FILTER (WHERE e.closed_at IS NOT NULL AND e.deadline IS NOT NULL), 0)::bigint AS v6, coalesce(sum(" + key + ") FILTER (WHERE e.closed_at <= e.deadline), 0)::bigint AS v7"
}

// timeRange is a condition reported_at in [from, to) on alias e (zero ends open).
func timeRange(b *sqlBuilder, from, to time.Time) string {
	var c []string
	if !from.IsZero() {
		c = append(c, "e.reported_at >= "+b.arg(from))
	}
	if !to.IsZero() {
		c = append(c, "e.reported_at < "+b.arg(to))
	}
	return strings.Join(c, " AND ")
}

// monthSplit splits a window into whole China-time months [m1, m2), read from
// the monthly roll-up, and the partial edges [from, m1) and [m2, to), read raw.
// ok is false when the window holds no whole month.
func monthSplit(w Window) (m1, m2 time.Time, ok bool) {
	if !w.From.IsZero() {
		f := w.From.In(clock.China)
		m1 = time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, clock.China)
		if m1.Before(f) {
			m1 = m1.AddDate(0, 1, 0)
		}
	}
	if !w.To.IsZero() {
		t := w.To.In(clock.China)
		m2 = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, clock.China)
	}
	if !m1.IsZero() && !m2.IsZero() && !m1.Before(m2) {
		return time.Time{}, time.Time{}, false
	}
	return m1, m2, true
}

// monthRollupFits reports whether the monthly roll-up can answer a: grouped by an
// admin unit, no severity, status or source filter, and no category filter or a
// level-1 one (the roll-up keeps the level-1 ancestor of each event's category).
func monthRollupFits(a *Aggregate, catLevel int) bool {
	switch a.GroupBy {
	case "district", "street", "community":
	default:
		return false
	}
	return a.Severity == nil && a.Status == nil && a.Source == nil && (a.Category == "" || catLevel == 1)
}

// eventSQL counts events and closing sums per group, with the key sums of the
// counts (rawEventAggs).
func eventSQL(a *Aggregate, cats []string, catLevel int) (string, []any) {
	b := &sqlBuilder{}
	var parts []string
	raw := func(from, to time.Time) string {
		return "SELECT " + keyExpr(a, "e") + " AS k, " + rawEventAggs(a.Metric) + " FROM event e" + and(timeRange(b, from, to), eventFilters(a, cats, b, "e")) + " GROUP BY 1"
	}
	m1, m2, whole := monthSplit(a.Window)
	switch {
	case a.GroupBy == "polygons":
		filters := eventFilters(a, cats, b, "e")
		parts = append(parts, "SELECT p.key AS k, "+rawEventAggs(a.Metric)+" FROM ("+polygonSource(a, b)+") p JOIN event e ON e.geom && p.geom AND ST_Intersects(e.geom, p.geom)"+
			and(timeRange(b, a.Window.From, a.Window.To), filters)+" GROUP BY 1")
	case monthRollupFits(a, catLevel) && whole:
		var conds []string
		if !m1.IsZero() {
			conds = append(conds, "r.month >= "+b.arg(m1.Format(time.DateOnly))+"::date")
		}
		if !m2.IsZero() {
			conds = append(conds, "r.month < "+b.arg(m2.Format(time.DateOnly))+"::date")
		}
		if a.Category != "" {
			conds = append(conds, "r.category_root = "+b.arg(a.Category))
		}
		parts = append(parts, "SELECT "+keyExpr(a, "r")+" AS k, sum(r.events) AS v0, sum(r.closed) AS v1, sum(r.close_hours) AS v2, sum(r.due) AS v3, sum(r.on_time) AS v4, "+
			"sum(r.ekey)::bigint AS v5, sum(r.due_key)::bigint AS v6, sum(r.on_time_key)::bigint AS v7 FROM event_rollup_month r"+and(conds...)+" GROUP BY 1")
		if !m1.IsZero() && a.Window.From.Before(m1) {
			parts = append(parts, raw(a.Window.From, m1))
		}
		if !m2.IsZero() && m2.Before(a.Window.To) {
			parts = append(parts, raw(m2, a.Window.To))
		}
	default:
		parts = append(parts, raw(a.Window.From, a.Window.To))
	}
	return outerSQL(a, parts, sums("bigint", "bigint", "float8", "bigint", "bigint", "bigint", "bigint", "bigint")), b.args
}

// medianSQL computes the median close time in hours of closed events per group,
// from raw rows, exactly (histMedians answers whole-month unfiltered medians by
// admin unit from the close-time histogram).
func medianSQL(a *Aggregate, cats []string) (string, []any) {
	b := &sqlBuilder{}
	hours := "date_part('epoch', e.closed_at - e.reported_at) / 3600 AS v0"
	var part string
	if a.GroupBy == "polygons" {
		part = "SELECT p.key AS k, " + hours + " FROM (" + polygonSource(a, b) + ") p JOIN event e ON e.geom && p.geom AND ST_Intersects(e.geom, p.geom)" +
			and("e.closed_at IS NOT NULL", timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
	} else {
		part = "SELECT " + keyExpr(a, "e") + " AS k, " + hours + " FROM event e" + and("e.closed_at IS NOT NULL", timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
	}
	return outerSQL(a, []string{part}, []string{"count(*)::bigint", "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.v0)::float8"}), b.args
}

// histBins is the number of close-time histogram bins: -1 (below zero), 0..719
// hours, 720 (720 h or more); bin b is at index b+1.
const histBins = 722

// medianHistFits reports whether event_close_hist_month can answer a median: by
// an admin unit, with no filter, over whole China-time months.
func medianHistFits(a *Aggregate) bool {
	switch a.GroupBy {
	case "district", "street", "community":
	default:
		return false
	}
	if a.Category != "" || a.Severity != nil || a.Status != nil || a.Source != nil {
		return false
	}
	m1, m2, ok := monthSplit(a.Window)
	return ok && m1.Equal(a.Window.From) && m2.Equal(a.Window.To)
}

// adminPrefix is the code prefix shared by the communities of an admin group key.
func adminPrefix(groupBy, key string) string {
	switch {
	case groupBy == "district" && len(key) >= 6:
		return key[:6]
	case groupBy == "street" && len(key) >= 9:
		return key[:9]
	}
	return key
}

// histMedians computes each group's exact median close time in two short reads:
// the monthly close-time histograms of the window, merged per group, give the
// hour bin holding each of the (one or two) middle ranks and the rank inside
// it; then only the raw close times in those bins (a few percent of the
// window's closed events) are read through event_close_hist_idx and the middle
// values picked. The result equals percentile_cont(0.5) over raw rows. ok is
// false, with nothing stored, when the two reads disagree (the event table
// changed in between); the caller then reads raw rows.
func (s *Store) histMedians(ctx context.Context, a *Aggregate, get func(string) *counts) (ok bool, err error) {
	b := &sqlBuilder{}
	var conds []string
	if !a.Window.From.IsZero() {
		conds = append(conds, "r.month >= "+b.arg(a.Window.From.In(clock.China).Format(time.DateOnly))+"::date")
	}
	if !a.Window.To.IsZero() {
		conds = append(conds, "r.month < "+b.arg(a.Window.To.In(clock.China).Format(time.DateOnly))+"::date")
	}
	sql := "SELECT h.k, n.name, h.bins, h.counts FROM (SELECT " + keyExpr(a, "r") + " AS k, r.bins, r.counts FROM event_close_hist_month r" +
		and(conds...) + ") h LEFT JOIN admin_area n ON n.code = h.k WHERE h.k IS NOT NULL"
	type hist struct {
		name   *string
		n      [histBins]int64
		total  int64
		bin    [2]int   // index of the bin holding the lower and upper middle rank
		rank   [2]int64 // those ranks inside their bins
		values map[int][]float64
	}
	hs := map[string]*hist{}
	rows, err := s.db.Query(ctx, sql, append([]any{scope.FreshPlan}, b.args...)...)
	if err != nil {
		return false, err
	}
	var (
		key    string
		name   *string
		bins   []int16
		counts []int64
	)
	for rows.Next() {
		if err := rows.Scan(&key, &name, &bins, &counts); err != nil {
			rows.Close()
			return false, err
		}
		if len(bins) != len(counts) {
			rows.Close()
			return false, fmt.Errorf("event_close_hist_month %s: %d bins, %d counts", key, len(bins), len(counts))
		}
		h := hs[key]
		if h == nil {
			if len(hs) >= s.cfg.MaxGroups {
				rows.Close()
				return false, paramErr("group_by", "more than %d groups; use a coarser group_by or a smaller area", s.cfg.MaxGroups)
			}
			h = &hist{name: name}
			hs[key] = h
		}
		for i, bin := range bins {
			if bin < -1 || int(bin) > histBins-2 {
				rows.Close()
				return false, fmt.Errorf("event_close_hist_month %s: bin %d", key, bin)
			}
			h.n[bin+1] += counts[i]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	// The bins to read raw, per group.
	var qKeys, qPrefixes, qEnds []string
	var qBins []int16
	for k, h := range hs {
		for _, c := range h.n {
			if c < 0 {
				return false, nil
			}
			h.total += c
		}
		if h.total == 0 { // no closed events left: absent, as from raw rows
			delete(hs, k)
			continue
		}
		for j, r := range [2]int64{(h.total - 1) / 2, h.total / 2} {
			var cum int64
			for i, c := range h.n {
				if r < cum+c {
					h.bin[j], h.rank[j] = i, r-cum
					break
				}
				cum += c
			}
			if j == 0 || h.bin[1] != h.bin[0] {
				lo := adminPrefix(a.GroupBy, k)
				qKeys, qPrefixes, qEnds, qBins = append(qKeys, k), append(qPrefixes, lo), append(qEnds, lo+"\U0010FFFF"), append(qBins, int16(h.bin[j]-1))
			}
		}
		h.values = map[int][]float64{}
	}
	if len(hs) == 0 {
		return true, nil
	}
	b = &sqlBuilder{}
	// The unit's range is inside()'s, its end computed here: under row-level
	// security a join condition reaches the index only when it is leakproof, and
	// q.lo || … is a function of a row (textcat is not marked leakproof).
	sql = "SELECT q.k, q.bin, date_part('epoch', e.closed_at - e.reported_at) / 3600 FROM unnest(" + b.arg(qKeys) + "::text[], " + b.arg(qPrefixes) + "::text[], " + b.arg(qEnds) + "::text[], " + b.arg(qBins) + "::int2[]) AS q(k, lo, hi, bin)" +
		" JOIN event e ON close_hist_bin(e.reported_at, e.closed_at) = q.bin AND e.admin_code COLLATE \"C\" >= q.lo COLLATE \"C\" AND e.admin_code COLLATE \"C\" < q.hi COLLATE \"C\" AND " + keyExpr(a, "e") + " = q.k" +
		and("e.closed_at IS NOT NULL", timeRange(b, a.Window.From, a.Window.To))
	rows, err = s.db.Query(ctx, sql, append([]any{scope.FreshPlan}, b.args...)...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var bin int16
	var v float64
	for rows.Next() {
		if err := rows.Scan(&key, &bin, &v); err != nil {
			return false, err
		}
		if h := hs[key]; h != nil {
			h.values[int(bin)+1] = append(h.values[int(bin)+1], v)
		}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	medians := make(map[string]float64, len(hs))
	for k, h := range hs {
		var mid [2]float64
		for j := range mid {
			vals := h.values[h.bin[j]]
			if int64(len(vals)) != h.n[h.bin[j]] {
				return false, nil
			}
			if !sort.Float64sAreSorted(vals) {
				sort.Float64s(vals)
			}
			mid[j] = vals[h.rank[j]]
		}
		medians[k] = mid[0] + (mid[1]-mid[0])*0.5 // as percentile_cont interpolates
	}
	for k, m := range medians {
		c := get(k)
		c.name, c.closed = hs[k].name, hs[k].total
		c.median = &m
	}
	return true, nil
}

// GroupGeometries returns the GeoJSON geometry of each group key of res.
func (s *Store) GroupGeometries(ctx context.Context, res *AggregateResult) (map[string]string, error) {
	out := make(map[string]string, len(res.Groups))
	keys := make([]string, len(res.Groups))
	for i, g := range res.Groups {
		keys[i] = g.Key
	}
	var sql string
	switch {
	case res.GroupBy == "polygons":
		return res.Areas, nil
	case strings.HasPrefix(res.GroupBy, "h3:"):
		for _, k := range keys {
			c, err := geo.ParseCell(k)
			if err != nil {
				continue
			}
			b, err := polygonJSON(geo.CellBoundary(c))
			if err != nil {
				return nil, err
			}
			out[k] = b
		}
		return out, nil
	case res.GroupBy == "grid" || res.GroupBy == "micro_grid":
		sql = `SELECT code, ST_AsGeoJSON(geom, 7) FROM grid WHERE code = ANY($1) AND valid_to IS NULL`
	default:
		sql = `SELECT code, ST_AsGeoJSON(geom, 7) FROM admin_area WHERE code = ANY($1)`
	}
	rows, err := s.db.Query(ctx, sql, keys)
	if err != nil {
		return nil, fmt.Errorf("group geometries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, g string
		if err := rows.Scan(&k, &g); err != nil {
			return nil, fmt.Errorf("group geometries: %w", err)
		}
		out[k] = g
	}
	return out, rows.Err()
}
