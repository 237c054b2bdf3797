package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bulk mode: inserting a million rows into a table keeps every secondary index
// up to date row by row, and GiST insertion alone costs ~13 µs a row. When a
// load adds many rows compared with what the table holds, it is much faster to
// drop the secondary indexes inside the load's transaction, insert, and build
// them again (sorted builds, parallel workers). DDL is transactional, so an
// interrupted load still leaves the table and its indexes as they were; the
// price is an ACCESS EXCLUSIVE lock on the table for the rest of the load.
// Indexes that back constraints (primary key, unique, exclusion) are kept: ON
// CONFLICT needs them.

// BulkMinRows is the smallest load that may use bulk mode.
const BulkMinRows = 100_000

// targetTables maps a kind to the table its rows go into.
var targetTables = map[string]string{"events": "event", "open311": "event", "addresses": "address", "buildings": "building", "households": "household"}

// useBulk decides whether a load of n rows into table should rebuild indexes:
// mode "on" always, "off" never, "auto" when n >= BulkMinRows and n is at least a
// quarter of the rows the table holds.
func useBulk(ctx context.Context, tx pgx.Tx, mode, table string, n int64) (bool, error) {
	switch mode {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	if n < BulkMinRows {
		return false, nil
	}
	var est float64
	if err := tx.QueryRow(ctx, `SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = $1::regclass`, table).Scan(&est); err != nil {
		return false, fmt.Errorf("estimate rows of %s: %w", table, err)
	}
	return float64(n) >= est/4, nil
}

// indexDef is a dropped index or foreign key: its name and how to create it again.
type indexDef struct{ name, def string }

// dropIndexes drops the table's secondary indexes that back no constraint and
// returns their definitions.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) ([]indexDef, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexDef, error) {
		var d indexDef
		err := r.Scan(&d.name, &d.def)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	for _, d := range defs {
		if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{d.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", d.name, err)
		}
	}
	return defs, nil
}

// createIndexes builds the dropped indexes again and re-adds dropped foreign keys.
func createIndexes(ctx context.Context, tx pgx.Tx, defs []indexDef, log *slog.Logger) error {
	if len(defs) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '512MB'`); err != nil {
		return fmt.Errorf("set maintenance_work_mem: %w", err)
	}
	for _, d := range defs {
		t0 := time.Now()
		if _, err := tx.Exec(ctx, d.def); err != nil {
			return fmt.Errorf("rebuild index %s: %w", d.name, err)
		}
		step(log, "index "+d.name, t0)
	}
	return nil
}

// dropForeignKeys drops the table's foreign keys and returns the ALTER TABLE
// statements that add them again; adding a key back checks every row in one
// set-based query instead of one trigger call per inserted row.
func dropForeignKeys(ctx context.Context, tx pgx.Tx, table string) ([]indexDef, error) {
	rows, err := tx.Query(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`, table)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys of %s: %w", table, err)
	}
	defs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexDef, error) {
		var d indexDef
		err := r.Scan(&d.name, &d.def)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list foreign keys of %s: %w", table, err)
	}
	t := pgx.Identifier{table}.Sanitize()
	for i, d := range defs {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+t+` DROP CONSTRAINT `+pgx.Identifier{d.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop foreign key %s: %w", d.name, err)
		}
		defs[i].def = `ALTER TABLE ` + t + ` ADD CONSTRAINT ` + pgx.Identifier{d.name}.Sanitize() + ` ` + d.def
	}
	return defs, nil
}
