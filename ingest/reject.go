package ingest

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Reject is one rejected row.
type Reject struct {
	Line   int64  // 1-based line or feature number (OSM: element position)
	Field  string // the field at fault, "" for the row as a whole
	Reason string
	Raw    string
}

// startRun records a load in load_run and returns its id.
func startRun(ctx context.Context, tx pgx.Tx, kind, file, dataset string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO load_run (kind, file, dataset) VALUES ($1, $2, $3) RETURNING id`, kind, file, dataset).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record load run: %w", err)
	}
	return id, nil
}

// fillRaw gives the rejects found in the database (which were staged without their
// raw text, to keep the staging table small) their raw rows, by reading the file
// again and keeping only those lines.
func fillRaw(ctx context.Context, tx pgx.Tx, table string, reread func(want map[int64]bool) (map[int64]string, error)) error {
	rows, err := tx.Query(ctx, `SELECT line FROM `+pgx.Identifier{table}.Sanitize()+` WHERE rreason IS NOT NULL AND raw IS NULL`)
	if err != nil {
		return fmt.Errorf("find rejects without raw rows: %w", err)
	}
	want := map[int64]bool{}
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			return fmt.Errorf("find rejects without raw rows: %w", err)
		}
		want[l] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find rejects without raw rows: %w", err)
	}
	if len(want) == 0 || reread == nil {
		return nil
	}
	raws, err := reread(want)
	if err != nil {
		return fmt.Errorf("re-read rejected rows: %w", err)
	}
	lines := make([]int64, 0, len(raws))
	texts := make([]string, 0, len(raws))
	for l, r := range raws {
		lines = append(lines, l)
		texts = append(texts, r)
	}
	_, err = tx.Exec(ctx, `UPDATE `+pgx.Identifier{table}.Sanitize()+` s SET raw = r.raw
FROM unnest($1::bigint[], $2::text[]) AS r(line, raw) WHERE s.line = r.line`, lines, texts)
	if err != nil {
		return fmt.Errorf("store raw rows of rejects: %w", err)
	}
	return nil
}

// saveRejects copies the staged rejects into load_reject and returns how many.
func saveRejects(ctx context.Context, tx pgx.Tx, runID int64, table string) (int64, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO load_reject (run_id, line, field, reason, raw)
SELECT $1, line, coalesce(rfield, ''), rreason, coalesce(raw, '') FROM `+pgx.Identifier{table}.Sanitize()+`
WHERE rreason IS NOT NULL ORDER BY line`, runID)
	if err != nil {
		return 0, fmt.Errorf("save rejects: %w", err)
	}
	return tag.RowsAffected(), nil
}

// finishRun records a run's counts.
func finishRun(ctx context.Context, tx pgx.Tx, s *Summary) error {
	_, err := tx.Exec(ctx, `UPDATE load_run SET finished_at = clock_timestamp(), read = $2, loaded = $3, unchanged = $4, rejected = $5, unassigned = $6 WHERE id = $1`,
		s.RunID, s.Read, s.Loaded, s.Unchanged, s.Rejected, s.Unassigned)
	if err != nil {
		return fmt.Errorf("record load run: %w", err)
	}
	return nil
}

// Rejects returns the rejects of a run, in line order.
func Rejects(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, runID int64) ([]Reject, error) {
	rows, err := q.Query(ctx, `SELECT line, field, reason, raw FROM load_reject WHERE run_id = $1 ORDER BY line, id`, runID)
	if err != nil {
		return nil, fmt.Errorf("read rejects of run %d: %w", runID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reject, error) {
		var x Reject
		err := r.Scan(&x.Line, &x.Field, &x.Reason, &x.Raw)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("read rejects of run %d: %w", runID, err)
	}
	return out, nil
}

// writeRejectFile writes the run's rejects as CSV: unit (line or feature), field,
// reason, raw. The file is written before the load commits, so a load whose
// rejects cannot be written does not happen.
func writeRejectFile(ctx context.Context, tx pgx.Tx, runID int64, path, unit string) error {
	rows, err := tx.Query(ctx, `SELECT line, field, reason, raw FROM load_reject WHERE run_id = $1 ORDER BY line, id`, runID)
	if err != nil {
		return fmt.Errorf("read rejects: %w", err)
	}
	defer rows.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write rejects: %w", err)
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{unit, "field", "reason", "raw"})
	var r Reject
	for rows.Next() {
		if err := rows.Scan(&r.Line, &r.Field, &r.Reason, &r.Raw); err != nil {
			f.Close()
			return fmt.Errorf("read rejects: %w", err)
		}
		_ = w.Write([]string{strconv.FormatInt(r.Line, 10), r.Field, r.Reason, r.Raw})
	}
	if err := rows.Err(); err != nil {
		f.Close()
		return fmt.Errorf("read rejects: %w", err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("write rejects %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write rejects %s: %w", path, err)
	}
	return nil
}
