package citygen_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// derivedTables are every table kept by the household and event triggers, with
// their primary keys (the snapshot order) and the columns compared ("" = the whole
// row). The event tables' rep is any event point of the cell: the trigger rolls
// coarse cells up from finer groups (0204), the rebuild takes the lowest id, so rep
// is checked by repInCell instead of compared.
var derivedTables = []struct{ name, key, cols string }{
	{"tile_event_h3", "res, cell, status", "res, cell, status, n"},
	{"tile_household_h3", "res, cell", ""},
	{"tile_household_h3_tag", "res, cell, tag", ""},
	{"tile_load", "kind, code", ""},
	{"event_rollup_month", "month, admin_code, category_root", ""},
	{"event_close_hist_month", "month, admin_code", ""},
	{"household_rollup", "grid_code, h3_9, admin_code", ""},
	{"household_tag_rollup", "tag, grid_code, h3_9, admin_code", ""},
}

// repInCell fails the test unless every rep of the event tables is the point of
// an event of that cell (and day and status).
func repInCell(t *testing.T, ctx context.Context, tx pgx.Tx, when string) {
	t.Helper()
	for table, match := range map[string]string{
		"tile_event_h3": "e.status = t.status",
	} {
		var bad int
		err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s t WHERE t.rep IS NULL OR NOT EXISTS (
			SELECT 1 FROM event e WHERE h3_parent(e.h3, t.res) = t.cell AND %s AND e.geom_3857 = t.rep)`, table, match)).Scan(&bad)
		if err != nil {
			t.Fatalf("%s rep check: %v", table, err)
		}
		if bad > 0 {
			t.Errorf("%s (%s): %d rows whose rep is no event point of their cell", table, when, bad)
		}
	}
}

// snapshotDerived returns every row of every derived table as text, in key order.
func snapshotDerived(t *testing.T, ctx context.Context, tx pgx.Tx) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range derivedTables {
		sel := "t::text"
		if d.cols != "" {
			sel = "(" + d.cols + ")::text"
		}
		rows, err := tx.Query(ctx, fmt.Sprintf("SELECT %s FROM %s t ORDER BY %s", sel, d.name, d.key))
		if err != nil {
			t.Fatalf("snapshot %s: %v", d.name, err)
		}
		out[d.name], err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("snapshot %s: %v", d.name, err)
		}
	}
	return out
}

// TestDerivedRebuildMatchesTriggers checks the roll-ups Generate leaves (computed by
// derived_rebuild on its side connection, side.go). It loads the city's households
// and events again through the maintenance triggers (one INSERT each, in id order, like a COPY), snapshots
// every derived table, runs derived_rebuild() and requires the same rows (event
// representative points: each an event point of its cell, see repInCell).
func TestDerivedRebuildMatchesTriggers(t *testing.T) {
	pool, sum := generate(t, 2000, 5, "")
	if !sum.DerivedSide {
		t.Error("Generate computed the roll-ups in its own transaction, not on the side connection")
	}
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	// What Generate left: derived_rebuild of the load.
	rebuilt := snapshotDerived(t, ctx, tx)

	cols := map[string]string{}
	for _, tbl := range []string{"household", "event"} {
		var c string
		if err := tx.QueryRow(ctx, `SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'`, tbl).Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols[tbl] = c
	}
	var names []string
	for _, d := range derivedTables {
		names = append(names, d.name)
	}
	stmts := []string{
		"CREATE TEMP TABLE hh_copy AS SELECT " + cols["household"] + " FROM household",
		"CREATE TEMP TABLE ev_copy AS SELECT " + cols["event"] + " FROM event",
		// Remove the rows without triggers or foreign-key checks, empty the derived
		// tables, and insert the rows again with the triggers on.
		"SET LOCAL session_replication_role = replica",
		"DELETE FROM event",
		"DELETE FROM household",
		"TRUNCATE " + strings.Join(names, ", "),
		"SET LOCAL session_replication_role = origin",
		"INSERT INTO household (" + cols["household"] + ") SELECT * FROM hh_copy ORDER BY id",
		"INSERT INTO event (" + cols["event"] + ") SELECT * FROM ev_copy ORDER BY id",
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	triggered := snapshotDerived(t, ctx, tx)
	repInCell(t, ctx, tx, "triggers")
	indexes := derivedIndexes(t, ctx, tx)
	if _, err := tx.Exec(ctx, "SELECT derived_rebuild()"); err != nil {
		t.Fatalf("derived_rebuild: %v", err)
	}
	again := snapshotDerived(t, ctx, tx)
	repInCell(t, ctx, tx, "derived_rebuild")

	for _, d := range derivedTables {
		if len(triggered[d.name]) == 0 {
			t.Errorf("%s: no rows from the triggers", d.name)
		}
		diff(t, d.name+" (triggers vs derived_rebuild)", triggered[d.name], again[d.name])
		diff(t, d.name+" (triggers vs Generate)", triggered[d.name], rebuilt[d.name])
	}
	// The rebuilt tables keep their keys and indexes, on every partition.
	diff(t, "indexes of the derived tables", indexes, derivedIndexes(t, ctx, tx))
}

// derivedIndexes lists the indexes of the derived tables and their partitions
// with their definitions and validity.
func derivedIndexes(t *testing.T, ctx context.Context, tx pgx.Tx) []string {
	t.Helper()
	var names []string
	for _, d := range derivedTables {
		names = append(names, d.name)
	}
	rows, err := tx.Query(ctx, `SELECT format('%s valid=%s %s', i.indexrelid::regclass, i.indisvalid, pg_get_indexdef(i.indexrelid))
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
		LEFT JOIN pg_inherits h ON h.inhrelid = c.oid
		WHERE c.relname = ANY ($1) OR h.inhparent::regclass::text = ANY ($1)
		ORDER BY 1`, names)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 30 {
		t.Fatalf("derived tables have %d indexes, want one per table and partition: %v", len(out), out)
	}
	return out
}

func diff(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Errorf("%s: row %d is\n  %s\nwant\n  %s", what, i, got[i], want[i])
			return
		}
	}
}

