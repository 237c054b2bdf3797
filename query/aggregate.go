package query

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/onegrid/onegrid/geo"
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
	GroupBy   string  `json:"group_by"`
	Metric    string  `json:"metric"`
	Tag       string  `json:"tag,omitempty"`
	Threshold int     `json:"threshold"`
	Rule      string  `json:"suppression_rule"`
	Groups    []Group `json:"groups"`
	// Areas holds the uploaded polygons by key (group_by polygons), for GeoJSON output.
	Areas map[string]string `json:"-"`
}

// counts are the underlying numbers of one group.
type counts struct {
	name       *string
	households int64
	people     int64
	events     int64
	closed     int64
	closeHours float64
	due        int64
	onTime     int64
	median     *float64
}

// SuppressionRules documents, per metric, which count decides suppression.
var SuppressionRules = map[string]string{
	"households":                 "suppressed when the group has fewer than threshold households",
	"people":                     "suppressed when the group has fewer than threshold households",
	"tagged_people":              "suppressed when fewer than threshold households in the group carry the tag",
	"events":                     "suppressed when the group has fewer than threshold events",
	"events_per_1000_households": "suppressed when the group has fewer than threshold households or fewer than threshold events",
	"median_close_hours":         "suppressed when the group has fewer than threshold closed events",
	"closed_on_time_share":       "suppressed when the group has fewer than threshold closed events with a deadline",
}

