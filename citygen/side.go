package citygen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Derived tables on a second connection.
//
// On a 1M-household city derived_rebuild() (schema 0205, 0206, 0510) is 15-16 s of one
// backend's CPU, and the index builds before it 27-28 s more: 45 s in which the
// generator's own process idles and one of the two cores is unused. A second
// connection cannot see the generator's uncommitted rows, so it is handed a copy:
// before building indexes, the main transaction streams the columns the roll-ups
// read (binary COPY TO) into temporary tables of the same names on the second
// connection, which also creates temporary, empty roll-up tables of the same names
// and columns. A session's temporary schema comes first in name lookup, so the
// schema's own derived_rebuild() run there reads and writes only these copies: the
// same SQL as every other path, on the same rows. It runs while the main
// connection builds its indexes; the rows it produced are then streamed into the
// real roll-ups, whose keys and indexes are built once after. The side transaction
// never commits.
//
// Proof that derived_rebuild touched nothing but its copies: before the result is
// taken, the side connection must hold no lock on any relation outside its
// temporary schema and the system catalogue (every read or write of a real table
// takes one until the transaction ends). A future migration that makes
// derived_rebuild read or write a table without a copy here makes gen fail with
// that table's name, and lock_timeout keeps it from waiting on the main
// transaction's locks. TestDerivedRebuildMatchesTriggers holds the result to what
// the triggers compute.

// sideInputs are the base tables derived_rebuild reads and the columns it reads of them.
var sideInputs = []struct {
	table string
	cols  []string
}{
	{"event", []string{"id", "h3", "reported_at", "status", "geom_3857", "grid_code", "admin_code", "category_code", "closed_at", "deadline"}},
	{"household", []string{"id", "h3", "members", "address_id", "tags", "grid_code", "admin_code"}},
	{"address", []string{"id", "geom_3857"}},
	{"event_category", []string{"code", "parent_code"}},
	{"sdc_secret", []string{"seed"}}, // the record keys' seed (schema 0770)
}

// sideViews are views over the inputs that the roll-up statements read.
var sideViews = []string{"event_category_roots"}

// sideOutputs are the tables derived_rebuild writes: every column, key and default.
var sideOutputs = []string{
	"tile_event_h3", "tile_household_h3", "tile_household_h3_tag", "tile_load",
	"event_rollup_month", "event_close_hist_month", "household_rollup", "household_tag_rollup",
}

// side is the second connection and its run of derived_rebuild.
type side struct {
	conn    *pgxpool.Conn
	tx      pgx.Tx
	cancel  context.CancelFunc
	done    chan error // derived_rebuild's outcome, once; nil until it starts
	err     error
	waited  bool
	outCols map[string][]string // output table → columns, in order
	seconds float64             // wall time of the side's derived_rebuild
}

