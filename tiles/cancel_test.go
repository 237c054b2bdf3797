package tiles_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// TestCancelKeepsConnection: a client that goes away cancels its tile's query in
// the database, and the pool keeps the connection it ran on. Map clients abort
// tile requests on every pan; discarding a connection each time would mean a new
// backend, whose first queries also pay for its empty catalogue caches.
func TestCancelKeepsConnection(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	ctx := context.Background()
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	tile := at(testcity.Centre, 15)
	if _, err := s.Render(ctx, scope.System(), "events", tile, tiles.Filter{}); err != nil {
		t.Fatal(err)
	}
	backends := func() []int32 {
		rows, _ := db.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = 'onegrid-tiles' AND backend_type = 'client backend' ORDER BY pid`)
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	before := backends()

	// Hold a lock the events query waits for, so it is still running when the
	// client goes away.
	lock, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close(ctx)
	tx, err := lock.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE event IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.Render(rctx, scope.System(), "events", tile, tiles.Filter{Category: "01"})
		done <- err
	}()
	// Wait until the query waits on the lock, then go away.
	waiting := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !waiting; time.Sleep(10 * time.Millisecond) {
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'onegrid-tiles' AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if !waiting {
		t.Fatal("the tile query never waited on the lock")
	}
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Render after the client left: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Render still running 5 s after its client left")
	}
	// The database stopped the query while the lock was still held.
	var stillWaiting bool
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'onegrid-tiles' AND state = 'active')`).Scan(&stillWaiting); err != nil {
			t.Fatal(err)
		}
		if !stillWaiting || time.Now().After(deadline) {
			break
		}
	}
	if stillWaiting {
		t.Errorf("the tile query still runs %v after its client left", time.Since(t0))
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Every connection is still there, and serves tiles.
	for range 8 {
		if _, err := s.Render(ctx, scope.System(), "events", tile, tiles.Filter{Category: "02"}); err != nil {
			t.Fatal(err)
		}
	}
	if after := backends(); !slices.Equal(before, after) {
		t.Errorf("tile pool backends %v before the cancel, %v after: a connection was dropped", fmt.Sprint(before), fmt.Sprint(after))
	}
}
