package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bulk roll-ups. The statement triggers on event that keep the tile and query
// roll-ups current (tile_event_agg, event_rollup_trigger, event_close_hist_trigger)
// cost a 1M-event load many seconds: the transition tables hold every new row,
// each group's representative point is an array_agg of geometries, and the
// grouped rows are upserted one by one. A bulk load (see bulk.go) disables those
// three insert triggers inside its transaction, inserts, and then folds the new
// rows into the roll-ups set-based, once:
//
//   - tile_event_h3 (resolutions 6-10) gets the new groups by one grouped pass
//     over the new rows rolled up resolution by resolution, merged by an UPDATE
//     of existing groups and an INSERT of the others;
//   - tile_load gets the open-event counts as the trigger adds them;
//   - event_rollup_month and event_close_hist_month are folded by the schema's own
//     statements (event_rollup_sql, event_close_hist_sql) over the new rows.
//
// The result equals what derived_rebuild() computes from the whole table: a new
// group's representative point is the point of its lowest-id event, as in the
// rebuild (the trigger keeps the statement's first row instead). The triggers are
// enabled again before the transaction ends; DDL is transactional, so a failed
// load leaves them as they were. Other triggers (tile_bump, event_notify) still
// fire as usual.
//
// The fast path only runs while the trigger functions are the ones this code
// mirrors: if a migration changes one of them, loads fall back to the triggers
// (correct, slower) and TestBulkRollupMatchesRebuild says so.

// eventRollupTriggers are the insert triggers the bulk path replaces, with the
// md5 of the source of the function each one runs.
var eventRollupTriggers = []struct{ name, fn, md5 string }{
	{"tile_event_agg_insert", "tile_event_agg", "532f598e8487bd05aa3e1e8d23b2fbf9"},          // 0510
	{"event_rollup_ins", "event_rollup_trigger", "6be1275a2c6133c4ad915f3465275d76"},         // 0770
	{"event_close_hist_ins", "event_close_hist_trigger", "a1de025ff99499665b528b8b8f34d9db"}, // 0301
}

// bulkRollupOK reports whether the event roll-up triggers are present, enabled and
// unchanged, so that the bulk path may stand in for them.
func bulkRollupOK(ctx context.Context, tx pgx.Tx) (bool, error) {
	var n int
	for _, tr := range eventRollupTriggers {
		var ok bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid = 'event'::regclass AND t.tgname = $1 AND t.tgenabled = 'O' AND p.proname = $2 AND md5(p.prosrc) = $3)`,
			tr.name, tr.fn, tr.md5).Scan(&ok)
		if err != nil {
			return false, fmt.Errorf("look at trigger %s: %w", tr.name, err)
		}
		if ok {
			n++
		}
	}
	return n == len(eventRollupTriggers), nil
}

// eventRollup is a bulk load's stand-in for the roll-up triggers: begin before the
// insert, finish after it.
type eventRollup struct {
	lo  int64 // ids of the new rows lie strictly between lo and hi
	log *slog.Logger
}

// beginEventRollup disables the roll-up triggers and marks where the new ids
// start. The caller holds an ACCESS EXCLUSIVE lock on event (bulk mode), so no
// other transaction inserts rows into the id range until commit.
func beginEventRollup(ctx context.Context, tx pgx.Tx, log *slog.Logger) (*eventRollup, error) {
	for _, tr := range eventRollupTriggers {
		if _, err := tx.Exec(ctx, `ALTER TABLE event DISABLE TRIGGER `+pgx.Identifier{tr.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("disable trigger %s: %w", tr.name, err)
		}
	}
	r := &eventRollup{log: log}
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('event', 'id'))`).Scan(&r.lo); err != nil {
		return nil, fmt.Errorf("event id before insert: %w", err)
	}
	return r, nil
}

