package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onegrid/onegrid/scope"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/sdc"
)

// GridLoad is a grid's workload: the households, people and tagged households in
// it and its events in a window, checked against the size band of its level.
// Every count is released by the disclosure-control rule (package sdc): a
// multiple of the rounding base, or null when below the threshold.
type GridLoad struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      string `json:"level"`
	Version    int    `json:"version"`
	Households *int64 `json:"households"`
	People     *int64 `json:"people"`
	// TaggedPeople has every household tag in use (anywhere, so that a tag's
	// presence says nothing about the grid): the households carrying it, or null.
	TaggedPeople map[string]*int64 `json:"tagged_people"`
	Events       EventLoad         `json:"events"`
	Band         *Band             `json:"band"`
	InBand       *bool             `json:"in_band"`
	Problems     []string          `json:"problems,omitempty"`
}

// EventLoad counts a grid's events reported in a window (released counts: null
// when below the threshold).
type EventLoad struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Total   *int64    `json:"total"`
	Open    *int64    `json:"open"`    // reported, dispatched or handling
	Overdue *int64    `json:"overdue"` // open and past the deadline now
}

// DefaultLoadWindow is the event window of GridLoad when none is given.
const DefaultLoadWindow = 30 * 24 * time.Hour

const (
	gridCurrentSQL = `SELECT code, name, level, version FROM grid WHERE code = $1 AND valid_to IS NULL`
	// The grid and every current grid below it: rows carry their finest grid's code.
	gridSubtreeSQL   = `WITH RECURSIVE t(code, depth) AS (SELECT $1::text COLLATE "C", 0 UNION ALL SELECT g.code, t.depth + 1 FROM grid g JOIN t ON g.parent_code = t.code WHERE g.valid_to IS NULL AND t.depth < 8) SELECT array_agg(DISTINCT code) FROM t`
	gridHouseholdSQL = `SELECT coalesce(sum(households), 0)::bigint, coalesce(sum(people), 0)::bigint, coalesce(sum(hkey), 0)::bigint FROM household_rollup WHERE grid_code = ANY($1)`
	// Every tag in use, with the grid's households carrying it (0 when none do).
	gridTagSQL = `SELECT a.tag, coalesce(g.n, 0)::bigint, coalesce(g.k, 0)::bigint
FROM (SELECT tag FROM household_tag_rollup GROUP BY tag HAVING sum(households) > 0) a
LEFT JOIN (SELECT tag, sum(households) AS n, sum(hkey) AS k FROM household_tag_rollup WHERE grid_code = ANY($1) GROUP BY tag) g ON g.tag = a.tag
ORDER BY a.tag`
	gridEventSQL = `SELECT count(*), coalesce(sum(k), 0)::bigint,
       count(*) FILTER (WHERE open), coalesce(sum(k) FILTER (WHERE open), 0)::bigint,
       count(*) FILTER (WHERE open AND deadline < $4), coalesce(sum(k) FILTER (WHERE open AND deadline < $4), 0)::bigint
FROM (SELECT status IN ('reported', 'dispatched', 'handling') AS open, deadline, sdc_record_key(id, (SELECT seed FROM sdc_secret)) AS k
      FROM event WHERE grid_code = ANY($1) AND reported_at >= $2 AND reported_at < $3) e`
)

// released is a count as the rule releases it: nil when suppressed.
func released(r sdc.Rule, n, keySum int64, f sdc.Figure) *int64 {
	if v, ok := r.Count(n, keySum, f); ok {
		return &v
	}
	return nil
}