// Aggregate answers an aggregate request, suppressing small groups.
func (s *Store) Aggregate(ctx context.Context, a *Aggregate) (*AggregateResult, error) {
	res := &AggregateResult{GroupBy: a.GroupBy, Metric: a.Metric, Tag: a.Tag, Threshold: s.cfg.MinCount, Rule: SuppressionRules[a.Metric]}
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
	if a.Category != "" {
		var err error
		if cats, err = s.categorySubtree(ctx, "category", a.Category); err != nil {
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
	switch a.Metric {
	case "households", "people", "tagged_people", "events_per_1000_households":
		sql, args := householdSQL(a)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name, c.households, c.people = name, v[0].(int64), v[1].(int64)
		}, new(int64), new(int64)); err != nil {
			return nil, fmt.Errorf("aggregate %s by %s: %w", a.Metric, res.GroupBy, err)
		}
	}
	switch a.Metric {
	case "events", "events_per_1000_households", "closed_on_time_share":
		sql, args := eventSQL(a, cats)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name = name
			c.events, c.closed, c.closeHours, c.due, c.onTime = v[0].(int64), v[1].(int64), v[2].(float64), v[3].(int64), v[4].(int64)
		}, new(int64), new(int64), new(float64), new(int64), new(int64)); err != nil {
			return nil, fmt.Errorf("aggregate %s by %s: %w", a.Metric, res.GroupBy, err)
		}
	case "median_close_hours":
		sql, args := medianSQL(a, cats)
		if err := s.scanGroups(ctx, sql, args, func(k string, name *string, v []any) {
			c := get(k)
			c.name, c.closed = name, v[0].(int64)
			m := v[1].(float64)
			c.median = &m
		}, new(int64), new(float64)); err != nil {
			return nil, fmt.Errorf("aggregate %s by %s: %w", a.Metric, res.GroupBy, err)
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
		g.Value, g.Suppressed = metricValue(a.Metric, c, int64(s.cfg.MinCount))
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

// metricValue computes a group's value, or reports it suppressed.
func metricValue(metric string, c *counts, k int64) (*float64, bool) {
	var v float64
	switch metric {
	case "households":
		if c.households < k {
			return nil, true
		}
		v = float64(c.households)
	case "people":
		if c.households < k {
			return nil, true
		}
		v = float64(c.people)
	case "tagged_people":
		if c.households < k {
			return nil, true
		}
		v = float64(c.households)
	case "events":
		if c.events < k {
			return nil, true
		}
		v = float64(c.events)
	case "events_per_1000_households":
		if c.households < k || c.events < k {
			return nil, true
		}
		v = math.Round(float64(c.events)*1000/float64(c.households)*100) / 100
	case "median_close_hours":
		if c.closed < k || c.median == nil {
			return nil, true
		}
		v = math.Round(*c.median*100) / 100
	case "closed_on_time_share":
		if c.due < k {
			return nil, true
		}
		v = math.Round(float64(c.onTime)/float64(c.due)*10000) / 10000
	}
	return &v, false
}

// scanGroups runs a grouping query whose rows are (key, name, values...).
func (s *Store) scanGroups(ctx context.Context, sql string, args []any, fn func(key string, name *string, v []any), dest ...any) error {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
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

// keyExpr is the group key of a source row with columns admin_code, grid_code, h3.
func keyExpr(a *Aggregate) string {
	switch a.GroupBy {
	// Admin codes are 12 digits padded with zeros (district 440304000000, street
	// 440304001000); rows carry their community's code. Other codes have no unit.
	case "district":
		return "CASE WHEN length(s.admin_code) = 12 THEN left(s.admin_code, 6) || '000000' END"
	case "street":
		return "CASE WHEN length(s.admin_code) = 12 THEN left(s.admin_code, 9) || '000' END"
	case "community":
		return "CASE WHEN length(s.admin_code) = 12 THEN s.admin_code END"
	case "micro_grid":
		return "s.grid_code"
	case "grid":
		return "coalesce(gm.parent_code, s.grid_code)"
	case "h3":
		return fmt.Sprintf("h3_text(h3_parent(s.h3, %d))", a.H3Res)
	case "polygons":
		return "s.key"
	}
	panic("query: unknown group_by " + a.GroupBy)
}

// groupSQL wraps a source query (columns admin_code, grid_code, h3 or key, and
// the value columns) into the grouping by a's key, with names.
func groupSQL(a *Aggregate, source string, aggs []string) string {
	inAggs := make([]string, len(aggs))
	outCols := make([]string, len(aggs))
	for i, ag := range aggs {
		inAggs[i] = fmt.Sprintf("%s AS v%d", ag, i)
		outCols[i] = fmt.Sprintf("g.v%d", i)
	}
	vals := strings.Join(outCols, ", ")
	join := ""
	if a.GroupBy == "grid" {
		join = " LEFT JOIN grid gm ON gm.code = s.grid_code AND gm.valid_to IS NULL AND gm.level = 'micro_grid'"
	}
	inner := "SELECT " + keyExpr(a) + " AS key, " + strings.Join(inAggs, ", ") + " FROM (" + source + ") s" + join + " GROUP BY 1"
	switch a.GroupBy {
	case "district", "street", "community":
		return "SELECT g.key, n.name, " + vals + " FROM (" + inner + ") g LEFT JOIN admin_area n ON n.code = g.key WHERE g.key IS NOT NULL ORDER BY 1"
	case "grid", "micro_grid":
		return "SELECT g.key, n.name, " + vals + " FROM (" + inner + ") g LEFT JOIN grid n ON n.code = g.key AND n.valid_to IS NULL WHERE g.key <> '' ORDER BY 1"
	}
	return "SELECT g.key, NULL::text, " + vals + " FROM (" + inner + ") g WHERE g.key IS NOT NULL ORDER BY 1"
}

// The value columns each source yields, and their aggregates.
var (
	householdAggs = []string{"sum(s.households)::bigint", "sum(s.people)::bigint"}
	eventAggs     = []string{"sum(s.events)::bigint", "sum(s.closed)::bigint", "sum(s.close_hours)::float8", "sum(s.due)::bigint", "sum(s.on_time)::bigint"}
)

// usesRollup reports whether a's groups can be read from the roll-ups (which keep
// H3 cells at res 9 and no geometry).
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

// householdSQL counts households and people (with the tag, for tagged_people) per group.
func householdSQL(a *Aggregate) (string, []any) {
	b := &sqlBuilder{}
	var source string
	switch {
	case a.GroupBy == "polygons":
		tag := ""
		if a.Metric == "tagged_people" {
			tag = " AND h.tags @> ARRAY[" + b.arg(a.Tag) + "::text]"
		}
		source = "SELECT p.key, count(*) AS households, sum(h.members) AS people FROM (" + polygonSource(a, b) + ") p" +
			" JOIN address ad ON ST_Intersects(ad.geom, p.geom) JOIN household h ON h.address_id = ad.id" + tag + " GROUP BY p.key"
	case !usesRollup(a):
		tag := ""
		if a.Metric == "tagged_people" {
			tag = " WHERE h.tags @> ARRAY[" + b.arg(a.Tag) + "::text]"
		}
		source = "SELECT coalesce(h.admin_code, '') AS admin_code, coalesce(h.grid_code, '') AS grid_code, h.h3, 1 AS households, h.members AS people FROM household h" + tag
	case a.Metric == "tagged_people":
		source = "SELECT r.admin_code, r.grid_code, r.h3_9 AS h3, r.households, r.people FROM household_tag_rollup r WHERE r.tag = " + b.arg(a.Tag)
	default:
		source = "SELECT r.admin_code, r.grid_code, r.h3_9 AS h3, r.households, r.people FROM household_rollup r"
	}
	return groupSQL(a, source, householdAggs), b.args
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

// rawEventCols are an event row's source columns, like a roll-up row's.
const rawEventCols = "coalesce(e.admin_code, '') AS admin_code, coalesce(e.grid_code, '') AS grid_code, %s AS h3, 1 AS events, " +
	"(e.closed_at IS NOT NULL)::int AS closed, coalesce(extract(epoch FROM e.closed_at - e.reported_at) / 3600, 0)::float8 AS close_hours, " +
	"(e.closed_at IS NOT NULL AND e.deadline IS NOT NULL)::int AS due, (e.closed_at IS NOT NULL AND e.deadline IS NOT NULL AND e.closed_at <= e.deadline)::int AS on_time"

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

// daySplit splits a window into whole China-time days [d1, d2) read from the
// roll-up and the partial edges [from, start(d1)) and [start(d2), to) read raw.
// ok is false when the window holds no whole day.
func daySplit(w Window) (d1, d2 time.Time, ok bool) {
	if !w.From.IsZero() {
		f := w.From.In(ChinaTime)
		d1 = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, ChinaTime)
		if d1.Before(f) {
			d1 = d1.AddDate(0, 0, 1)
		}
	}
	if !w.To.IsZero() {
		t := w.To.In(ChinaTime)
		d2 = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ChinaTime)
	}
	if !d1.IsZero() && !d2.IsZero() && !d1.Before(d2) {
		return time.Time{}, time.Time{}, false
	}
	return d1, d2, true
}

// eventSQL counts events and closing sums per group.
func eventSQL(a *Aggregate, cats []string) (string, []any) {
	b := &sqlBuilder{}
	var source string
	switch {
	case a.GroupBy == "polygons":
		filters := eventFilters(a, cats, b, "e")
		source = "SELECT p.key, " + fmt.Sprintf(rawEventCols, "e.h3") + " FROM (" + polygonSource(a, b) + ") p JOIN event e ON ST_Intersects(e.geom, p.geom)" +
			and(timeRange(b, a.Window.From, a.Window.To), filters)
	case !usesRollup(a):
		source = "SELECT " + fmt.Sprintf(rawEventCols, "e.h3") + " FROM event e" + and(timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
	default:
		d1, d2, ok := daySplit(a.Window)
		if !ok { // less than a whole day: raw rows only
			source = "SELECT " + fmt.Sprintf(rawEventCols, "h3_parent(e.h3, 9)") + " FROM event e" + and(timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
			break
		}
		var days []string
		if !d1.IsZero() {
			days = append(days, "r.day >= "+b.arg(d1.Format(time.DateOnly))+"::date")
		}
		if !d2.IsZero() {
			days = append(days, "r.day < "+b.arg(d2.Format(time.DateOnly))+"::date")
		}
		source = "SELECT r.admin_code, r.grid_code, r.h3_9 AS h3, r.events, r.closed, r.close_hours, r.due, r.on_time FROM event_rollup_day r" +
			and(strings.Join(days, " AND "), eventFilters(a, cats, b, "r"))
		if !d1.IsZero() && a.Window.From.Before(d1) {
			source += " UNION ALL SELECT " + fmt.Sprintf(rawEventCols, "h3_parent(e.h3, 9)") + " FROM event e" +
				and(timeRange(b, a.Window.From, d1), eventFilters(a, cats, b, "e"))
		}
		if !d2.IsZero() && d2.Before(a.Window.To) {
			source += " UNION ALL SELECT " + fmt.Sprintf(rawEventCols, "h3_parent(e.h3, 9)") + " FROM event e" +
				and(timeRange(b, d2, a.Window.To), eventFilters(a, cats, b, "e"))
		}
	}
	return groupSQL(a, source, eventAggs), b.args
}

// medianSQL computes the median close time in hours of closed events per group,
// from raw rows (a median cannot be rolled up from sums).
func medianSQL(a *Aggregate, cats []string) (string, []any) {
	b := &sqlBuilder{}
	cols := "coalesce(e.admin_code, '') AS admin_code, coalesce(e.grid_code, '') AS grid_code, e.h3, extract(epoch FROM e.closed_at - e.reported_at)::float8 / 3600 AS hours"
	var source string
	if a.GroupBy == "polygons" {
		source = "SELECT p.key, " + cols + " FROM (" + polygonSource(a, b) + ") p JOIN event e ON ST_Intersects(e.geom, p.geom)" +
			and("e.closed_at IS NOT NULL", timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
	} else {
		source = "SELECT " + cols + " FROM event e" + and("e.closed_at IS NOT NULL", timeRange(b, a.Window.From, a.Window.To), eventFilters(a, cats, b, "e"))
	}
	return groupSQL(a, source, []string{"count(*)::bigint", "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.hours)::float8"}), b.args
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
