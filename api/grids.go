package api

import (
	"context"
	"errors"
	"net/http"

	qry "github.com/onegrid/onegrid/query"
)

// handleGridLoad answers GET /api/v1/grids/{code}/load[?from=&to=].
func (s *Server) handleGridLoad(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "from", "to"); err != nil {
		s.fail(w, r, err)
		return
	}
	code, err := qry.ParseCode("code", r.PathValue("code"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	win, err := qry.ParseWindow("from", q.Get("from"), "to", q.Get("to"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var l *qry.GridLoad
	err = s.aggregate(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		l, err = q.GridLoad(ctx, code, win)
		return err
	})
	if err != nil {
		if errors.Is(err, qry.ErrNotFound) {
			err = NotFound("grid " + code)
		}
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	writeJSON(w, http.StatusOK, l)
}

// handleOutOfBand answers GET /api/v1/grids/out-of-band?level=micro_grid.
func (s *Server) handleOutOfBand(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "level"); err != nil {
		s.fail(w, r, err)
		return
	}
	level := q.Get("level")
	if level == "" {
		level = "micro_grid"
	}
	if !contains(qry.GridLevels, level) {
		s.fail(w, r, BadRequest("level", "unknown grid level; want street, community, grid or micro_grid"))
		return
	}
	var out *qry.OutOfBand
	err := s.aggregate(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		out, err = q.OutOfBandGrids(ctx, level)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(out.Grids))
	writeJSON(w, http.StatusOK, out)
}
