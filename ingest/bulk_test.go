package ingest

import (
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestBulkModeKeepsIndexes loads with bulk mode forced on: the same rows and
// rejects as a normal load, and afterwards the same indexes and foreign keys.
func TestBulkModeKeepsIndexes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	world(t, db)
	const defs = `SELECT string_agg(d, '; ' ORDER BY d) FROM (
    SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indrelid = 'event'::regclass
    UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'event'::regclass) x`
	before := str(t, db, defs)
	s := load(t, db, Options{Kind: "events", Path: "testdata/events.csv", Bulk: "on"})
	checkSummary(t, s, 12, 2, 0, 10)
	if after := str(t, db, defs); after != before {
		t.Errorf("indexes and constraints changed:\nbefore %s\nafter  %s", before, after)
	}
	if got := count(t, db, `SELECT count(*) FROM event WHERE grid_code IS NOT NULL`); got != 2 {
		t.Errorf("linked events = %d, want 2", got)
	}
}
