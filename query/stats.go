package query

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// StatsTables are the tables whose row counts TableCounts reports.
var StatsTables = []string{"admin_area", "grid", "address", "address_alias", "building", "household", "event_category", "event", "event_step"}

// TableCounts counts the rows of StatsTables that the caller's transaction sees
// (under row-level security, those inside the jurisdiction), in one round trip.
func (s *Store) TableCounts(ctx context.Context) (map[string]int64, error) {
	batch := &pgx.Batch{}
	for _, t := range StatsTables {
		batch.Queue("SELECT count(*) FROM " + pgx.Identifier{t}.Sanitize())
	}
	res := s.db.SendBatch(ctx, batch)
	defer res.Close()
	counts := make(map[string]int64, len(StatsTables))
	for _, t := range StatsTables {
		var n int64
		if err := res.QueryRow().Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, res.Close()
}
