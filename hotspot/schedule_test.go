package hotspot_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
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
	// The owner's run of the same set is the reference: as many runs, and as
	// many cells stored.
	bg := context.Background()
	var last int64
	if err := owner.QueryRow(bg, `SELECT max(id) FROM hotspot_run`).Scan(&last); err != nil {
		t.Fatal(err)
	}
	rep, err := hotspot.New(owner, hotspot.Config{Now: clock.Fixed(city.Now)}).RunStandard(bg)
	if err != nil {
		t.Fatal(err)
	}
	if runs != rep.Runs {
		t.Errorf("the application role's scheduled set stored %d runs, the owner's set has %d", runs, rep.Runs)
	}
	// The fixture's last 30 days hold too few events for cells; a year holds
	// enough. Stored as the application role, every cell is kept.
	res, err := hotspot.New(owner, hotspot.Config{Now: clock.Fixed(city.Now)}).Analyze(bg,
		hotspot.Params{Res: 9, K: 1, By: "count", From: city.Now.AddDate(-1, 0, 0), To: city.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) == 0 {
		t.Fatalf("a year of the fixture's events gives no cells (%s): the test proves nothing", res.Status)
	}
	err = scope.Run(bg, app, scope.System(), func(tx pgx.Tx) error {
		_, err := svc.On(tx).Store(bg, res, false)
		return err
	})
	if err != nil {
		t.Fatalf("store a run's cells as the application role: %v", err)
	}
	var stored int
	if err := owner.QueryRow(bg, `SELECT count(*) FROM hotspot_cell WHERE run_id = $1`, res.RunID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(res.Cells) {
		t.Errorf("%d cells stored, the run has %d", stored, len(res.Cells))
	}
}