// finish folds the rows inserted since begin into the roll-ups and enables the
// triggers again. loaded is how many rows the insert added.
func (r *eventRollup) finish(ctx context.Context, tx pgx.Tx, loaded int64) error {
	var hi int64
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('event', 'id'))`).Scan(&hi); err != nil {
		return fmt.Errorf("event id after insert: %w", err)
	}
	if loaded > 0 {
		if err := r.fold(ctx, tx, hi); err != nil {
			return err
		}
	}
	for _, tr := range eventRollupTriggers {
		if _, err := tx.Exec(ctx, `ALTER TABLE event ENABLE TRIGGER `+pgx.Identifier{tr.name}.Sanitize()); err != nil {
			return fmt.Errorf("enable trigger %s: %w", tr.name, err)
		}
	}
	return nil
}

func (r *eventRollup) fold(ctx context.Context, tx pgx.Tx, hi int64) error {
	// The range as literals: the query roll-ups' statements are built by the
	// schema's functions from SQL text, and the rest reads the same rows.
	inRange := `id > ` + strconv.FormatInt(r.lo, 10) + ` AND id < ` + strconv.FormatInt(hi, 10)
	newRows := `FROM event WHERE ` + inRange
	stmts := []struct{ name, sql string }{
		// One grouped pass over the new rows at resolution 10; the coarser
		// resolutions are rolled up from the finer groups (counts add; a group's
		// lowest id is the lowest of its subgroups). The hash tables stay small
		// (tens of thousands of groups for 1M events).
		{"group", `CREATE TEMP TABLE ingest_ev ON COMMIT DROP AS
SELECT 10::smallint AS res, h3_parent(h3, 10) AS cell, status, count(*)::int AS n, min(id) AS id
FROM event WHERE ` + inRange + `
GROUP BY 2, 3`},
		{"group 9", rollUp("ingest_ev", "status", 9)},
		{"group 8", rollUp("ingest_ev", "status", 8)},
		{"group 7", rollUp("ingest_ev", "status", 7)},
		{"group 6", rollUp("ingest_ev", "status", 6)},
		{"cells", `CREATE TEMP TABLE ingest_ev_cell ON COMMIT DROP AS
SELECT a.res, a.cell, a.status, a.n, e.geom_3857 AS rep
FROM ingest_ev a
JOIN LATERAL (SELECT geom_3857 FROM event e WHERE e.id = a.id) e ON true`},
		{"cell update", `UPDATE tile_event_h3 t SET n = t.n + c.n, rep = coalesce(t.rep, c.rep)
FROM ingest_ev_cell c WHERE t.res = c.res AND t.cell = c.cell AND t.status = c.status`},
		{"cell insert", `INSERT INTO tile_event_h3 (res, cell, status, n, rep)
SELECT c.res, c.cell, c.status, c.n, c.rep FROM ingest_ev_cell c
WHERE NOT EXISTS (SELECT 1 FROM tile_event_h3 t WHERE t.res = c.res AND t.cell = c.cell AND t.status = c.status)
ORDER BY 1, 2, 3`},
		// As tile_event_agg adds them.
		{"load", `INSERT INTO tile_load AS t (kind, code, open_events)
SELECT k.kind, k.code, count(*)
FROM (SELECT grid_code, admin_code ` + newRows + ` AND tile_open_status(status)
        AND (grid_code IS NOT NULL OR admin_code IS NOT NULL)) e,
     LATERAL (VALUES ('grid', e.grid_code), ('admin', e.admin_code)) k (kind, code)
WHERE k.code IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (kind, code) DO UPDATE SET open_events = t.open_events + excluded.open_events`},
		{"drop temp", `DROP TABLE ingest_ev, ingest_ev_cell`},
	}
	for _, s := range stmts {
		t0 := time.Now()
		if _, err := tx.Exec(ctx, s.sql); err != nil {
			return fmt.Errorf("roll up new events (%s): %w", s.name, err)
		}
		step(r.log, "rollup "+s.name, t0)
	}
	// The query roll-ups, by the statements their triggers run.
	for _, q := range []struct{ fn, cols string }{
		{"event_rollup_sql", "id, reported_at, admin_code, category_code, closed_at, deadline"},
		{"event_close_hist_sql", "reported_at, admin_code, closed_at"},
	} {
		t0 := time.Now()
		var sql string
		if err := tx.QueryRow(ctx, `SELECT `+q.fn+`($1)`, `SELECT `+q.cols+`, 1 AS sign `+newRows).Scan(&sql); err != nil {
			return fmt.Errorf("roll up new events (%s): %w", q.fn, err)
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("roll up new events (%s): %w", q.fn, err)
		}
		step(r.log, "rollup "+q.fn, t0)
	}
	return nil
}

// rollUp adds the groups of resolution res to table from those of res+1; keys
// are the columns besides the cell.
func rollUp(table, keys string, res int) string {
	r := strconv.Itoa(res)
	return `INSERT INTO ` + table + ` (res, cell, ` + keys + `, n, id)
SELECT ` + r + `, h3_parent(cell, ` + r + `), ` + keys + `, sum(n)::int, min(id)
FROM ` + table + ` WHERE res = ` + strconv.Itoa(res+1) + ` GROUP BY 2, ` + keys
}
