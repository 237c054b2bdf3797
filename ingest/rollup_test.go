package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// eventRollupTables are the tables the bulk path keeps instead of the triggers,
// with their keys (snapshot order). Whole rows are compared, rep included.
// close_hours is a float sum, which depends on the order of addition: it is
// compared to 1e-6 h.
var eventRollupTables = []struct{ name, key, cols string }{
	{"tile_event_h3", "res, cell, status", "t::text"},
	{"tile_load", "kind, code", "t::text"},
	{"event_rollup_month", "month, admin_code, category_root",
		"(month, admin_code, category_root, events, closed, round(close_hours::numeric, 6), due, on_time, ekey, due_key, on_time_key)::text"},
	{"event_close_hist_month", "month, admin_code", "t::text"},
}

// writeEventsCSV writes events e<from>..e<to-1> with statuses, days and points
// drawn from seed inside the fixture's grids (2023-2024, where each point has a
// current grid version), and returns the file and how many of e<openFrom>.. are open.
func writeEventsCSV(t *testing.T, from, to, openFrom int, seed uint64) (path string, open int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	b.WriteString("id,category,severity,source,status,reported_at,closed_at,lon,lat\n")
	statuses := []string{"reported", "dispatched", "handling", "resolved", "closed", "cancelled"}
	for i := from; i < to; i++ {
		st := statuses[r.IntN(len(statuses))]
		rep := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(2*365*24*60)) * time.Minute)
		closed := ""
		if st == "resolved" || st == "closed" {
			closed = rep.Add(time.Duration(r.IntN(40*24*60)) * time.Minute).Format("2006-01-02 15:04:05")
		}
		switch st {
		case "reported", "dispatched", "handling":
			if i >= openFrom {
				open++
			}
		}
		cat := "C01"
		if r.IntN(2) == 0 {
			cat = "C0101"
		}
		// Few distinct spots, so many events share cells and days.
		lon := 114.001 + float64(r.IntN(40))*0.0024
		lat := 22.501 + float64(r.IntN(20))*0.0024
		fmt.Fprintf(&b, "e%d,%s,general,app,%s,%s,%s,%.4f,%.4f\n", i, cat, st, rep.Format("2006-01-02 15:04:05"), closed, lon, lat)
	}
	path = filepath.Join(t.TempDir(), fmt.Sprintf("events-%d-%d.csv", from, to))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, open
}

// snapshotRollups returns every row of the event roll-ups as text, in key order.
func snapshotRollups(t *testing.T, ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range eventRollupTables {
		rows, err := q.Query(ctx, fmt.Sprintf("SELECT %s FROM %s t ORDER BY %s", d.cols, d.name, d.key))
		if err != nil {
			t.Fatalf("snapshot %s: %v", d.name, err)
		}
		if out[d.name], err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			t.Fatalf("snapshot %s: %v", d.name, err)
		}
	}
	return out
}

// schemaOf lists the indexes, constraints and trigger states of event and the
// tables the bulk path touches.
func schemaOf(t *testing.T, db *pgxpool.Pool) string {
	t.Helper()
	return str(t, db, `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
    SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index
    WHERE indrelid IN ('event'::regclass, 'event_step'::regclass, 'tile_event_h3'::regclass)
       OR indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'tile_event_h3'::regclass)
    UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid IN ('event'::regclass, 'event_step'::regclass, 'tile_event_h3'::regclass)
    UNION ALL SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgrelid = 'event'::regclass AND NOT tgisinternal) x`)
}

