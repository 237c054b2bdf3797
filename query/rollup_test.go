package query_test

import (
	"context"
	"testing"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRollupsKeptCurrent changes events and households by INSERT, UPDATE and DELETE
// and checks that the trigger-maintained roll-ups, record-key sums included,
// equal a rebuild from scratch.
func TestRollupsKeptCurrent(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	if err := fixture.New().Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	changes := []string{
		`UPDATE event SET status = 'closed', closed_at = reported_at + interval '5 hours' WHERE status IN ('reported', 'dispatched', 'handling')`,
		`UPDATE event SET category_code = '020101', reported_at = reported_at - interval '40 days' WHERE id % 7 = 0`,
		`UPDATE event SET admin_code = '440304001002' WHERE id % 11 = 0`,
		`DELETE FROM event_step`,
		`DELETE FROM event WHERE id % 13 = 0`,
		`INSERT INTO event (category_code, severity, source, status, reported_at, closed_at, deadline, geom, h3, admin_code, grid_code)
			SELECT category_code, severity, source, status, reported_at + interval '1 day', closed_at + interval '1 day', deadline, geom, h3, admin_code, grid_code FROM event WHERE id % 5 = 0`,
		`UPDATE household SET tags = tags || '{低保}'::text[], members = members + 1 WHERE id % 3 = 0 AND NOT tags @> '{低保}'`,
		`UPDATE household SET grid_code = '44030400100200101', admin_code = '440304001002' WHERE id % 4 = 0`,
		`DELETE FROM household WHERE id % 9 = 0`,
	}
	for _, c := range changes {
		if _, err := db.Exec(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	snap := `SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM (
		SELECT month::text, admin_code, category_root, events, closed, round(close_hours::numeric, 6), due, on_time, ekey, due_key, on_time_key FROM event_rollup_month WHERE events <> 0
		UNION ALL SELECT 'h', admin_code, grid_code, h3_9, households, people, hkey, 0, 0, 0, 0 FROM household_rollup WHERE households <> 0
		UNION ALL SELECT tag, admin_code, grid_code, h3_9, households, people, hkey, 0, 0, 0, 0 FROM household_tag_rollup WHERE households <> 0) x`
	var before, after string
	if err := db.QueryRow(ctx, snap).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `SELECT query_rollup_rebuild()`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, snap).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("roll-ups maintained by triggers differ from a rebuild")
	}
	if _, err := db.Exec(ctx, `TRUNCATE event_step, event`); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow(ctx, `SELECT count(*) FROM event_rollup_month`).Scan(&n)
	if n != 0 {
		t.Errorf("%d roll-up rows after TRUNCATE event", n)
	}
}
