package query

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/sdc"
)

// Overview is what the command-centre page needs to start: the server's clock
// and default window, the areas it can show (the first is where it opens), the
// admin hierarchy (names for breadcrumbs and drill-down) and the event taxonomy
// (the category filter). All of it is small: a city has about a thousand admin
// units and a few hundred categories.
type Overview struct {
	// Now is the server's clock: the page counts its windows ("today", the last
	// 7 or 30 days) and event ages from it, never from the browser's clock.
	Now time.Time `json:"now"`
	// Window is the default window of the panel and the event layers: the
	// DefaultLoadWindow before Now.
	Window Window `json:"window"`
	// TimeZoneOffset is the zone of the screen's calendar days, as a UTC offset
	// in seconds (China time: 28800).
	TimeZoneOffset int `json:"time_zone_offset"`
	// Bounds is the extent of the first area, where the page opens; null when
	// there is no admin area.
	Bounds *[4]float64 `json:"bounds"`
	// Areas are the areas, the one with the most households first.
	Areas      []OverviewArea `json:"areas"`
	Units      []OverviewUnit `json:"units"`
	Categories []Category     `json:"categories"`
	// Tags are the household tags in use (for tagged-people figures).
	Tags []string `json:"tags"`
}

// OverviewArea is an area, what one screen shows. For a caller whose
// jurisdiction is everything it is a root admin unit (one without a parent)
// with its subtree; root units with 12-digit Chinese admin codes of the same
// city (the same first 4 digits: GB/T 2260 province and city; the first 2 for
// a province) form one area together, since a city is often loaded district by
// district, as the generator loads it. For any other caller the areas are the
// units of the jurisdiction (an admin unit or a grid each, its only root): a
// grid worker's screen is the grid, a street officer's the street. A row
// belongs to the area whose Code its grid code (or, outside every grid, its
// admin code) starts with. Areas never mix: each has its own extent and
// figures, so no map has to span two cities.
type OverviewArea struct {
	// Code is what every code inside the area starts with: the root's code
	// ("SF0000"), or the city's or province's digits ("4403"), or the prefix
	// of a unit of the jurisdiction ("440304002" for a street, a grid's code).
	Code string `json:"code"`
	// Name is the root's name, or the roots' names joined with "、".
	Name  string         `json:"name"`
	Roots []OverviewUnit `json:"roots"`
	// Bounds is [minlon, minlat, maxlon, maxlat] of the roots (WGS-84).
	Bounds [4]float64 `json:"bounds"`
	// Households in the area as the disclosure-control rule releases them
	// (package sdc: a multiple of the threshold); null when fewer than the
	// threshold (but not none).
	Households *int64 `json:"households"`
	// Events reported in Window, and of those the open and the overdue ones,
	// counted as GET /api/v1/events/summary?unit=<code> counts them, for
	// callers who may read event rows (and so ask that route); for any other
	// caller (an analyst, the public) released by the disclosure-control rule
	// as every event count is, null when suppressed.
	Events  *int64 `json:"events"`
	Open    *int64 `json:"open"`
	Overdue *int64 `json:"overdue"`
}

// OverviewUnit is an admin unit.
type OverviewUnit struct {
	Code   string  `json:"code"`
	Level  string  `json:"level"`
	Name   string  `json:"name"`
	Parent *string `json:"parent_code"`
}

// Category is a class of the event taxonomy.
type Category struct {
	Code       string  `json:"code"`
	Level      int     `json:"level"`
	Parent     *string `json:"parent_code"`
	Name       string  `json:"name"`
	NameEn     string  `json:"name_en"`
	LimitHours int     `json:"time_limit_hours"`
}

