package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestKilledLoaderReleasesTable kills (SIGKILL) a real `onegrid ingest`
// process while its INSERT runs, with the event table locked exclusively (bulk
// mode drops and rebuilds its indexes), and then expects the table readable
// within 5 s by a query that waits at most 100 ms for a lock, and holding no
// row of the killed load. A trigger that sleeps a millisecond a row keeps the
// insert running long enough to be caught: without the backend noticing that
// its client has gone, it would hold the lock for 20 s more.
func TestKilledLoaderReleasesTable(t *testing.T) {
	url := pgtest.ConnString(t)
	ctx := context.Background()
	dir := t.TempDir()
	bin := buildOnegrid(t)
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, q := range []string{
		`INSERT INTO event_category (code, level, name) VALUES ('K1', 1, 'kill test')`,
		`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$`,
		`CREATE TRIGGER slow_insert BEFORE INSERT ON event FOR EACH ROW EXECUTE FUNCTION slow_insert()`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const rows = 20000
	file := filepath.Join(dir, "killed.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,category,reported_at,lon,lat")
	for i := range rows {
		fmt.Fprintf(w, "k%d,K1,2026-01-01 08:00:00,%.6f,%.6f\n", i, 114+float64(i%100)/1000, 22.5+float64(i/100)/10000)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	cmd := exec.Command(bin, "--database-url", url, "--log-level", "warn", "ingest", "--bulk", "on", "events", file)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	// Wait for the load's INSERT to run.
	deadline := time.Now().Add(60 * time.Second)
	var pid int
	for pid == 0 {
		err := db.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%INSERT INTO event %'`).Scan(&pid)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the load's insert did not start within 60 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var lockMode string
	if err := db.QueryRow(ctx, `SELECT string_agg(mode, ',') FROM pg_locks WHERE pid = $1 AND relation = 'event'::regclass AND granted`, pid).Scan(&lockMode); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lockMode, "AccessExclusiveLock") {
		t.Fatalf("the loader holds %q on event, want AccessExclusiveLock (bulk mode)", lockMode)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()

	var n int64
	var lastErr error
	for {
		lastErr = readEvents(ctx, db, &n)
		if lastErr == nil {
			break
		}
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("event still not readable 5 s after the loader was killed: %v", lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("event readable %v after the kill", time.Since(killed).Round(time.Millisecond))
	if n != 0 {
		t.Errorf("%d rows of the killed load in event, want 0", n)
	}
	// The backend releases its locks as it aborts and leaves pg_stat_activity
	// when it exits, a moment later: it must be gone within the same 5 s.
	for {
		var running int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running == 0 {
			break
		}
		if time.Since(killed) > 5*time.Second {
			t.Fatalf("the killed loader's backend %d still exists 5 s after the kill", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readEvents counts the killed load's rows, waiting at most 100 ms for a lock.
func readEvents(ctx context.Context, db *pgx.Conn, n *int64) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '100ms'`); err != nil {
		return err
	}
	err = tx.QueryRow(ctx, `SELECT count(*) FROM event WHERE dataset = 'killed'`).Scan(n)
	var pe *pgconn.PgError
	if err != nil && !(errors.As(err, &pe) && pe.Code == "55P03") {
		return fmt.Errorf("unexpected error: %w", err)
	}
	return err
}

// buildOnegrid builds this command into the test's temporary directory, for
// tests that need a real process.
func buildOnegrid(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "onegrid")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