// TestSideDerivedTouchesOnlyCopies makes derived_rebuild write a real table (as a
// migration that adds a roll-up without telling citygen would): Generate must fail,
// naming the table, and leave the database as it was.
func TestSideDerivedTouchesOnlyCopies(t *testing.T) {
	pool := pgtest.New(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE TABLE side_probe (n int)",
		"ALTER FUNCTION derived_rebuild() RENAME TO derived_rebuild_orig",
		`CREATE FUNCTION derived_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
		 BEGIN INSERT INTO side_probe VALUES (1); RETURN derived_rebuild_orig(); END $$`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err := citygen.Generate(ctx, pool, citygen.Options{Households: 1000, Seed: 1, End: testEnd})
	if err == nil || !strings.Contains(err.Error(), "side_probe") {
		t.Fatalf("Generate: err = %v, want a refusal naming side_probe", err)
	}
	t.Logf("Generate: %v", err)
	var n int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM household) + (SELECT count(*) FROM event)
		+ (SELECT count(*) FROM side_probe) + (SELECT count(*) FROM tile_load)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows left after the failed run, want none", n)
	}
}

// TestDerivedWithoutSideConnection: with no connection to spare, Generate computes
// the roll-ups in its own transaction, and they are what derived_rebuild computes.
func TestDerivedWithoutSideConnection(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.ConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sum, err := citygen.Generate(ctx, pool, citygen.Options{Households: 1000, Seed: 3, End: testEnd})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if sum.DerivedSide {
		t.Error("Generate used a side connection from a pool of one")
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	generated := snapshotDerived(t, ctx, tx)
	if _, err := tx.Exec(ctx, "SELECT derived_rebuild()"); err != nil {
		t.Fatal(err)
	}
	rebuilt := snapshotDerived(t, ctx, tx)
	for _, d := range derivedTables {
		if len(generated[d.name]) == 0 {
			t.Errorf("%s: empty after Generate", d.name)
		}
		diff(t, d.name+" (Generate vs derived_rebuild)", rebuilt[d.name], generated[d.name])
	}
}
