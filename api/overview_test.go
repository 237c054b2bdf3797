package api

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

func TestOverview(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	var got qry.Overview
	if code := getJSON(t, ts, "/api/v1/overview", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	if got.Bounds == nil || *got.Bounds != [4]float64{114.00, 22.50, 114.04, 22.52} {
		t.Errorf("bounds %v, want the district's", got.Bounds)
	}
	if len(got.Units) != len(city.Areas) {
		t.Errorf("%d units, want %d", len(got.Units), len(city.Areas))
	}
	byCode := map[string]qry.OverviewUnit{}
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

// TestOverviewAreas: with a second city loaded, the overview lists two areas,
// the one with more households first, each with its own extent and figures.
func TestOverviewAreas(t *testing.T) {
	t.Parallel()
	db, app := pgtest.Pair(t)
	city := fixture.New()
	town := fixture.NewTown(city.Now)
	for _, c := range []*fixture.City{city, town} {
		if err := c.Load(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
	ts := serveAuthed(t, Config{Now: clock.Fixed(city.Now)}, db, app)
	var got qry.Overview
	if code := getJSON(t, ts, "/api/v1/overview", &got); code != 200 {
		t.Fatalf("status %d", code)
	}
	keys, err := sdctest.Keys(context.Background(), db, "household")
	if err != nil {
		t.Fatal(err)
	}
	from := city.Now.Add(-30 * 24 * time.Hour)
	want := func(c *fixture.City, code string) qry.OverviewArea {
		a := qry.OverviewArea{Code: code, Name: c.Areas[0].Name, Roots: []qry.OverviewUnit{{Code: c.Areas[0].Code, Level: "district", Name: c.Areas[0].Name}}}
		b := c.Areas[0].Bound
		a.Bounds = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		// The area's households as the disclosure-control rule releases them.
		var hh sdctest.Set
		for _, h := range c.Households {
			hh.Add(keys[h.ID])
		}
		a.Households = sdctest.Count(5, hh, sdctest.Households)
		if a.Households == nil {
			t.Fatalf("area %s: %d households, below the threshold", code, hh.N)
		}
		// An administrator reads event rows: the event counts are exact.
		var events, open, overdue int64
		for _, e := range c.Events {
			if !e.ReportedAt.Before(from) && e.ReportedAt.Before(city.Now) {
				events++
				if e.Open() {
					open++
					if e.Deadline.Before(city.Now) {
						overdue++
					}
				}
			}
		}
		a.Events, a.Open, a.Overdue = &events, &open, &overdue
		return a
	}
	wants := []qry.OverviewArea{want(city, "4403"), want(town, "3301")}
	if len(got.Areas) != 2 {
		t.Fatalf("areas %+v, want two", got.Areas)
	}
	for i, w := range wants {
		g := got.Areas[i]
		if g.Code != w.Code || g.Name != w.Name || g.Bounds != w.Bounds || !eqCount(g.Households, w.Households) ||
			!eqCount(g.Events, w.Events) || !eqCount(g.Open, w.Open) || !eqCount(g.Overdue, w.Overdue) {
			t.Errorf("area %d: %+v (households %s, events %s %s %s), want %+v (households %s, events %s %s %s)", i, g, show(g.Households), show(g.Events), show(g.Open), show(g.Overdue),
				w, show(w.Households), show(w.Events), show(w.Open), show(w.Overdue))
		}
		if len(g.Roots) != 1 || g.Roots[0].Code != w.Roots[0].Code || g.Roots[0].Level != "district" || g.Roots[0].Name != w.Name {
			t.Errorf("area %s roots %+v, want %+v", g.Code, g.Roots, w.Roots)
		}
	}
	if *wants[1].Events == 0 || *wants[1].Households >= *wants[0].Households {
		t.Fatal("the town should have events in the window and fewer households than the city")
	}
	if got.Bounds == nil || *got.Bounds != wants[0].Bounds {
		t.Errorf("bounds %v, want the first area's %v", got.Bounds, wants[0].Bounds)
	}
	// A second district of the first city joins its area; a root unit without
	// a Chinese admin code is an area of its own.
	if _, err := db.Exec(context.Background(), `INSERT INTO admin_area (code, level, name, geom) VALUES
		('440303000000', 'district', '罗湖区', ST_Multi(ST_MakeEnvelope(114.04, 22.50, 114.06, 22.53, 4326))),
		('SF0000', 'city', 'San Francisco', ST_Multi(ST_MakeEnvelope(-122.52, 37.70, -122.35, 37.83, 4326)))`); err != nil {
		t.Fatal(err)
	}
	var three qry.Overview
	if code := getJSON(t, ts, "/api/v1/overview", &three); code != 200 {
		t.Fatalf("status %d", code)
	}
	var codes []string
	for _, a := range three.Areas {
		codes = append(codes, a.Code)
	}
	if !slices.Equal(codes, []string{"4403", "3301", "SF0000"}) {
		t.Fatalf("areas %v, want 4403, 3301, SF0000", codes)
	}
	if a := three.Areas[0]; a.Name != "罗湖区、福田区" || len(a.Roots) != 2 || a.Bounds != [4]float64{114.00, 22.50, 114.06, 22.53} || *a.Households != *wants[0].Households {
		t.Errorf("Shenzhen with two districts: %+v", a)
	}
	if a := three.Areas[2]; a.Name != "San Francisco" || a.Households == nil || *a.Households != 0 || a.Events == nil || *a.Events != 0 || a.Bounds != [4]float64{-122.52, 37.70, -122.35, 37.83} {
		t.Errorf("San Francisco: %+v", a)
	}
	// The panel's summary of the second area counts as its entry does.
	var s qry.EventSummary
	if code := getJSON(t, ts, "/api/v1/events/summary?unit=3301", &s); code != 200 || s.Events != *wants[1].Events || s.Open != *wants[1].Open {
		t.Errorf("summary of 3301: %d %+v, want %d events %d open", code, s, *wants[1].Events, *wants[1].Open)
	}
}

func TestAreaKey(t *testing.T) {
	for code, want := range map[string]string{
		"440304000000": "4403", "440300000000": "4403", "440000000000": "44", "110101000000": "1101",
		"SF0000": "SF0000", "440304": "440304", "44030400000X": "44030400000X",
	} {
		if got := qry.AreaKey(code); got != want {
			t.Errorf("AreaKey(%s) = %s, want %s", code, got, want)
		}
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

// TestOverviewJurisdiction: for a caller whose jurisdiction is not everything,
// the areas are the units of the jurisdiction, each with its own extent and
// its own figures (counted here from the fixture's Go values); everything's
// callers keep the root areas.
func TestOverviewJurisdiction(t *testing.T) {
	t.Parallel()
	owner, app := pgtest.Pair(t)
	city := fixture.New()
	if err := city.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	ts := serveAuthed(t, Config{Now: clock.Fixed(city.Now)}, owner, app)
	from := city.Now.Add(-30 * 24 * time.Hour)
	hhKeys, err := sdctest.Keys(context.Background(), owner, "household")
	if err != nil {
		t.Fatal(err)
	}
	evKeys, err := sdctest.Keys(context.Background(), owner, "event")
	if err != nil {
		t.Fatal(err)
	}
	// want is the area of a unit: its name, extent (the current grid version,
	// or the admin area) and the households and events whose code it prefixes:
	// households as the disclosure-control rule releases them (computed by
	// internal/sdctest), events exact for a caller who reads event rows (exact)
	// and released too for any other.
	want := func(code, prefix string, exact bool) qry.OverviewArea {
		a := qry.OverviewArea{Code: prefix}
		for _, x := range city.Areas {
			if x.Code == code {
				a.Name, a.Bounds = x.Name, [4]float64{x.Bound.Min[0], x.Bound.Min[1], x.Bound.Max[0], x.Bound.Max[1]}
			}
		}
		for _, g := range city.Grids {
			if a.Name == "" && g.Code == code && g.ValidTo == nil {
				a.Name, a.Bounds = g.Name, [4]float64{g.Bound.Min[0], g.Bound.Min[1], g.Bound.Max[0], g.Bound.Max[1]}
			}
		}
		var hh, events, open, overdue sdctest.Set
		for _, x := range city.Households {
			if strings.HasPrefix(x.GridCode, prefix) {
				hh.Add(hhKeys[x.ID])
			}
		}
		a.Households = sdctest.Count(5, hh, sdctest.Households)
		for _, e := range city.Events {
			at := e.GridCode
			if at == "" {
				at = e.AdminCode
			}
			if strings.HasPrefix(at, prefix) && !e.ReportedAt.Before(from) && e.ReportedAt.Before(city.Now) {
				k := evKeys[e.ID]
				events.Add(k)
				if e.Open() {
					open.Add(k)
					if e.Deadline.Before(city.Now) {
						overdue.Add(k)
					}
				}
			}
		}
		for _, f := range []struct {
			set sdctest.Set
			to  **int64
		}{{events, &a.Events}, {open, &a.Open}, {overdue, &a.Overdue}} {
			n := f.set.N
			switch {
			case exact || n == 0:
				*f.to = &n
			default:
				*f.to = sdctest.Count(5, f.set, sdctest.Events)
			}
		}
		return a
	}
	for _, tc := range []struct {
		name  string
		roles []auth.Role
		units []string
		want  []qry.OverviewArea
	}{
		{"grid worker", []auth.Role{auth.GridWorker}, []string{fixture.GridA}, []qry.OverviewArea{want(fixture.GridA, fixture.GridA, true)}},
		{"street officer", []auth.Role{auth.Officer}, []string{fixture.StreetNY}, []qry.OverviewArea{want(fixture.StreetNY, "440304002", true)}},
		// The analyst counts no rows: every figure is released by the rule.
		{"analyst of a street", []auth.Role{auth.Analyst}, []string{fixture.StreetYL}, []qry.OverviewArea{want(fixture.StreetYL, "440304001", false)}},
		// Two units, one inside the other counted once, the larger first by households.
		{"officer of two communities", []auth.Role{auth.Officer}, []string{"440304001001", fixture.Community, fixture.GridA},
			[]qry.OverviewArea{want(fixture.Community, fixture.Community, true), want("440304001001", "440304001001", true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := testUser(t, owner, city.Now, strings.ReplaceAll(tc.name, " ", "_"), tc.roles, tc.units, nil)
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/overview", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var got qry.Overview
			if code := decode(t, resp, &got); code != 200 {
				t.Fatalf("status %d", code)
			}
			if len(got.Areas) != len(tc.want) {
				t.Fatalf("areas %+v, want %+v", got.Areas, tc.want)
			}
			for i, w := range tc.want {
				g := got.Areas[i]
				if w.Name == "" || w.Households == nil || *w.Households == 0 || w.Events == nil || *w.Events == 0 {
					t.Fatalf("the fixture gives %s nothing to count: the test proves nothing", w.Code)
				}
				if g.Code != w.Code || g.Name != w.Name || g.Bounds != w.Bounds || !eqCount(g.Households, w.Households) ||
					!eqCount(g.Events, w.Events) || !eqCount(g.Open, w.Open) || !eqCount(g.Overdue, w.Overdue) {
					t.Errorf("area %d: %+v (households %s, events %s %s %s), want %+v (households %s, events %s %s %s)", i, g, show(g.Households), show(g.Events), show(g.Open), show(g.Overdue),
						w, show(w.Households), show(w.Events), show(w.Open), show(w.Overdue))
				}
				if len(g.Roots) != 1 || g.Roots[0].Name != w.Name || !strings.HasPrefix(g.Roots[0].Code, w.Code) {
					t.Errorf("area %s roots %+v", g.Code, g.Roots)
				}
			}
			if got.Bounds == nil || *got.Bounds != tc.want[0].Bounds {
				t.Errorf("bounds %v, want the first area's %v", got.Bounds, tc.want[0].Bounds)
			}
			// The event summary of an area counts as its entry does (the
			// analyst may not ask it: it counts rows).
			for _, w := range tc.want {
				req, _ := http.NewRequest("GET", ts.URL+"/api/v1/events/summary?unit="+w.Code, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var s qry.EventSummary
				code := decode(t, resp, &s)
				resp.Body.Close()
				switch {
				case slices.Contains(tc.roles, auth.Analyst):
					if code != http.StatusForbidden {
						t.Errorf("summary of %s for an analyst: %d, want 403", w.Code, code)
					}
				case code != 200 || s.Events != *w.Events || s.Open != *w.Open || s.Overdue != *w.Overdue:
					t.Errorf("summary of %s: %d %+v, want %d events, %d open, %d overdue", w.Code, code, s, *w.Events, *w.Open, *w.Overdue)
				}
			}
		})
	}
}
