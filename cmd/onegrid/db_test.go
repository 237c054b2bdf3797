package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestCancelKeepsConnection: a cancelled query (a client that went away, Ctrl-C)
// is stopped in the database and its connection stays usable.
func TestCancelKeepsConnection(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	m.Log = slog.New(slog.DiscardHandler)
	m.Config.DatabaseURL = pgtest.ConnString(t)
	defer m.Close()
	ctx := context.Background()
	pool, err := m.openDB(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	// A lock the query waits for, so that it is still running when cancelled.
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx) //nolint:errcheck
	if _, err := lock.Exec(ctx, "LOCK TABLE event IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	c, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	pid := c.Conn().PgConn().PID()
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	var n int64
	err = c.QueryRow(qctx, "SELECT count(*) FROM event").Scan(&n)
	if err == nil || time.Since(t0) > 1500*time.Millisecond {
		t.Fatalf("query on a locked table: err %v after %v, want an error soon after 300 ms", err, time.Since(t0))
	}
	if c.Conn().IsClosed() {
		t.Fatal("the connection was closed by the cancel")
	}
	var again uint32
	if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&again); err != nil || again != pid {
		t.Fatalf("after the cancel: backend %d (%v), want the same backend %d", again, err, pid)
	}
	if !errors.Is(qctx.Err(), context.DeadlineExceeded) {
		t.Errorf("context: %v", qctx.Err())
	}
}
