package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
// Indexes that back exclusion constraints are kept. The primary key and unique
// constraints are dropped too when the insert can do without ON CONFLICT (every
// mapped kind's insert ends in ON CONFLICT (dataset, dataset_id) DO NOTHING,
// which becomes an anti-join on the same columns): a speculative insertion into
// two unique indexes cost a 1M-event insert about 4 s, building them after about
// 1.5 s. Foreign keys of other tables that reference a dropped key are dropped
// and added again with it.

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

// indexDef is a dropped index or constraint: its name, the table a constraint
// is on, and how to create it again.
type indexDef struct{ name, on, def string }

// conflictClause ends the insert of every mapped kind.
const conflictClause = "ON CONFLICT (dataset, dataset_id) DO NOTHING"

// withoutConflict returns insert with its ON CONFLICT clause replaced by an
// anti-join on the staged lines already present in table (presentTable, filled
// by markPresent before the keys are dropped); ok is false when insert does not
// end that way. The staged rows are already unique by id (dupCheck), so the
// anti-join inserts exactly the rows ON CONFLICT DO NOTHING would, and the
// unique constraint, built again after the insert, still guards the table.
//
// The insert must not read the table it writes: a plan made while the table is
// empty and analysed (after TRUNCATE, autovacuum's ANALYZE records 0 pages and
// 0 rows) puts it on the inner side of a nested loop, and every outer row then
// rescans the heap the statement is growing: quadratic (100,000 events took
// 51 s instead of 0.3 s). The present lines are looked up before, in their own
// statement, against the table as it is, and the insert reads only the staging
// tables, which do not change under it.
func withoutConflict(insert string) (string, bool) {
	body, ok := strings.CutSuffix(strings.TrimSpace(insert), conflictClause)
	if !ok {
		return insert, false
	}
	return body + "WHERE NOT EXISTS (SELECT 1 FROM " + presentTable + " p WHERE p.line = s.line)", true
}

// presentTable holds the staged lines whose (dataset, id) the target table
// already has, for the bulk insert's anti-join.
const presentTable = "ingest_present"

// markPresent fills presentTable from table, while its unique key still exists,
// and analyses it so that the anti-join is planned on its real size.
func markPresent(ctx context.Context, tx pgx.Tx, table string, args pgx.NamedArgs) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE `+presentTable+` ON COMMIT DROP AS
SELECT s.line FROM ingest_stage s JOIN `+pgx.Identifier{table}.Sanitize()+` x ON x.dataset = @dataset AND x.dataset_id = s.id
WHERE s.rreason IS NULL`, args); err != nil {
		return fmt.Errorf("find rows already loaded: %w", err)
	}
	if _, err := tx.Exec(ctx, `ANALYZE `+presentTable); err != nil {
		return fmt.Errorf("analyze rows already loaded: %w", err)
	}
	return nil
}

// dropForBulk drops the table's secondary indexes, its foreign keys and foreign
// keys that reference it, and, when keys is true, its primary key and unique
// constraints. It returns how to create them again, in an order that works:
// indexes, keys, foreign keys.
func dropForBulk(ctx context.Context, tx pgx.Tx, table string, keys bool) ([]indexDef, error) {
	t := pgx.Identifier{table}.Sanitize()
	fks, err := listDefs(ctx, tx, `SELECT conname, conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint
WHERE contype = 'f' AND (conrelid = $1::regclass OR (confrelid = $1::regclass AND $2)) ORDER BY conname`, table, keys)
	if err != nil {
		return nil, fmt.Errorf("list foreign keys of %s: %w", table, err)
	}
	for i, d := range fks {
		// d.on is a regclass name, quoted as needed by PostgreSQL itself.
		if _, err := tx.Exec(ctx, `ALTER TABLE `+d.on+` DROP CONSTRAINT `+pgx.Identifier{d.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop foreign key %s: %w", d.name, err)
		}
		fks[i].def = `ALTER TABLE ` + d.on + ` ADD CONSTRAINT ` + pgx.Identifier{d.name}.Sanitize() + ` ` + d.def
	}
	var cons []indexDef
	if keys {
		if cons, err = listDefs(ctx, tx, `SELECT conname, '', pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY contype, conname`, table); err != nil {
			return nil, fmt.Errorf("list keys of %s: %w", table, err)
		}
		for i, d := range cons {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+t+` DROP CONSTRAINT `+pgx.Identifier{d.name}.Sanitize()); err != nil {
				return nil, fmt.Errorf("drop constraint %s: %w", d.name, err)
			}
			cons[i].def = `ALTER TABLE ` + t + ` ADD CONSTRAINT ` + pgx.Identifier{d.name}.Sanitize() + ` ` + d.def
		}
	}
	idx, err := listDefs(ctx, tx, `SELECT c.relname, '', pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	for _, d := range idx {
		if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{d.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", d.name, err)
		}
	}
	return append(append(idx, cons...), fks...), nil
}

// listDefs reads (name, table, definition) rows.
func listDefs(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]indexDef, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (indexDef, error) {
		var d indexDef
		err := r.Scan(&d.name, &d.on, &d.def)
		return d, err
	})
}

// createIndexes builds the dropped indexes again and re-adds dropped constraints.
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
