package api

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

func TestOverview(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	var got overview
	if code := getJSON(t, ts, "/api/v1/overview", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Bounds == nil || *got.Bounds != [4]float64{114.00, 22.50, 114.04, 22.52} {
		t.Errorf("bounds %v, want the district's", got.Bounds)
	}
	if len(got.Units) != len(city.Areas) {
		t.Errorf("%d units, want %d", len(got.Units), len(city.Areas))
	}
	byCode := map[string]overviewUnit{}
	for _, u := range got.Units {
		byCode[u.Code] = u
	}
	for _, a := range city.Areas {
		if u := byCode[a.Code]; u.Name != a.Name || u.Level != a.Level {
			t.Errorf("unit %s = %+v, want %s %s", a.Code, u, a.Level, a.Name)
		}
	}
	if len(got.Categories) != len(city.Categories) || got.Categories[0].NameEn != "City appearance" {
		t.Errorf("categories %+v", got.Categories)
	}
	want := map[string]bool{}
	for _, h := range city.Households {
		for _, tag := range h.Tags {
			want[tag] = true
		}
	}
	if len(got.Tags) != len(want) {
		t.Errorf("tags %v, want %v", got.Tags, want)
	}
}

func TestBuildingAndEventSummary(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	keys := keysOf(t, city)
	// Every building: its households and people as internal/sdctest releases them.
	for _, b := range city.Buildings {
		var got qry.Building
		if code := getJSON(t, ts, "/api/v1/buildings/"+itoa(b.ID), &got); code != 200 {
			t.Fatalf("status %d", code)
		}
		var hh sdctest.Set
		var people int64
		for _, h := range city.Households {
			for _, a := range city.Addresses {
				if a.ID == h.AddressID && a.ParentID == b.AddressID {
					hh.Add(keys.hh[h.ID])
					people += int64(h.Members)
				}
			}
		}
		wh, wp := sdctest.Count(5, hh, sdctest.Households), sdctest.Sum(5, people, hh, sdctest.People)
		if !eqCount(got.Households, wh) || !eqCount(got.People, wp) || got.AddressID == nil || *got.AddressID != b.AddressID {
			t.Errorf("building %d: households %s people %s, want %s %s (of %d, %d)", b.ID, show(got.Households), show(got.People), show(wh), show(wp), hh.N, people)
		}
	}
	for _, bad := range []string{"x", "0", "-3"} {
		if code := getJSON(t, ts, "/api/v1/buildings/"+bad, nil); code != 400 {
			t.Errorf("building %q: %d, want 400", bad, code)
		}
	}
	if code := getJSON(t, ts, "/api/v1/buildings/999999", nil); code != 404 {
		t.Errorf("missing building: %d, want 404", code)
	}

	from, to := "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"
	for _, unit := range []string{"", "440304000000", "440304002000", "440304001001", "440304002001001"} {
		t.Run("summary "+unit, func(t *testing.T) {
			var s qry.EventSummary
			if code := getJSON(t, ts, "/api/v1/events/summary"+qs("unit", unit, "from", from, "to", to, "severity", "general,urgent"), &s); code != 200 {
				t.Fatalf("status %d", code)
			}
			var events, open, overdue, due, onTime int64
			f, tt := mustTime(from), mustTime(to)
			for _, e := range city.Events {
				prefix := unit // zero padding off, computed here rather than by the code under test
				if strings.HasSuffix(unit, "000000") {
					prefix = unit[:6]
				} else if strings.HasSuffix(unit, "000") {
					prefix = unit[:9]
				}
				if e.ReportedAt.Before(f) || !e.ReportedAt.Before(tt) || e.Severity == "important" || len(e.GridCode) < len(prefix) || e.GridCode[:len(prefix)] != prefix {
					continue
				}
				events++
				if e.ClosedAt != nil {
					due++ // every fixture event has a deadline
					if !e.ClosedAt.After(e.Deadline) {
						onTime++
					}
				}
				if e.Open() {
					open++
					if e.Deadline.Before(city.Now) {
						overdue++
					}
				}
			}
			if s.Events != events || s.Open != open || s.Overdue != overdue {
				t.Errorf("summary %+v, want events %d open %d overdue %d", s, events, open, overdue)
			}
			switch {
			case due < 5 && s.ClosedOnTimeShare != nil:
				t.Errorf("closed-on-time share %v over %d closed events, want suppressed", *s.ClosedOnTimeShare, due)
			case due >= 5 && (s.ClosedOnTimeShare == nil || math.Abs(*s.ClosedOnTimeShare-float64(onTime)/float64(due)) > 1e-12):
				t.Errorf("closed-on-time share %v, want %d/%d", s.ClosedOnTimeShare, onTime, due)
			}
		})
	}
	if code := getJSON(t, ts, "/api/v1/events/summary?severity=big", nil); code != 400 {
		t.Errorf("bad severity: %d, want 400", code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
