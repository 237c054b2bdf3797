package api

import (
	"context"
	"errors"
	"net/http"

	qry "github.com/onegrid/onegrid/query"
)

// handleEventSummary serves GET /api/v1/events/summary?unit=&from=&to=&category=&severity=.
// unit is an admin or grid code (empty: everything); the window defaults to the
// 30 days before the server's clock.
func (s *Server) handleEventSummary(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var sq qry.EventSummaryQuery
	var err error
	if sq.Window, err = qry.ParseWindow("from", q.Get("from"), "to", q.Get("to")); err != nil {
		s.badParam(w, r, err)
		return
	}
	if u := q.Get("unit"); u != "" {
		if sq.Unit, err = qry.ParseCode("unit", u); err != nil {
			s.badParam(w, r, err)
			return
		}
	}
	if c := q.Get("category"); c != "" {
		if sq.Category, err = qry.ParseCode("category", c); err != nil {
			s.badParam(w, r, err)
			return
		}
	}
	if sq.Severities, err = qry.ParseEnumList("severity", q.Get("severity"), qry.Severities); err != nil {
		s.badParam(w, r, err)
		return
	}
	var out *qry.EventSummary
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		out, err = q.EventSummary(ctx, sq)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
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
