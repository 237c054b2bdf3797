package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestLoadCancelledMidCopy cancels a load while rows are streaming into the
// staging table: the database must be as before, with no load_run either.
func TestLoadCancelledMidCopy(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	world(t, db)
	load(t, db, Options{Kind: "events", Path: "testdata/events.csv"})
	tables := []string{"event", "load_run", "load_reject", "address", "grid", "admin_area", "event_category"}
	before := map[string]int64{}
	for _, tb := range tables {
		before[tb] = count(t, db, "SELECT count(*) FROM "+tb)
	}

	// A FIFO lets the test hold the file open half-written, so the load is
	// certainly inside CopyFrom when it is cancelled.
	fifo := filepath.Join(t.TempDir(), "stream.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO support: %v", err)
	}
	writerDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(writerDone)
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		fmt.Fprintln(f, "id,category,reported_at,lon,lat")
		for i := range 5000 {
			fmt.Fprintf(f, "s%d,C01,2023-06-01 10:00:00,114.01,22.52\n", i)
		}
		<-stop // never finish the file: the load can only end by cancellation
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{Kind: "events", Path: fifo, Dataset: "stream", RejectsPath: filepath.Join(t.TempDir(), "r.csv"),
		Progress: func(p Progress) {
			if p.Phase == "reading" && p.Rows >= 1000 {
				cancel()
			}
		}}
	errc := make(chan error, 1)
	go func() { _, err := Load(ctx, db, o); errc <- err }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("load did not end after cancellation")
	}
	close(stop)
	<-writerDone
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("load error = %v, want context.Canceled", err)
	}
	for _, tb := range tables {
		if got := count(t, db, "SELECT count(*) FROM "+tb); got != before[tb] {
			t.Errorf("%s: %d rows after the cancelled load, %d before", tb, got, before[tb])
		}
	}
}

// TestInterruptedNamesTheCancellation holds the path the test above meets
// only sometimes: pgx reports a COPY cut short as the server's answer to its
// CopyFail, a PgError that does not wrap context.Canceled.
func TestInterruptedNamesTheCancellation(t *testing.T) {
	copyFail := &pgconn.PgError{Code: "57014", Message: "COPY from stdin failed: context canceled"}
	ctx, cancel := context.WithCancel(context.Background())
	if err := interrupted(ctx, copyFail); err != copyFail {
		t.Errorf("live context: got %v, want the database's error unchanged", err)
	}
	cancel()
	err := interrupted(ctx, fmt.Errorf("copy into staging table: %w", copyFail))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v does not match context.Canceled", err)
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "57014" {
		t.Errorf("cancelled context: %v lost the database's error", err)
	}
	if again := interrupted(ctx, err); again != err {
		t.Errorf("wrapped twice: %v", again)
	}
}
