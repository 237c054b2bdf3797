package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	qry "github.com/onegrid/onegrid/query"
)

// handleBuilding serves GET /api/v1/buildings/{id}: the building's standard
// address and its households and people as released by the disclosure-control
// rule (query.Building). No personal data. Its household counts are aggregates:
// counted in the caller's jurisdiction.
func (s *Server) handleBuilding(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, BadRequest("id", "must be a positive integer"))
		return
	}
	var b *qry.Building
	err = s.aggregate(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		b, err = q.Building(ctx, id)
		return err
	})
	if errors.Is(err, qry.ErrNotFound) {
		writeError(w, r, NotFound("building"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	writeJSON(w, http.StatusOK, b)
}
