package hotspot

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Category and unit filters are the schema's one "inside this subtree" rule,
// inside(code, prefix) (0701): an inlined range on the "C"-collated code that
// the B-tree answers, the same rule row-level security applies. An empty prefix
// is everything.

// keySum is the sum of the counted rows' record keys (schema 0770, package sdc):
// what the disclosure-control rule rounds a count by.
const keySum = `sum(sdc_record_key(id, (SELECT seed FROM sdc_secret)))::bigint`

// countEvents counts events per cell at $1 in [$2, $3) with categories inside $4.
const countEvents = `SELECT h3_parent(h3, $1) AS cell, count(*), ` + keySum + `
FROM event
WHERE reported_at >= $2 AND reported_at < $3
  AND inside(category_code, $4)
GROUP BY 1`

// countEventsInUnit is countEvents restricted to grid codes inside $5.
const countEventsInUnit = `SELECT h3_parent(h3, $1) AS cell, count(*), ` + keySum + `
FROM event
WHERE reported_at >= $2 AND reported_at < $3
  AND inside(category_code, $4)
  AND inside(grid_code, $5)
GROUP BY 1`

// eventCounts runs with QueryExecModeExec so that each window is planned with
// its own bounds (a cached generic plan cannot see how narrow the window is).
func (s *Service) eventCounts(ctx context.Context, p Params, unitPrefix string) ([]cellCount, error) {
	var rows pgx.Rows
	var err error
	if unitPrefix == "" {
		rows, err = s.db.Query(ctx, countEvents, pgx.QueryExecModeExec, p.Res, p.From, p.To, p.Category)
	} else {
		rows, err = s.db.Query(ctx, countEventsInUnit, pgx.QueryExecModeExec, p.Res, p.From, p.To, p.Category, unitPrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: count events: %w", err)
	}
	return scanCounts(rows, "events")
}

const countHouseholds = `SELECT h3_parent(h3, $1) AS cell, count(*), ` + keySum + `
FROM household WHERE h3 IS NOT NULL GROUP BY 1`

const countHouseholdsInUnit = `SELECT h3_parent(h3, $1) AS cell, count(*), ` + keySum + `
FROM household WHERE h3 IS NOT NULL AND inside(grid_code, $2) GROUP BY 1`

func (s *Service) householdCounts(ctx context.Context, res int, unitPrefix string) ([]cellCount, error) {
	var rows pgx.Rows
	var err error
	if unitPrefix == "" {
		rows, err = s.db.Query(ctx, countHouseholds, res)
	} else {
		rows, err = s.db.Query(ctx, countHouseholdsInUnit, res, unitPrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: count households: %w", err)
	}
	return scanCounts(rows, "households")
}

func scanCounts(rows pgx.Rows, what string) ([]cellCount, error) {
	var out []cellCount
	var c cellCount
	_, err := pgx.ForEachRow(rows, []any{&c.cell, &c.n, &c.key}, func() error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: count %s: %w", what, err)
	}
	return out, nil
}

// countEventSlices counts events per cell and time slice: slice i (1-based,
// width_bucket) is [$2[i], $2[i+1]).
const countEventSlices = `SELECT h3_parent(h3, $1) AS cell, width_bucket(reported_at, $2::timestamptz[]) AS slice, count(*), ` + keySum + `
FROM event
WHERE reported_at >= $3 AND reported_at < $4
  AND inside(category_code, $5)
  AND inside(grid_code, $6)
GROUP BY 1, 2`

const countEventSlicesAll = `SELECT h3_parent(h3, $1) AS cell, width_bucket(reported_at, $2::timestamptz[]) AS slice, count(*), ` + keySum + `
FROM event
WHERE reported_at >= $3 AND reported_at < $4
  AND inside(category_code, $5)
GROUP BY 1, 2`

type sliceCount struct {
	cell  int64
	slice int // 0-based
	n     int64
	key   int64 // sum of the events' record keys
}

func (s *Service) eventSliceCounts(ctx context.Context, res int, bounds []time.Time, category, unitPrefix string) ([]sliceCount, error) {
	from, to := bounds[0], bounds[len(bounds)-1]
	var rows pgx.Rows
	var err error
	if unitPrefix == "" {
		rows, err = s.db.Query(ctx, countEventSlicesAll, res, bounds, from, to, category)
	} else {
		rows, err = s.db.Query(ctx, countEventSlices, res, bounds, from, to, category, unitPrefix)
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: count event slices: %w", err)
	}
	var out []sliceCount
	var c sliceCount
	var bucket int32
	_, err = pgx.ForEachRow(rows, []any{&c.cell, &bucket, &c.n, &c.key}, func() error {
		if bucket >= 1 && int(bucket) < len(bounds) {
			c.slice = int(bucket) - 1
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: count event slices: %w", err)
	}
	return out, nil
}
