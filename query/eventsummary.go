package query

import (
	"context"
	"fmt"
	"time"
)

// EventSummary is the live state of the event loop in a unit: what the
// command-centre panel shows beside the aggregates (which have no open or
// overdue counts).
type EventSummary struct {
	Unit    string    `json:"unit"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Events  int64     `json:"events"`  // reported in [from, to)
	Open    int64     `json:"open"`    // of those, reported, dispatched or handling
	Overdue int64     `json:"overdue"` // of those, open and past their deadline at the clock's now
	// ClosedOnTimeShare is the share of events closed by their deadline among those
	// closed with one; null when fewer than the suppression threshold were, as in
	// the aggregates' closed_on_time_share.
	ClosedOnTimeShare *float64 `json:"closed_on_time_share"`
}

// EventSummaryQuery selects the events of a summary.
type EventSummaryQuery struct {
	Unit       string // admin or grid code; "" for everything
	Window     Window // zero ends default to the last DefaultLoadWindow before now
	Category   string // code prefix; "" for all
	Severities []string
}

// eventSummarySQL counts events in the window whose grid (or, outside every grid,
// admin area) lies in the unit $3 (” for everything). $6 is now.
const eventSummarySQL = `
SELECT count(*),
       count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling')),
       count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling') AND deadline < $6),
       count(*) FILTER (WHERE closed_at IS NOT NULL AND deadline IS NOT NULL),
       count(*) FILTER (WHERE closed_at IS NOT NULL AND deadline IS NOT NULL AND closed_at <= deadline)
FROM event
WHERE reported_at >= $1 AND reported_at < $2
  AND inside(coalesce(grid_code, admin_code, ''), unit_prefix($3))
  AND inside(category_code, $4)
  AND ($5::text[] IS NULL OR severity = ANY ($5))`

// visibleUnitSQL finds a unit among the admin areas and current grids the
// caller's jurisdiction shows (row-level security answers only those).
const visibleUnitSQL = `SELECT EXISTS (SELECT 1 FROM admin_area WHERE code = $1)
	OR EXISTS (SELECT 1 FROM grid WHERE code = $1 AND valid_to IS NULL)`

// EventSummary counts the event loop's events in a unit (or an area, see
// OverviewArea) and window. A unit the caller's jurisdiction does not show is
// not found (not a summary of zeros).
func (s *Store) EventSummary(ctx context.Context, q EventSummaryQuery) (*EventSummary, error) {
	if q.Unit != "" {
		var ok bool
		if err := s.db.QueryRow(ctx, visibleUnitSQL, q.Unit).Scan(&ok); err != nil {
			return nil, fmt.Errorf("event summary %q: %w", q.Unit, err)
		}
		if !ok {
			// An area (several root units of one city, "4403") is no unit of
			// its own: it is found when one of its roots is shown.
			var err error
			if ok, err = s.isArea(ctx, q.Unit); err != nil {
				return nil, fmt.Errorf("event summary %q: %w", q.Unit, err)
			}
		}
		if !ok {
			return nil, ErrNotFound
		}
	}
	now := s.cfg.Now()
	w := q.Window.OrLast(now, DefaultLoadWindow)
	out := &EventSummary{Unit: q.Unit, From: w.From, To: w.To}
	var due, onTime int64
	if err := s.db.QueryRow(ctx, eventSummarySQL, w.From, w.To, q.Unit, q.Category, q.Severities, now).
		Scan(&out.Events, &out.Open, &out.Overdue, &due, &onTime); err != nil {
		return nil, fmt.Errorf("event summary %q: %w", q.Unit, err)
	}
	if due > 0 && due >= int64(s.cfg.MinCount) {
		share := float64(onTime) / float64(due)
		out.ClosedOnTimeShare = &share
	}
	return out, nil
}
