package ingest

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

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
	checkSummary(t, s, 12, 3, 0, 9)
	if after := str(t, db, defs); after != before {
		t.Errorf("indexes and constraints changed:\nbefore %s\nafter  %s", before, after)
	}
	if got := count(t, db, `SELECT count(*) FROM event WHERE grid_code IS NOT NULL`); got != 2 {
		t.Errorf("linked events = %d, want 2", got)
	}
}

// TestBulkInsertReadsOnlyStaging plans every bulk insert against a target
// table that is empty and analysed (as after TRUNCATE and autovacuum) and
// finds no scan of the target: an insert that reads the table it grows goes
// quadratic on such a plan (a nested loop rescanning the growing heap).
func TestBulkInsertReadsOnlyStaging(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	for _, kind := range []string{"events", "addresses", "buildings", "households", "open311"} {
		t.Run(kind, func(t *testing.T) {
			k := kinds[kind]
			if kind == "open311" {
				k = open311Kind
			}
			table := targetTables[kind]
			insert, ok := withoutConflict(k.sql.insert)
			if !ok {
				t.Fatalf("%s: insert does not end in %s", kind, conflictClause)
			}
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `TRUNCATE `+table+` CASCADE`); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `ANALYZE `+table); err != nil {
				t.Fatal(err)
			}
			if err := createStage(ctx, tx, stageTable, k.cols); err != nil {
				t.Fatal(err)
			}
			args := pgx.NamedArgs{"dataset": "d", "address_dataset": "d", "unit": "line", "id_field": "id"}
			if err := markPresent(ctx, tx, table, args); err != nil {
				t.Fatal(err)
			}
			var plan []map[string]any
			if err := tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+insert, args).Scan(&plan); err != nil {
				t.Fatalf("explain: %v", err)
			}
			var scans []string
			var walk func(n map[string]any)
			walk = func(n map[string]any) {
				if n["Relation Name"] == table && n["Node Type"] != "ModifyTable" {
					scans = append(scans, fmt.Sprint(n["Node Type"]))
				}
				children, _ := n["Plans"].([]any)
				for _, c := range children {
					walk(c.(map[string]any))
				}
			}
			walk(plan[0]["Plan"].(map[string]any))
			if len(scans) > 0 {
				t.Errorf("the bulk insert into %s reads %s itself: %v", table, table, scans)
			}
		})
	}
}