// GridLoad returns the load of the current version of grid code; events are
// counted over w (default: the 30 days before the clock's now).
func (s *Store) GridLoad(ctx context.Context, code string, w Window) (*GridLoad, error) {
	l := &GridLoad{TaggedPeople: map[string]*int64{}}
	err := s.db.QueryRow(ctx, gridCurrentSQL, code).Scan(&l.Code, &l.Name, &l.Level, &l.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	var codes []string
	if err := s.db.QueryRow(ctx, gridSubtreeSQL, code).Scan(&codes); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	var households, people, hkey int64
	if err := s.db.QueryRow(ctx, gridHouseholdSQL, codes).Scan(&households, &people, &hkey); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	l.Households = released(s.rule, households, hkey, sdc.Households)
	if p, ok := s.rule.Sum(people, households, hkey, sdc.People); ok {
		l.People = &p
	}
	rows, err := s.db.Query(ctx, gridTagSQL, codes)
	if err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	for rows.Next() {
		var tag string
		var n, k int64
		if err := rows.Scan(&tag, &n, &k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("grid %s load: %w", code, err)
		}
		l.TaggedPeople[tag] = released(s.rule, n, k, sdc.Tagged)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	w = w.OrLast(now, DefaultLoadWindow)
	l.Events.From, l.Events.To = w.From, w.To
	var total, totalKey, open, openKey, overdue, overdueKey int64
	if err := s.db.QueryRow(ctx, gridEventSQL, scope.FreshPlan, codes, l.Events.From, l.Events.To, now).Scan(&total, &totalKey, &open, &openKey, &overdue, &overdueKey); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	l.Events.Total = released(s.rule, total, totalKey, sdc.Events)
	l.Events.Open = released(s.rule, open, openKey, sdc.Events)
	l.Events.Overdue = released(s.rule, overdue, overdueKey, sdc.Events)
	if b, ok := s.cfg.Band[l.Level]; ok {
		l.Band = &b
		l.Problems = b.Check(l.Households, l.People, s.rule.K())
		in := len(l.Problems) == 0
		l.InBand = &in
	}
	return l, nil
}

// Check lists how released households and people (nil: suppressed, below k)
// fall outside the band (nil when inside). Released figures are off by up to
// k-1, so a grid within k-1 of a bound may be judged on either side of it.
func (b Band) Check(households, people *int64, k int64) []string {
	var p []string
	below := func(v *int64, bound int, what string) {
		switch {
		case v == nil && int64(bound) > 0:
			p = append(p, fmt.Sprintf("fewer than %d %s (suppressed), fewer than %d", k, what, bound))
		case v != nil && *v < int64(bound):
			p = append(p, fmt.Sprintf("%d %s, fewer than %d", *v, what, bound))
		}
	}
	above := func(v *int64, bound int, what string) {
		if v != nil && *v > int64(bound) {
			p = append(p, fmt.Sprintf("%d %s, more than %d", *v, what, bound))
		}
	}
	below(households, b.MinHouseholds, "households")
	above(households, b.MaxHouseholds, "households")
	below(people, b.MinPeople, "people")
	above(people, b.MaxPeople, "people")
	return p
}

// OutOfBandGrid is a grid whose size falls outside its level's band (released
// counts, null when suppressed).
type OutOfBandGrid struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Households *int64   `json:"households"`
	People     *int64   `json:"people"`
	Problems   []string `json:"problems"`
}

// OutOfBand is the answer of OutOfBandGrids.
type OutOfBand struct {
	Level   string          `json:"level"`
	Band    Band            `json:"band"`
	Checked int             `json:"checked"`
	Grids   []OutOfBandGrid `json:"grids"`
}

// outOfBandSQL is the current grids of a level ($1) with their households,
// people and the households' key sum: a micro-grid holds the rows whose
// grid_code is its code; a grid also those of its current micro-grids.
const outOfBandSQL = `
WITH g AS (SELECT code, name FROM grid WHERE level = $1 AND valid_to IS NULL),
m AS (
    SELECT g.code AS grid, g.code AS member FROM g
    UNION
    SELECT c.parent_code, c.code FROM grid c JOIN g ON c.parent_code = g.code WHERE c.valid_to IS NULL
),
h AS (SELECT grid_code, sum(households) AS households, sum(people) AS people, sum(hkey) AS hkey FROM household_rollup GROUP BY grid_code)
SELECT g.code, g.name, coalesce(sum(h.households), 0)::bigint, coalesce(sum(h.people), 0)::bigint, coalesce(sum(h.hkey), 0)::bigint
FROM g JOIN m ON m.grid = g.code LEFT JOIN h ON h.grid_code = m.member
GROUP BY g.code, g.name
ORDER BY g.code`

// OutOfBandGrids lists the current grids of level whose released households or
// people fall outside the configured band.
func (s *Store) OutOfBandGrids(ctx context.Context, level string) (*OutOfBand, error) {
	b, ok := s.cfg.Band[level]
	if !ok {
		levels := make([]string, 0, len(s.cfg.Band))
		for l := range s.cfg.Band {
			levels = append(levels, l)
		}
		sort.Strings(levels)
		return nil, paramErr("level", "no size band is configured for %q; configured: %v", truncate(level, 20), levels)
	}
	out := &OutOfBand{Level: level, Band: b, Grids: []OutOfBandGrid{}}
	rows, err := s.db.Query(ctx, outOfBandSQL, level)
	if err != nil {
		return nil, fmt.Errorf("out of band %s: %w", level, err)
	}
	defer rows.Close()
	for rows.Next() {
		var g OutOfBandGrid
		var households, people, hkey int64
		if err := rows.Scan(&g.Code, &g.Name, &households, &people, &hkey); err != nil {
			return nil, fmt.Errorf("out of band %s: %w", level, err)
		}
		g.Households = released(s.rule, households, hkey, sdc.Households)
		if p, ok := s.rule.Sum(people, households, hkey, sdc.People); ok {
			g.People = &p
		}
		out.Checked++
		if g.Problems = b.Check(g.Households, g.People, s.rule.K()); g.Problems != nil {
			out.Grids = append(out.Grids, g)
		}
	}
	return out, rows.Err()
}

// taggedSQL counts the households carrying tag $2 in the admin unit $1, with
// their people and key sum (from the household tag roll-up: one index range per
// tag).
const taggedSQL = `SELECT coalesce(sum(households), 0)::bigint, coalesce(sum(people), 0)::bigint, coalesce(sum(hkey), 0)::bigint FROM household_tag_rollup WHERE tag = $2 AND inside(admin_code, unit_prefix($1))`

// TaggedHouseholds returns the households carrying tag in admin unit code (a
// 12-digit code, zero-padded for a district or street) and their people, as
// released (ok false: fewer than the threshold).
func (s *Store) TaggedHouseholds(ctx context.Context, code, tag string) (households, people int64, ok bool, err error) {
	var n, p, k int64
	if err := s.db.QueryRow(ctx, taggedSQL, code, tag).Scan(&n, &p, &k); err != nil {
		return 0, 0, false, fmt.Errorf("tagged households %s %s: %w", code, tag, err)
	}
	if households, ok = s.rule.Count(n, k, sdc.Tagged); !ok {
		return 0, 0, false, nil
	}
	people, _ = s.rule.Sum(p, n, k, sdc.People)
	return households, people, true, nil
}
