package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"

	qry "github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/scope"
)

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// handleOverview serves GET /api/v1/overview: what the command-centre page needs
// to start (query.Overview): the server's clock and default window, the areas
// with their extents and figures (the page opens on the first), the admin units,
// the event taxonomy and the household tags. It runs in the caller's scope; the
// areas' figures are counts, computed as aggregates are (scope.Aggregating):
// inside the caller's jurisdiction, never a row, and released by the
// disclosure-control rule, except the event counts of a caller who may read
// event rows (and so count them with GET /api/v1/events/summary).
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	var out *qry.Overview
	exact := scopeOf(r).Can(scope.CanRows)
	err := s.aggregate(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		out, err = q.Overview(ctx, exact)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, out)
}
