package api

import (
	"net/http"

	"github.com/jackc/pgx/v5"
)

// statsTables are the tables whose row counts /api/v1/stats reports.
var statsTables = []string{"admin_area", "grid", "address", "address_alias", "building", "household", "event_category", "event", "event_step"}

// handleStats reports exact row counts per table.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.queryContext(r)
	defer cancel()
	batch := &pgx.Batch{}
	for _, t := range statsTables {
		batch.Queue("SELECT count(*) FROM " + pgx.Identifier{t}.Sanitize())
	}
	res := s.db.SendBatch(ctx, batch)
	defer res.Close()
	counts := make(map[string]int64, len(statsTables))
	for _, t := range statsTables {
		var n int64
		if err := res.QueryRow().Scan(&n); err != nil {
			s.fail(w, r, err)
			return
		}
		counts[t] = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": counts})
}