// TestBulkRollupMatchesRebuild loads events in bulk mode twice (the second file
// overlaps the first, so groups are both created and merged, and rows are
// skipped) and requires the roll-ups to equal what derived_rebuild() computes
// from the table, representative points included; the roll-up triggers must have
// been bypassed, and be back afterwards with every index and key.
func TestBulkRollupMatchesRebuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	world(t, db)
	before := schemaOf(t, db)

	a, openA := writeEventsCSV(t, 0, 3000, 0, 1)
	b, openNew := writeEventsCSV(t, 2000, 5000, 3000, 2) // e2000..e2999 are in a already
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := load(t, db, Options{Kind: "events", Path: a, Dataset: "r", Bulk: "on", Log: logger})
	checkSummary(t, s, 3000, 3000, 0, 0)
	s = load(t, db, Options{Kind: "events", Path: b, Dataset: "r", Bulk: "on", Log: logger})
	// The overlap is unchanged, but the second file draws other rows for it.
	checkSummary(t, s, 3000, 2000, 1000, 0)
	if n := strings.Count(log.String(), "step=\"rollup group\""); n != 2 {
		t.Fatalf("bulk roll-up ran %d times, want 2 (did a migration change the roll-up triggers? see rollup.go)\n%s", n, log.String())
	}
	if after := schemaOf(t, db); after != before {
		t.Errorf("indexes, keys or triggers changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Independent figures: every event counted once at each resolution, and
	// open events per community as the generator drew them.
	for _, q := range []string{
		`SELECT sum(n) FROM tile_event_h3 WHERE res = 10`, `SELECT sum(n) FROM tile_event_h3 WHERE res = 9`,
		`SELECT sum(n) FROM tile_event_h3 WHERE res = 8`, `SELECT sum(n) FROM tile_event_h3 WHERE res = 7`,
		`SELECT sum(n) FROM tile_event_h3 WHERE res = 6`,
	} {
		if got := count(t, db, q); got != 5000 {
			t.Errorf("%s = %d, want 5000 (every event once)", q, got)
		}
	}
	if got := count(t, db, `SELECT sum(events) FROM event_rollup_month`); got != 5000 {
		t.Errorf("event_rollup_month counts %d events, want 5000", got)
	}
	if got := count(t, db, `SELECT sum(open_events) FROM tile_load WHERE kind = 'grid'`); got != int64(openA+openNew) {
		t.Errorf("tile_load open events by grid = %d, want %d", got, openA+openNew)
	}

	loaded := snapshotRollups(t, ctx, db)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT derived_rebuild()`); err != nil {
		t.Fatalf("derived_rebuild: %v", err)
	}
	rebuilt := snapshotRollups(t, ctx, tx)
	for _, d := range eventRollupTables {
		if len(loaded[d.name]) == 0 {
			t.Errorf("%s is empty", d.name)
		}
		g, w := strings.Join(loaded[d.name], "\n"), strings.Join(rebuilt[d.name], "\n")
		if g != w {
			t.Errorf("%s after bulk loads differs from derived_rebuild (%d vs %d rows)", d.name, len(loaded[d.name]), len(rebuilt[d.name]))
		}
	}
}

// TestBulkRollupFailureLeavesNothing makes the roll-up fail after the insert
// (the triggers disabled, keys and indexes dropped) and requires the database
// as it was: no rows, the same roll-ups, indexes, keys and enabled triggers.
func TestBulkRollupFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	world(t, db)
	a, _ := writeEventsCSV(t, 0, 500, 0, 3)
	load(t, db, Options{Kind: "events", Path: a, Dataset: "r", Bulk: "on"})
	before, rollups := schemaOf(t, db), snapshotRollups(t, ctx, db)
	if _, err := db.Exec(ctx, `CREATE FUNCTION fail_now() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'injected failure'; END $$;
CREATE TRIGGER fail_now BEFORE INSERT ON event_rollup_month FOR EACH STATEMENT EXECUTE FUNCTION fail_now()`); err != nil {
		t.Fatal(err)
	}
	b, _ := writeEventsCSV(t, 500, 1500, 0, 4)
	_, err := Load(ctx, db, Options{Kind: "events", Path: b, Dataset: "r", Bulk: "on", RejectsPath: filepath.Join(t.TempDir(), "r.csv")})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("load: got %v, want the injected failure", err)
	}
	if n := count(t, db, `SELECT count(*) FROM event`); n != 500 {
		t.Errorf("events = %d, want 500", n)
	}
	if after := schemaOf(t, db); after != before {
		t.Errorf("indexes, keys or triggers changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	got := snapshotRollups(t, ctx, db)
	for _, d := range eventRollupTables {
		if strings.Join(got[d.name], "\n") != strings.Join(rollups[d.name], "\n") {
			t.Errorf("%s changed by a failed load", d.name)
		}
	}
}
