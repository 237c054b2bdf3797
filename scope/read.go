package scope

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Batcher sends a batch: a pool, a connection or a transaction.
type Batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Read runs fn with a database handle on which every statement is sent in one
// round trip together with the scope's identity, and runs as its own implicit
// transaction (what Queue does for the tile path). A read-only request thus
// pays no BEGIN and no COMMIT for row-level security: a request of one query
// costs the one round trip it cost before. Under READ COMMITTED every
// statement of an explicit transaction takes its own snapshot anyway, so a
// reader sees nothing different; only writes that must be atomic together need
// Run.
func Read(ctx context.Context, db Batcher, s Scope, fn func(db ReadDB) error) error {
	return fn(ReadDB{db: db, s: s})
}

// ReadDB is the handle Read gives: Exec, Query, QueryRow and SendBatch, each
// carrying the identity. Like a transaction it serves one statement at a time
// when db is a connection; over a pool each statement takes a connection of
// its own until its rows are closed.
type ReadDB struct {
	db Batcher
	s  Scope
}

// FreshPlan, given as a statement's first argument, has Read plan the
// statement for its own values each time instead of with the prepared
// statement's generic plan (plan_cache_mode force_custom_plan, for that
// statement only). A statement over a time window of events needs it: under a
// jurisdiction's policies PostgreSQL's generic plan, blind to the window, can
// be several times slower than the custom plans it is compared with. Elsewhere
// (a pool, a transaction) pgx takes it as a query option that changes nothing.
var FreshPlan pgx.QueryRewriter = freshPlan{}

type freshPlan struct{}

func (freshPlan) RewriteQuery(_ context.Context, _ *pgx.Conn, sql string, args []any) (string, []any, error) {
	return sql, args, nil
}

// send queues the identity and then one statement, sends them, and reads the
// identity's result, so the caller reads the statement's first.
func (r ReadDB) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	fresh := len(args) > 0 && args[0] == FreshPlan
	if fresh {
		args = args[1:]
	}
	if err := r.s.queue(b, fresh); err != nil {
		return nil, err
	}
	b.Queue(sql, args...)
	return r.sendBatch(ctx, b)
}

// sendBatch sends b, whose first statement is the identity, and reads the
// identity's result.
func (r ReadDB) sendBatch(ctx context.Context, b *pgx.Batch) (pgx.BatchResults, error) {
	br := r.db.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

// Exec runs one statement with the identity.
func (r ReadDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, err := r.send(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	return tag, errors.Join(err, br.Close())
}

// Query runs one query with the identity; closing its rows ends the statement.
func (r ReadDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, err := r.send(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &readRows{Rows: rows, br: br}, nil
}

// QueryRow runs one query with the identity; Scan ends the statement.
func (r ReadDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, err := r.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return readRow{row: br.QueryRow(), br: br}
}

// SendBatch sends b after the identity, in the same round trip and implicit
// transaction; the results start with b's first statement.
func (r ReadDB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	nb := &pgx.Batch{}
	if err := r.s.Queue(nb); err != nil {
		return errResults{err}
	}
	nb.QueuedQueries = append(nb.QueuedQueries, b.QueuedQueries...)
	br, err := r.sendBatch(ctx, nb)
	if err != nil {
		return errResults{err}
	}
	return br
}

// readRows closes the batch with the rows, so the connection goes back.
type readRows struct {
	pgx.Rows
	br  pgx.BatchResults
	err error
}

// Next closes the batch after the last row, as pgx closes rows then: callers
// that read to the end need not call Close.
func (r *readRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *readRows) Close() {
	if r.br == nil {
		return
	}
	r.Rows.Close()
	r.err = r.br.Close()
	r.br = nil
}

func (r *readRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

type readRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r readRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errResults struct{ err error }

func (e errResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errResults) Query() (pgx.Rows, error)         { return nil, e.err }
func (e errResults) QueryRow() pgx.Row                { return errRow(e) }
func (e errResults) Close() error                     { return e.err }
func (e errResults) Tx() pgx.Tx                       { return nil }
