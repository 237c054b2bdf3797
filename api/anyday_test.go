package api

import (
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

// TestRightOnAnyDay runs the fixture city's clock-relative checks (the
// overview's now and default window, the event summary and a grid's load over
// their default windows, overdue counts) with the city and the server's clock
// at the fixture's date, a year before the machine's date and a year after it.
// Expected values come from the fixture's Go values and the city's "today";
// anything that still read the machine's or the database's clock would count
// a different window or other overdue events.
func TestRightOnAnyDay(t *testing.T) {
	t.Parallel()
	wall := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		now  time.Time
	}{{"fixture date", fixture.Now}, {"a year before the machine's date", wall.AddDate(-1, 0, 0)}, {"a year after it", wall.AddDate(1, 0, 0)}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts, city := fixtureServerAt(t, qry.Config{}, fixture.NewAt(tc.now))
			var ov qry.Overview
			if code := getJSON(t, ts, "/api/v1/overview", &ov); code != 200 {
				t.Fatalf("overview: %d", code)
			}
			from := city.Now.Add(-30 * 24 * time.Hour)
			if !ov.Now.Equal(city.Now) || !ov.Window.From.Equal(from) || !ov.Window.To.Equal(city.Now) {
				t.Errorf("overview now %v window %v..%v, want %v and the 30 days before", ov.Now, ov.Window.From, ov.Window.To, city.Now)
			}
			keys := keysOf(t, city)
			count := func(prefix string) (events, open, overdue sdctest.Set) {
				for _, e := range city.Events {
					if len(e.GridCode) < len(prefix) || e.GridCode[:len(prefix)] != prefix || e.ReportedAt.Before(from) || !e.ReportedAt.Before(city.Now) {
						continue
					}
					k := keys.ev[e.ID]
					events.Add(k)
					if e.Open() {
						open.Add(k)
						if e.Deadline.Before(city.Now) {
							overdue.Add(k)
						}
					}
				}
				return
			}
			evSet, openSet, overdueSet := count("")
			events, open, overdue := evSet.N, openSet.N, overdueSet.N
			if events == 0 || open == 0 || overdue == 0 {
				t.Fatalf("fixture: %d events, %d open, %d overdue in the last 30 days: the checks below would prove nothing", events, open, overdue)
			}
			var s qry.EventSummary
			if code := getJSON(t, ts, "/api/v1/events/summary", &s); code != 200 {
				t.Fatalf("summary: %d", code)
			}
			if s.Events != events || s.Open != open || s.Overdue != overdue {
				t.Errorf("summary %d events %d open %d overdue, want %d %d %d", s.Events, s.Open, s.Overdue, events, open, overdue)
			}
			const grid = "440304002001001"
			var l qry.GridLoad
			if code := getJSON(t, ts, "/api/v1/grids/"+grid+"/load", &l); code != 200 {
				t.Fatalf("grid load: %d", code)
			}
			// Released counts: compared as internal/sdctest releases the same events.
			evSet, openSet, overdueSet = count(grid)
			we, wo, wd := sdctest.Count(5, evSet, sdctest.Events), sdctest.Count(5, openSet, sdctest.Events), sdctest.Count(5, overdueSet, sdctest.Events)
			if !eqCount(l.Events.Total, we) || !eqCount(l.Events.Open, wo) || !eqCount(l.Events.Overdue, wd) || !l.Events.To.Equal(city.Now) {
				t.Errorf("grid load events %s %s %s, want %s %s %s (of %d %d %d) up to %v", show(l.Events.Total), show(l.Events.Open), show(l.Events.Overdue),
					show(we), show(wo), show(wd), evSet.N, openSet.N, overdueSet.N, city.Now)
			}
		})
	}
}