// sideDDL reads, in the main transaction, what the side connection creates: the
// statements for its temporary tables and views, and each output's columns.
// Only catalogue rows are read (the main transaction holds locks on the tables).
func (w *writer) sideDDL(ctx context.Context) (ddl []string, outCols map[string][]string, err error) {
	const colsSQL = `SELECT a.attname, format('%I %s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
		CASE WHEN a.attcollation <> t.typcollation THEN ' COLLATE ' || quote_ident(n.nspname) || '.' || quote_ident(co.collname) ELSE '' END,
		CASE WHEN $2 AND a.attnotnull THEN ' NOT NULL' ELSE '' END,
		CASE WHEN $2 AND d.adbin IS NOT NULL THEN ' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid) ELSE '' END)
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_namespace n ON n.oid = co.collnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND NOT ($2 AND a.attgenerated <> '')
		ORDER BY a.attnum`
	columns := func(table string, output bool) (names, defs []string, err error) {
		rows, err := w.tx.Query(ctx, colsSQL, table, output)
		if err != nil {
			return nil, nil, fmt.Errorf("columns of %s: %w", table, err)
		}
		for rows.Next() {
			var n, d string
			if err := rows.Scan(&n, &d); err != nil {
				rows.Close()
				return nil, nil, err
			}
			names, defs = append(names, n), append(defs, d)
		}
		return names, defs, rows.Err()
	}
	for _, in := range sideInputs {
		names, defs, err := columns(in.table, false)
		if err != nil {
			return nil, nil, err
		}
		var keep []string
		for _, c := range in.cols {
			i := slices.Index(names, c)
			if i < 0 {
				return nil, nil, fmt.Errorf("%s has no column %s", in.table, c)
			}
			keep = append(keep, defs[i])
		}
		ddl = append(ddl, "CREATE TEMP TABLE "+pgx.Identifier{in.table}.Sanitize()+" ("+strings.Join(keep, ", ")+")")
	}
	outCols = map[string][]string{}
	for _, out := range sideOutputs {
		names, defs, err := columns(out, true)
		if err != nil {
			return nil, nil, err
		}
		rows, err := w.tx.Query(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY conname`, out)
		if err != nil {
			return nil, nil, fmt.Errorf("keys of %s: %w", out, err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, nil, fmt.Errorf("keys of %s: %w", out, err)
		}
		// ON CONFLICT in the query roll-ups needs the keys; the tile tables'
		// are dropped and rebuilt by derived_rebuild itself.
		ddl = append(ddl, "CREATE TEMP TABLE "+pgx.Identifier{out}.Sanitize()+" ("+strings.Join(append(defs, keys...), ", ")+")")
		outCols[out] = names
	}
	for _, v := range sideViews {
		var def string
		if err := w.tx.QueryRow(ctx, `SELECT pg_get_viewdef($1::regclass)`, v).Scan(&def); err != nil {
			return nil, nil, fmt.Errorf("definition of %s: %w", v, err)
		}
		ddl = append(ddl, "CREATE TEMP VIEW "+pgx.Identifier{v}.Sanitize()+" AS "+def)
	}
	return ddl, outCols, nil
}

// startSide copies the inputs to a second connection and starts derived_rebuild
// there. It returns nil, nil when the pool has no connection to spare: derived
// then runs in the main transaction as before.
func (w *writer) startSide(ctx context.Context) (*side, error) {
	if w.pool == nil || w.pool.Stat().AcquiredConns() >= w.pool.Config().MaxConns {
		return nil, nil
	}
	ddl, outCols, err := w.sideDDL(ctx)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := w.pool.Acquire(actx)
	cancel()
	if err != nil {
		w.o.Log.Warn("citygen: no second connection, derived tables in the main transaction", "err", err)
		return nil, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &side{conn: conn, cancel: cancel, outCols: outCols}
	fail := func(err error) (*side, error) {
		s.close(context.WithoutCancel(ctx))
		return nil, err
	}
	if s.tx, err = conn.Begin(sctx); err != nil {
		return fail(fmt.Errorf("side connection: begin: %w", err))
	}
	// A lock wait means derived_rebuild reached for a real table the main
	// transaction holds: fail rather than wait for its commit, which waits for us.
	if _, err := s.tx.Exec(sctx, "SET LOCAL lock_timeout = '10s'"); err != nil {
		return fail(fmt.Errorf("side connection: %w", err))
	}
	for _, q := range ddl {
		if _, err := s.tx.Exec(sctx, q); err != nil {
			return fail(fmt.Errorf("side connection: %s: %w", q, err))
		}
	}
	for _, in := range sideInputs {
		t, c0 := time.Now(), w.serverCPU()
		cols := identList(in.cols)
		tbl := pgx.Identifier{in.table}.Sanitize()
		if err := pipeCopy(sctx, w.tx.Conn().PgConn(), s.tx.Conn().PgConn(),
			"COPY (SELECT "+cols+" FROM "+tbl+") TO STDOUT (FORMAT binary)",
			"COPY pg_temp."+tbl+" ("+cols+") FROM STDIN (FORMAT binary)"); err != nil {
			return fail(fmt.Errorf("copy %s to the side connection: %w", in.table, err))
		}
		w.debugStep("citygen side copy", in.table, t, c0)
	}
	s.done = make(chan error, 1)
	go func() {
		t := time.Now()
		err := s.rebuild(sctx)
		s.seconds = time.Since(t).Seconds()
		s.done <- err
	}()
	return s, nil
}

// rebuild runs derived_rebuild on the copies and checks that it touched nothing else.
func (s *side) rebuild(ctx context.Context) error {
	for _, in := range sideInputs {
		if _, err := s.tx.Exec(ctx, "ANALYZE pg_temp."+pgx.Identifier{in.table}.Sanitize()); err != nil {
			return fmt.Errorf("side connection: analyze %s: %w", in.table, err)
		}
	}
	if _, err := s.tx.Exec(ctx, "SELECT derived_rebuild()"); err != nil {
		return fmt.Errorf("side connection: derived_rebuild: %w", err)
	}
	var touched string
	err := s.tx.QueryRow(ctx, `SELECT coalesce(string_agg(DISTINCT c.oid::regclass::text || ' (' || l.mode || ')', ', '), '')
		FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relpersistence <> 't'
		  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)`).Scan(&touched)
	if err != nil {
		return fmt.Errorf("side connection: locks: %w", err)
	}
	if touched != "" {
		return fmt.Errorf("side connection: derived_rebuild used tables that have no copy there (add them to citygen's sideInputs, sideViews or sideOutputs): %s", touched)
	}
	return nil
}

// wait returns derived_rebuild's outcome on the side connection.
func (s *side) wait() error {
	if !s.waited {
		s.err, s.waited = <-s.done, true
	}
	return s.err
}

// close ends the side transaction (it never commits) and returns the connection.
func (s *side) close(ctx context.Context) {
	if s.done != nil && !s.waited {
		select {
		case s.err = <-s.done:
			s.waited = true
		default:
			s.cancel() // the main transaction failed: stop the side's work
			s.wait()
		}
	}
	s.cancel()
	if s.tx != nil {
		_ = s.tx.Rollback(ctx)
	}
	s.conn.Release()
}

// finishSide takes the side connection's roll-ups into the main transaction: the
// real tables are emptied, their keys and indexes dropped, the rows streamed in
// and the keys and indexes built again, as derived_rebuild does in place.
func (w *writer) finishSide(ctx context.Context, s *side) error {
	if err := s.wait(); err != nil {
		return err
	}
	w.o.Log.Debug("citygen side derived_rebuild", "seconds", s.seconds)
	names := make([]string, len(sideOutputs))
	for i, t := range sideOutputs {
		names[i] = pgx.Identifier{t}.Sanitize()
	}
	if _, err := w.tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("empty the derived tables: %w", err)
	}
	var redo []string
	for _, t := range sideOutputs {
		var r []string
		if err := w.tx.QueryRow(ctx, "SELECT derived_drop_indexes($1::regclass)", t).Scan(&r); err != nil {
			return fmt.Errorf("drop indexes of %s: %w", t, err)
		}
		redo = append(redo, r...)
	}
	for i, t := range sideOutputs {
		t0, c0 := time.Now(), w.serverCPU()
		cols := identList(s.outCols[t])
		if err := pipeCopy(ctx, s.tx.Conn().PgConn(), w.tx.Conn().PgConn(),
			"COPY (SELECT "+cols+" FROM pg_temp."+names[i]+") TO STDOUT (FORMAT binary)",
			"COPY "+names[i]+" ("+cols+") FROM STDIN (FORMAT binary)"); err != nil {
			return fmt.Errorf("copy %s from the side connection: %w", t, err)
		}
		w.debugStep("citygen side result", t, t0, c0)
	}
	for _, q := range redo {
		t0, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		w.debugStep("citygen derived index", q, t0, c0)
	}
	return nil
}

func identList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// pipeCopy streams the output of a COPY … TO STDOUT on one connection into a
// COPY … FROM STDIN on another. If the receiving side fails, the sending COPY
// fails on its next write, which closes that connection: callers treat any
// error as fatal to both transactions.
func pipeCopy(ctx context.Context, from, to *pgconn.PgConn, out, in string) error {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		// CopyTo writes a row at a time; the pipe hands over whole buffers, so
		// the receiving COPY sends full messages and the goroutines meet rarely.
		bw := bufio.NewWriterSize(pw, 256<<10)
		_, err := from.CopyTo(ctx, bw, out)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
		errc <- err
	}()
	_, err := to.CopyFrom(ctx, pr, in)
	pr.CloseWithError(errReceiverDone)
	// The first failure is the cause: a sender's error reaches the receiver as
	// a failed read, a receiver's reaches the sender as errReceiverDone.
	if serr := <-errc; serr != nil && !errors.Is(serr, errReceiverDone) {
		return serr
	}
	return err
}

var errReceiverDone = errors.New("receiving COPY ended")