const (
	overviewRootsSQL = `SELECT code, level, name, parent_code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
		FROM admin_area WHERE parent_code IS NULL ORDER BY code`
	overviewUnitsSQL      = `SELECT code, level, name, parent_code FROM admin_area ORDER BY code`
	overviewCategoriesSQL = `SELECT code, level, parent_code, name, name_en, time_limit_hours
		FROM event_category ORDER BY code`
	overviewTagsSQL = `SELECT DISTINCT tag FROM household_tag_rollup ORDER BY tag`
	// The unit of each prefix of a jurisdiction ($1) and its extent: the admin
	// area whose prefix it is, else the grid of that code (its current version,
	// else its latest). Row-level security shows a caller their own units.
	jurisdictionUnitsSQL = `SELECT p.prefix, u.code, u.level, u.name, u.parent, ST_XMin(u.geom), ST_YMin(u.geom), ST_XMax(u.geom), ST_YMax(u.geom)
		FROM unnest($1::text[]) p (prefix)
		CROSS JOIN LATERAL (
			(SELECT code, level, name, parent_code AS parent, geom, 0 AS k FROM admin_area WHERE unit_prefix(code) = p.prefix)
			UNION ALL
			(SELECT code, level, coalesce(nullif(name, ''), code), coalesce(parent_code, admin_code), geom, 1 FROM grid
				WHERE code = p.prefix ORDER BY valid_to IS NULL DESC, version DESC LIMIT 1)
			ORDER BY k LIMIT 1
		) u`
	// Households per area prefix ($1), from the roll-up, with the sum of their
	// record keys (the disclosure-control rule's input).
	areaHouseholdsSQL = `SELECT p.prefix, sum(h.households)::bigint, sum(h.hkey)::bigint
		FROM unnest($1::text[]) p (prefix)
		JOIN household_rollup h ON inside(coalesce(nullif(h.grid_code, ''), h.admin_code), p.prefix)
		GROUP BY 1`
	// Events per area prefix ($1) in [$2, $3), open and overdue at $4: the event
	// summary's counts (eventSummarySQL), for every area in one scan of the
	// window, each with the sum of its events' record keys.
	areaEventsSQL = `SELECT p.prefix, count(*),
		count(*) FILTER (WHERE e.status IN ('reported', 'dispatched', 'handling')),
		count(*) FILTER (WHERE e.status IN ('reported', 'dispatched', 'handling') AND e.deadline < $4),
		coalesce(sum(e.k), 0)::bigint,
		coalesce(sum(e.k) FILTER (WHERE e.status IN ('reported', 'dispatched', 'handling')), 0)::bigint,
		coalesce(sum(e.k) FILTER (WHERE e.status IN ('reported', 'dispatched', 'handling') AND e.deadline < $4), 0)::bigint
		FROM (SELECT grid_code, admin_code, status, deadline, sdc_record_key(id, (SELECT seed FROM sdc_secret)) AS k
		      FROM event WHERE reported_at >= $2 AND reported_at < $3) e
		JOIN unnest($1::text[]) p (prefix) ON inside(coalesce(e.grid_code, e.admin_code), p.prefix)
		GROUP BY 1`
)

// AreaKey is the code of the area a root admin unit with the code belongs to
// (see OverviewArea).
func AreaKey(code string) string {
	if len(code) != 12 || strings.Trim(code, "0123456789") != "" {
		return code
	}
	if code[2:] == "0000000000" {
		return code[:2]
	}
	return code[:4]
}

// isArea reports whether code is the code of an area the caller is shown: one
// of whose root units the caller's jurisdiction shows, or (for a jurisdiction
// that is not everything) the prefix of one of its units.
func (s *Store) isArea(ctx context.Context, code string) (bool, error) {
	if !s.sc.All() && slices.Contains(s.sc.Units, code) {
		return true, nil
	}
	rows, err := s.db.Query(ctx, `SELECT code FROM admin_area WHERE parent_code IS NULL`)
	if err != nil {
		return false, err
	}
	roots, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(roots, func(r string) bool { return AreaKey(r) == code }), nil
}

// Overview reads what the page needs to start, counting figures in the default
// window before the clock's now. exactEvents gives the areas' event counts as
// they are (for callers who may read event rows), else as released by the
// disclosure-control rule.
func (s *Store) Overview(ctx context.Context, exactEvents bool) (*Overview, error) {
	now := s.cfg.Now().UTC()
	_, offset := now.In(clock.China).Zone()
	out := &Overview{Now: now, Window: Window{}.OrLast(now, DefaultLoadWindow), TimeZoneOffset: offset}
	var err error
	if out.Areas, err = s.Areas(ctx, out.Window, exactEvents); err != nil {
		return nil, err
	}
	if len(out.Areas) > 0 {
		b := out.Areas[0].Bounds
		out.Bounds = &b
	}
	rows, err := s.db.Query(ctx, overviewUnitsSQL)
	if err != nil {
		return nil, fmt.Errorf("overview units: %w", err)
	}
	if out.Units, err = pgx.CollectRows(rows, scanUnit); err != nil {
		return nil, fmt.Errorf("overview units: %w", err)
	}
	rows, err = s.db.Query(ctx, overviewCategoriesSQL)
	if err != nil {
		return nil, fmt.Errorf("overview categories: %w", err)
	}
	out.Categories, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Category, error) {
		var c Category
		err := row.Scan(&c.Code, &c.Level, &c.Parent, &c.Name, &c.NameEn, &c.LimitHours)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("overview categories: %w", err)
	}
	rows, err = s.db.Query(ctx, overviewTagsSQL)
	if err != nil {
		return nil, fmt.Errorf("overview tags: %w", err)
	}
	if out.Tags, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, fmt.Errorf("overview tags: %w", err)
	}
	return out, nil
}

func scanUnit(row pgx.CollectableRow) (OverviewUnit, error) {
	var u OverviewUnit
	err := row.Scan(&u.Code, &u.Level, &u.Name, &u.Parent)
	return u, err
}

