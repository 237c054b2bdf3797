package api

import (
	"errors"
	"net/http"
	"time"

	qry "github.com/onegrid/onegrid/query"
)

// eventSummary is the live state of the event loop in a unit: what the
// command-centre panel shows beside the aggregates (which have no open or overdue
// counts). Counts only: no suppression is needed, since an event count names no one.
type eventSummary struct {
	Unit    string    `json:"unit"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Events  int64     `json:"events"`  // reported in [from, to)
	Open    int64     `json:"open"`    // of those, reported, dispatched or handling
	Overdue int64     `json:"overdue"` // of those, open and past their deadline now
	// ClosedOnTimeShare is the share of events closed by their deadline among those
	// closed with one; null when fewer than the suppression threshold were, as in
	// the aggregates' closed_on_time_share.
	ClosedOnTimeShare *float64 `json:"closed_on_time_share"`
}

// eventSummarySQL counts events in the window whose grid (or, outside every grid,
// admin area) lies in the unit: codes start with the unit's prefix.
const eventSummarySQL = `
SELECT count(*),
       count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling')),
       count(*) FILTER (WHERE status IN ('reported', 'dispatched', 'handling') AND deadline < now()),
       count(*) FILTER (WHERE closed_at IS NOT NULL AND deadline IS NOT NULL),
       count(*) FILTER (WHERE closed_at IS NOT NULL AND deadline IS NOT NULL AND closed_at <= deadline)
FROM event
WHERE reported_at >= $1 AND reported_at < $2
  AND ($3 = '' OR coalesce(grid_code, admin_code) LIKE $3 || '%')
  AND ($4 = '' OR starts_with(category_code, $4))
  AND ($5::text[] IS NULL OR severity = ANY ($5))`

// handleEventSummary serves GET /api/v1/events/summary?unit=&from=&to=&category=&severity=.
// unit is an admin or grid code (empty: everything); the window defaults to the
// last 30 days.
func (s *Server) handleEventSummary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	win, err := qry.ParseWindow("from", q.Get("from"), "to", q.Get("to"))
	if err != nil {
		s.badParam(w, r, err)
		return
	}
	now := time.Now()
	if win.To.IsZero() {
		win.To = now
	}
	if win.From.IsZero() {
		win.From = win.To.Add(-30 * 24 * time.Hour)
	}
	out := eventSummary{From: win.From, To: win.To}
	var prefix, category string
	if u := q.Get("unit"); u != "" {
		if out.Unit, err = qry.ParseCode("unit", u); err != nil {
			s.badParam(w, r, err)
			return
		}
		prefix = qry.UnitPrefix(out.Unit)
	}
	if c := q.Get("category"); c != "" {
		if category, err = qry.ParseCode("category", c); err != nil {
			s.badParam(w, r, err)
			return
		}
	}
	sev, err := qry.ParseEnumList("severity", q.Get("severity"), qry.Severities)
	if err != nil {
		s.badParam(w, r, err)
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	var due, onTime int64
	if err := s.db.QueryRow(ctx, eventSummarySQL, win.From, win.To, prefix, category, sev).
		Scan(&out.Events, &out.Open, &out.Overdue, &due, &onTime); err != nil {
		s.fail(w, r, err)
		return
	}
	if due > 0 && due >= int64(s.q.Config().MinCount) {
		share := float64(onTime) / float64(due)
		out.ClosedOnTimeShare = &share
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, out)
}

// badParam answers bad input found by the query package's parsers with a 400.
func (s *Server) badParam(w http.ResponseWriter, r *http.Request, err error) {
	var pe *qry.ParamError
	if errors.As(err, &pe) {
		writeError(w, r, BadRequest(pe.Param, pe.Problem))
		return
	}
	s.fail(w, r, err)
}
