package tiles_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

func count(t *testing.T, s *tiles.Service, layer string, z int) int {
	t.Helper()
	tile, err := s.Get(context.Background(), scope.System(), layer, at(testcity.Centre, z), tiles.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tile.Raw()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fc := range decode(t, raw) {
		for _, f := range fc.Features {
			if v, ok := f.Properties["events"].(float64); ok {
				n += int(v) // an events_h3 cell counts its events
			} else {
				n++
			}
		}
	}
	return n
}

// TestFreshAfterCommit: the very next request after a commit shows the new event,
// though the tile before it was cached.
func TestFreshAfterCommit(t *testing.T) { testFresh(t, tiles.Config{CacheBytes: 1 << 20}) }

// TestFreshUncached: without the tile cache too, since the H3 layers draw from
// aggregates held in memory.
func TestFreshUncached(t *testing.T) { testFresh(t, tiles.Config{}) }

func testFresh(t *testing.T, cfg tiles.Config) {
	s, conn := openCity(t, cfg)
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for _, layer := range []struct {
		name string
		z    int
	}{{"events", 15}, {"events_h3", 14}, {"events_h3", 12}, {"events_h3", 8}, {tiles.All, 15}, {tiles.All, 12}} {
		before := count(t, s, layer.name, layer.z)
		if again := count(t, s, layer.name, layer.z); again != before {
			t.Fatalf("%s: %d then %d without a write", layer.name, before, again)
		}
		hits := s.Stats().Hits
		if _, err := testcity.AddEvent(context.Background(), db, testcity.Centre); err != nil {
			t.Fatal(err)
		}
		if after := count(t, s, layer.name, layer.z); after != before+1 {
			t.Errorf("%s z%d: %d features after the insert committed, want %d", layer.name, layer.z, after, before+1)
		}
		if s.Stats().Hits != hits {
			t.Errorf("%s: served from the cache after a write", layer.name)
		}
	}
}

// TestTwoServers: two services on one database, trusting their version reads for an
// hour; a write through neither reaches both through NOTIFY.
func TestTwoServers(t *testing.T) {
	s1, conn := openCity(t, tiles.Config{CacheBytes: 1 << 20, VersionMaxAge: time.Hour})
	s2, err := tiles.Open(context.Background(), conn, tiles.Config{CacheBytes: 1 << 20, VersionMaxAge: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, s := range []*tiles.Service{s1, s2} {
		waitFor(t, "listener", s.Listening)
	}
	b1, b2 := count(t, s1, "events", 15), count(t, s2, "events", 15)
	n1, n2 := s1.Notifications(), s2.Notifications()
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	if _, err := testcity.AddEvent(context.Background(), db, testcity.Centre); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "notification 1", func() bool { return s1.Notifications() > n1 })
	waitFor(t, "notification 2", func() bool { return s2.Notifications() > n2 })
	if a := count(t, s1, "events", 15); a != b1+1 {
		t.Errorf("server 1: %d events, want %d", a, b1+1)
	}
	if a := count(t, s2, "events", 15); a != b2+1 {
		t.Errorf("server 2: %d events, want %d", a, b2+1)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFreshUnderLoad: while other requests keep the version rounds busy (the
// listener connection stays lent to them), each request after a commit still
// shows the new event, cached or not.
func TestFreshUnderLoad(t *testing.T) {
	for _, cfg := range []tiles.Config{{}, {CacheBytes: 1 << 20}} {
		t.Run(fmt.Sprintf("cache%d", cfg.CacheBytes), func(t *testing.T) {
			s, conn := openCity(t, cfg)
			db, err := pgxConnect(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(context.Background())
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait() // before openCity's cleanup closes the service
			defer stop()
			for i, layer := range []string{"events", "events_h3", "households_h3", "admin"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for ctx.Err() == nil {
						if _, err := s.Get(ctx, scope.System(), layer, at(testcity.Centre, 15-i), tiles.Filter{}); err != nil && ctx.Err() == nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			before, beforeH3 := count(t, s, "events", 15), count(t, s, "events_h3", 14)
			for i := range 20 {
				if _, err := testcity.AddEvent(context.Background(), db, testcity.Centre); err != nil {
					t.Fatal(err)
				}
				if n := count(t, s, "events", 15); n != before+i+1 {
					t.Fatalf("%d events after insert %d, want %d", n, i+1, before+i+1)
				}
				if n := count(t, s, "events_h3", 14); n != beforeH3+i+1 {
					t.Fatalf("events_h3 counts %d after insert %d, want %d", n, i+1, beforeH3+i+1)
				}
			}
		})
	}
}

// TestFreshAfterReconnect: when the database drops every connection (the listener
// and the pool's), the service reconnects and each request after a commit still
// shows the new event.
func TestFreshAfterReconnect(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	waitFor(t, "listener", s.Listening)
	before, beforeH3 := count(t, s, "events", 15), count(t, s, "events_h3", 14)
	for _, lent := range []bool{false, true} {
		if lent {
			// A request just before the drop: the listener has lent its
			// connection to the version rounds when it goes.
			count(t, s, "events_h3", 14)
		}
		if _, err := db.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`); err != nil {
			t.Fatal(err)
		}
		// The pool finds its connections dead one request at a time.
		waitFor(t, "a tile again", func() bool {
			_, err := s.Get(context.Background(), scope.System(), "events", at(testcity.Centre, 15), tiles.Filter{})
			return err == nil
		})
		if _, err := testcity.AddEvent(context.Background(), db, testcity.Centre); err != nil {
			t.Fatal(err)
		}
		before++
		if n := count(t, s, "events", 15); n != before {
			t.Fatalf("lent %v: %d events after the insert, want %d", lent, n, before)
		}
		beforeH3++
		if n := count(t, s, "events_h3", 14); n != beforeH3 {
			t.Fatalf("lent %v: events_h3 counts %d events after the insert, want %d", lent, n, beforeH3)
		}
		waitFor(t, "listener back", s.Listening)
	}
}