// Areas lists the areas of the caller's jurisdiction (see OverviewArea) with
// their figures in the window w (open and overdue at the clock's now), the one
// with the most households first (then the most events, then by code); see
// Overview for exactEvents.
func (s *Store) Areas(ctx context.Context, w Window, exactEvents bool) ([]OverviewArea, error) {
	var areas []OverviewArea
	var err error
	if len(s.sc.Units) > 0 && !s.sc.All() {
		areas, err = s.jurisdictionAreas(ctx)
	} else {
		areas, err = s.rootAreas(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	if len(areas) == 0 {
		return []OverviewArea{}, nil
	}
	index := map[string]int{}
	prefixes := make([]string, len(areas))
	for i := range areas {
		a := &areas[i]
		index[a.Code] = i
		prefixes[i] = a.Code
		names := make([]string, len(a.Roots))
		for j, r := range a.Roots {
			names[j] = r.Name
		}
		a.Name = strings.Join(names, "、")
	}
	// households are the released counts (suppressed: 0), which order the areas.
	households := make([]int64, len(areas))
	for i := range areas {
		areas[i].Households = new(int64) // no households at all
	}
	rows, err := s.db.Query(ctx, areaHouseholdsSQL, prefixes)
	if err != nil {
		return nil, fmt.Errorf("area households: %w", err)
	}
	var prefix string
	var n, hkey, open, overdue int64
	if _, err := pgx.ForEachRow(rows, []any{&prefix, &n, &hkey}, func() error {
		// Released as every household count is.
		if v, ok := s.rule.Count(n, hkey, sdc.Households); ok {
			areas[index[prefix]].Households = &v
			households[index[prefix]] = v
		} else if n != 0 {
			areas[index[prefix]].Households = nil
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("area households: %w", err)
	}
	rows, err = s.db.Query(ctx, areaEventsSQL, scope.FreshPlan, prefixes, w.From, w.To, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("area events: %w", err)
	}
	var nKey, openKey, overdueKey int64
	events := make([]int64, len(areas)) // as shown (suppressed: 0), for the order
	for i := range areas {
		a := &areas[i]
		a.Events, a.Open, a.Overdue = new(int64), new(int64), new(int64)
	}
	release := func(n, key int64) *int64 {
		if exactEvents || n == 0 {
			return &n
		}
		if v, ok := s.rule.Count(n, key, sdc.Events); ok {
			return &v
		}
		return nil
	}
	if _, err := pgx.ForEachRow(rows, []any{&prefix, &n, &open, &overdue, &nKey, &openKey, &overdueKey}, func() error {
		i := index[prefix]
		a := &areas[i]
		a.Events, a.Open, a.Overdue = release(n, nKey), release(open, openKey), release(overdue, overdueKey)
		if a.Events != nil {
			events[i] = *a.Events
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("area events: %w", err)
	}
	order := make([]int, len(areas))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		switch {
		case households[x] != households[y]:
			return cmpDesc(households[x], households[y])
		case events[x] != events[y]:
			return cmpDesc(events[x], events[y])
		}
		return strings.Compare(areas[x].Code, areas[y].Code)
	})
	out := make([]OverviewArea, len(areas))
	for i, j := range order {
		out[i] = areas[j]
	}
	return out, nil
}

// rootAreas groups the root admin units into areas, with their extents.
func (s *Store) rootAreas(ctx context.Context) ([]OverviewArea, error) {
	rows, err := s.db.Query(ctx, overviewRootsSQL)
	if err != nil {
		return nil, err
	}
	var areas []OverviewArea
	index := map[string]int{}
	var root OverviewUnit
	var b [4]float64
	_, err = pgx.ForEachRow(rows, []any{&root.Code, &root.Level, &root.Name, &root.Parent, &b[0], &b[1], &b[2], &b[3]}, func() error {
		k := AreaKey(root.Code)
		i, ok := index[k]
		if !ok {
			i = len(areas)
			index[k] = i
			areas = append(areas, OverviewArea{Code: k, Bounds: b})
		}
		a := &areas[i]
		a.Roots = append(a.Roots, root)
		a.Bounds = [4]float64{min(a.Bounds[0], b[0]), min(a.Bounds[1], b[1]), max(a.Bounds[2], b[2]), max(a.Bounds[3], b[3])}
		return nil
	})
	return areas, err
}

// jurisdictionAreas makes an area of each unit of the caller's jurisdiction
// (one inside another counts once, as the larger), with the unit's extent.
// A unit the database does not hold (any more) is no area.
func (s *Store) jurisdictionAreas(ctx context.Context) ([]OverviewArea, error) {
	var prefixes []string
	for _, u := range s.sc.Units {
		if !slices.ContainsFunc(s.sc.Units, func(o string) bool { return o != u && scope.Inside(u, o) }) && !slices.Contains(prefixes, u) {
			prefixes = append(prefixes, u)
		}
	}
	rows, err := s.db.Query(ctx, jurisdictionUnitsSQL, prefixes)
	if err != nil {
		return nil, err
	}
	var areas []OverviewArea
	var prefix string
	var u OverviewUnit
	var b [4]float64
	_, err = pgx.ForEachRow(rows, []any{&prefix, &u.Code, &u.Level, &u.Name, &u.Parent, &b[0], &b[1], &b[2], &b[3]}, func() error {
		areas = append(areas, OverviewArea{Code: prefix, Roots: []OverviewUnit{u}, Bounds: b})
		return nil
	})
	return areas, err
}

func cmpDesc(a, b int64) int {
	if a > b {
		return -1
	}
	if a < b {
		return 1
	}
	return 0
}
