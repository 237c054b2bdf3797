package hotspot_test

import (
	"context"
	"testing"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestScheduleAsApplicationRole: serve schedules the standard set on its own
// pool, the application role's, not the owner's; the set must run and store its
// runs there, as the whole city, under row-level security.
func TestScheduleAsApplicationRole(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	city := fixture.New()
	if err := city.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	svc := hotspot.New(app, hotspot.Config{Now: clock.Fixed(city.Now)})
	done := make(chan struct{})
	go func() { svc.Schedule(ctx, time.Hour); close(done) }()
	var runs, ok int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := owner.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'ok') FROM hotspot_run WHERE standard`).Scan(&runs, &ok); err != nil {
			t.Fatal(err)
		}
		if runs > 0 {
			break
		}
	}
	cancel()
	<-done
	if runs == 0 {
		t.Fatal("the scheduled standard set stored no run as the application role")
	}
	// The owner's run of the same set is the reference: as many runs.
	rep, err := hotspot.New(owner, hotspot.Config{Now: clock.Fixed(city.Now)}).RunStandard(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if runs != rep.Runs {
		t.Errorf("the application role's scheduled set stored %d runs, the owner's set has %d", runs, rep.Runs)
	}
}
