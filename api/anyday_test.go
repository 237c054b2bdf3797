package api

import (
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/fixture"
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
			count := func(prefix string) (events, open, overdue int64) {
				for _, e := range city.Events {
					if len(e.GridCode) < len(prefix) || e.GridCode[:len(prefix)] != prefix || e.ReportedAt.Before(from) || !e.ReportedAt.Before(city.Now) {
						continue
					}
					events++
					if e.Open() {
						open++
						if e.Deadline.Before(city.Now) {
							overdue++
						}
					}
				}
				return
			}
			events, open, overdue := count("")
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
			events, open, overdue = count(grid)
			if l.Events.Total != events || l.Events.Open != open || l.Events.Overdue != overdue || !l.Events.To.Equal(city.Now) {
				t.Errorf("grid load events %+v, want %d %d %d up to %v", l.Events, events, open, overdue, city.Now)
			}
		})
	}
}
