package api

import (
	"errors"
	"net/http"

	"github.com/jackc/pgx/v5"
)

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// handleOverview serves GET /api/v1/overview: what the command-centre page needs
// to start (query.Overview): the server's clock and default window, the areas
// with their extents and figures (the page opens on the first), the admin units,
// the event taxonomy and the household tags.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	out, err := s.q.Overview(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, out)
}
