package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onegrid/onegrid/scope"

	"github.com/jackc/pgx/v5"
)

// GridLoad is a grid's workload: the households, people and tagged households in
// it and its events in a window, checked against the size band of its level.
type GridLoad struct {
	Code         string           `json:"code"`
	Name         string           `json:"name"`
	Level        string           `json:"level"`
	Version      int              `json:"version"`
	Households   int64            `json:"households"`
	People       int64            `json:"people"`
	TaggedPeople map[string]int64 `json:"tagged_people"` // households carrying each tag
	Events       EventLoad        `json:"events"`
	Band         *Band            `json:"band"`
	InBand       *bool            `json:"in_band"`
	Problems     []string         `json:"problems,omitempty"`
}

// EventLoad counts a grid's events reported in a window.
type EventLoad struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Total   int64     `json:"total"`
	Open    int64     `json:"open"`    // reported, dispatched or handling
	Overdue int64     `json:"overdue"` // open and past the deadline now
}

// DefaultLoadWindow is the event window of GridLoad when none is given.
const DefaultLoadWindow = 30 * 24 * time.Hour

const (
	gridCurrentSQL = `SELECT code, name, level, version FROM grid WHERE code = $1 AND valid_to IS NULL`
	// The grid and every current grid below it: rows carry their finest grid's code.
	gridSubtreeSQL   = `WITH RECURSIVE t(code, depth) AS (SELECT $1::text COLLATE "C", 0 UNION ALL SELECT g.code, t.depth + 1 FROM grid g JOIN t ON g.parent_code = t.code WHERE g.valid_to IS NULL AND t.depth < 8) SELECT array_agg(DISTINCT code) FROM t`
	gridHouseholdSQL = `SELECT coalesce(sum(households), 0)::bigint, coalesce(sum(people), 0)::bigint FROM household_rollup WHERE grid_code = ANY($1)`
	gridTagSQL       = `SELECT tag, sum(households)::bigint FROM household_tag_rollup WHERE grid_code = ANY($1) GROUP BY tag HAVING sum(households) > 0 ORDER BY tag`
	gridEventSQL     = `SELECT count(*), count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling')), count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling') AND deadline < $4) FROM event WHERE grid_code = ANY($1) AND reported_at >= $2 AND reported_at < $3`
)

// GridLoad returns the load of the current version of grid code; events are
// counted over w (default: the 30 days before the clock's now).
func (s *Store) GridLoad(ctx context.Context, code string, w Window) (*GridLoad, error) {
	l := &GridLoad{TaggedPeople: map[string]int64{}}
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
	if err := s.db.QueryRow(ctx, gridHouseholdSQL, codes).Scan(&l.Households, &l.People); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	rows, err := s.db.Query(ctx, gridTagSQL, codes)
	if err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	for rows.Next() {
		var tag string
		var n int64
		if err := rows.Scan(&tag, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("grid %s load: %w", code, err)
		}
		l.TaggedPeople[tag] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	w = w.OrLast(now, DefaultLoadWindow)
	l.Events.From, l.Events.To = w.From, w.To
	if err := s.db.QueryRow(ctx, gridEventSQL, scope.FreshPlan, codes, l.Events.From, l.Events.To, now).Scan(&l.Events.Total, &l.Events.Open, &l.Events.Overdue); err != nil {
		return nil, fmt.Errorf("grid %s load: %w", code, err)
	}
	if b, ok := s.cfg.Band[l.Level]; ok {
		l.Band = &b
		l.Problems = b.Check(l.Households, l.People)
		in := len(l.Problems) == 0
		l.InBand = &in
	}
	return l, nil
}

// Check lists how households and people fall outside the band (nil when inside).
func (b Band) Check(households, people int64) []string {
	var p []string
	if households < int64(b.MinHouseholds) {
		p = append(p, fmt.Sprintf("%d households, fewer than %d", households, b.MinHouseholds))
	}
	if households > int64(b.MaxHouseholds) {
		p = append(p, fmt.Sprintf("%d households, more than %d", households, b.MaxHouseholds))
	}
	if people < int64(b.MinPeople) {
		p = append(p, fmt.Sprintf("%d people, fewer than %d", people, b.MinPeople))
	}
	if people > int64(b.MaxPeople) {
		p = append(p, fmt.Sprintf("%d people, more than %d", people, b.MaxPeople))
	}
	return p
}

// OutOfBandGrid is a grid whose size falls outside its level's band.
type OutOfBandGrid struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Households int64    `json:"households"`
	People     int64    `json:"people"`
	Problems   []string `json:"problems"`
}

// OutOfBand is the answer of OutOfBandGrids.
type OutOfBand struct {
	Level   string          `json:"level"`
	Band    Band            `json:"band"`
	Checked int             `json:"checked"`
	Grids   []OutOfBandGrid `json:"grids"`
}

// outOfBandSQL is the current grids of a level ($1) with their households and
// people: a micro-grid holds the rows whose grid_code is its code; a grid also
// those of its current micro-grids.
const outOfBandSQL = `
WITH g AS (SELECT code, name FROM grid WHERE level = $1 AND valid_to IS NULL),
m AS (
    SELECT g.code AS grid, g.code AS member FROM g
    UNION
    SELECT c.parent_code, c.code FROM grid c JOIN g ON c.parent_code = g.code WHERE c.valid_to IS NULL
),
h AS (SELECT grid_code, sum(households) AS households, sum(people) AS people FROM household_rollup GROUP BY grid_code)
SELECT g.code, g.name, coalesce(sum(h.households), 0)::bigint, coalesce(sum(h.people), 0)::bigint
FROM g JOIN m ON m.grid = g.code LEFT JOIN h ON h.grid_code = m.member
GROUP BY g.code, g.name
ORDER BY g.code`

// OutOfBandGrids lists the current grids of level whose households or people
// fall outside the configured band.
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
		if err := rows.Scan(&g.Code, &g.Name, &g.Households, &g.People); err != nil {
			return nil, fmt.Errorf("out of band %s: %w", level, err)
		}
		out.Checked++
		if g.Problems = b.Check(g.Households, g.People); g.Problems != nil {
			out.Grids = append(out.Grids, g)
		}
	}
	return out, rows.Err()
}

// taggedSQL counts the households carrying tag $2 in the admin unit $1 (from the
// household tag roll-up: one index range per tag).
const taggedSQL = `SELECT coalesce(sum(households), 0)::bigint, coalesce(sum(people), 0)::bigint FROM household_tag_rollup WHERE tag = $2 AND inside(admin_code, unit_prefix($1))`

// TaggedHouseholds returns the households carrying tag in admin unit code (a
// 12-digit code, zero-padded for a district or street) and their people.
func (s *Store) TaggedHouseholds(ctx context.Context, code, tag string) (households, people int64, err error) {
	if err := s.db.QueryRow(ctx, taggedSQL, code, tag).Scan(&households, &people); err != nil {
		return 0, 0, fmt.Errorf("tagged households %s %s: %w", code, tag, err)
	}
	return households, people, nil
}
