package api

import (
	"context"
	"net/http"

	qry "github.com/onegrid/onegrid/query"
)

// handleStats reports exact row counts per table, as the caller's jurisdiction
// sees them.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	var counts map[string]int64
	err := s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		counts, err = q.TableCounts(ctx)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(counts))
	writeJSON(w, http.StatusOK, map[string]any{"tables": counts})
}
