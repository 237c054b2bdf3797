package tiles_test

import (
	"context"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/tiles"
)

func count(t *testing.T, s *tiles.Service, layer string, z int) int {
	t.Helper()
	tile, err := s.Get(context.Background(), layer, at(testcity.Centre, z), tiles.Filter{})
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
