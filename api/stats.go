package api

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5"
)

// statsTables are the tables whose row counts /api/v1/stats reports.
var statsTables = []string{"admin_area", "grid", "address", "address_alias", "building", "household", "event_category", "event", "event_step"}

// handleStats reports exact row counts per table.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	counts := make(map[string]int64, len(statsTables))
	err := s.inScope(r, func(ctx context.Context, tx pgx.Tx) error {
		batch := &pgx.Batch{}
		for _, t := range statsTables {
			batch.Queue("SELECT count(*) FROM " + pgx.Identifier{t}.Sanitize())
		}
		res := tx.SendBatch(ctx, batch)
		defer res.Close()
		for _, t := range statsTables {
			var n int64
			if err := res.QueryRow().Scan(&n); err != nil {
				return err
			}
			counts[t] = n
		}
		return res.Close()
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tables": counts})
}
