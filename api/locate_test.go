package api

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	qry "github.com/onegrid/onegrid/query"
)

// expectUnit computes, from the fixture's rectangles, the unit of a level that
// holds p at t under the documented rule: boundaries are closed, and on a shared
// boundary the smallest code wins.
func expectGrid(city *fixture.City, p orb.Point, t *time.Time, level string) string {
	best := ""
	for _, g := range city.Grids {
		if g.Level != level {
			continue
		}
		if t == nil && g.ValidTo != nil || t != nil && !g.ValidAt(*t) {
			continue
		}
		if covers(g.Bound, p) && (best == "" || g.Code < best) {
			best = g.Code
		}
	}
	return best
}

func expectArea(city *fixture.City, p orb.Point, level string) string {
	best := ""
	for _, a := range city.Areas {
		if a.Level == level && covers(a.Bound, p) && (best == "" || a.Code < best) {
			best = a.Code
		}
	}
	return best
}

func covers(b orb.Bound, p orb.Point) bool {
	return p[0] >= b.Min[0] && p[0] <= b.Max[0] && p[1] >= b.Min[1] && p[1] <= b.Max[1]
}

func TestLocate(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	before := fixture.Redrawn.Add(-24 * time.Hour)
	cases := []struct {
		name string
		p    orb.Point
		at   *time.Time
	}{
		{"inside a micro-grid", orb.Point{114.0031, 22.5071}, nil},
		{"on the boundary between two micro-grids", orb.Point{114.005, 22.51}, nil},
		{"on the boundary between two communities and streets", orb.Point{114.02, 22.505}, nil},
		{"on a corner of four micro-grids", orb.Point{114.03, 22.51}, nil},
		{"on the outer edge of the district", orb.Point{114.00, 22.50}, nil},
		{"north half of 南园 now", orb.Point{114.025, 22.515}, nil},
		{"north half of 南园 before the redraw", orb.Point{114.025, 22.515}, &before},
		{"before any grid existed", orb.Point{114.025, 22.515}, ptr(fixture.Start.Add(-time.Hour))},
		{"outside every area", orb.Point{113.5, 22.0}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := qs("lon", fmt.Sprint(tc.p[0]), "lat", fmt.Sprint(tc.p[1]))
			if tc.at != nil {
				path += "&at=" + tc.at.Format(time.RFC3339)
			}
			var loc qry.Location
			if code := get(t, ts, "/api/v1/locate"+path, &loc); code != 200 {
				t.Fatalf("status %d", code)
			}
			for _, c := range []struct {
				level string
				got   *qry.Unit
				want  string
			}{
				{"district", loc.District, expectArea(city, tc.p, "district")},
				{"street", loc.Street, expectArea(city, tc.p, "street")},
				{"community", loc.Community, expectArea(city, tc.p, "community")},
				{"grid", loc.Grid, expectGrid(city, tc.p, tc.at, "grid")},
				{"micro_grid", loc.MicroGrid, expectGrid(city, tc.p, tc.at, "micro_grid")},
			} {
				got := ""
				if c.got != nil {
					got = c.got.Code
				}
				if got != c.want {
					t.Errorf("%s = %q, want %q", c.level, got, c.want)
				}
			}
			if tc.at != nil && loc.MicroGrid != nil {
				for _, g := range city.Grids {
					if g.Code == loc.MicroGrid.Code && g.ValidAt(*tc.at) && *loc.MicroGrid.Version != g.Version {
						t.Errorf("micro-grid version %d, want %d", *loc.MicroGrid.Version, g.Version)
					}
				}
			}
			if expectArea(city, tc.p, "district") == "" && !strings.Contains(loc.Note, "outside") {
				t.Errorf("no note for a point outside: %+v", loc)
			}
			for _, res := range geo.Resolutions {
				c, _ := geo.CellAt(tc.p[0], tc.p[1], res)
				if loc.H3[fmt.Sprint(res)] != geo.CellString(c) {
					t.Errorf("h3 res %d = %s, want %s", res, loc.H3[fmt.Sprint(res)], geo.CellString(c))
				}
			}
			// Nearest address within the default 100 m, computed by brute force.
			var want *fixture.Address
			bestD := 0.0
			for i, a := range city.Addresses {
				if a.Level != "building" && a.Level != "road" {
					continue // rooms share their building's point
				}
				d := orbgeo.Distance(tc.p, a.Point)
				if d <= 100 && (want == nil || d < bestD-0.01) {
					want, bestD = &city.Addresses[i], d
				}
			}
			switch {
			case want == nil && loc.Address != nil:
				t.Errorf("nearest address %+v, want none", loc.Address)
			case want != nil && loc.Address == nil:
				t.Errorf("no nearest address, want %d", want.ID)
			case want != nil:
				gotD := orbgeo.Distance(tc.p, pointOf(city, loc.Address.ID))
				if gotD > bestD+0.5 {
					t.Errorf("nearest address %d at %.2f m, want %d at %.2f m", loc.Address.ID, gotD, want.ID, bestD)
				}
				if diff := loc.Address.DistanceM - bestD; diff > 0.5 || diff < -0.5 {
					t.Errorf("distance %.2f m, want %.2f m", loc.Address.DistanceM, bestD)
				}
			}
		})
	}
}

func pointOf(city *fixture.City, id int64) orb.Point {
	for _, a := range city.Addresses {
		if a.ID == id {
			return a.Point
		}
	}
	return orb.Point{}
}

func ptr[T any](v T) *T { return &v }

func TestLocateBadInput(t *testing.T) {
	t.Parallel()
	ts, _ := fixtureServer(t, qry.Config{})
	cases := []struct{ query, param string }{
		{qs("lat", "22.5"), "lon"},
		{qs("lon", "200", "lat", "22.5"), "lon"},
		{qs("lon", "114", "lat", "-91"), "lat"},
		{qs("lon", "abc", "lat", "22"), "lon"},
		{qs("lon", "NaN", "lat", "22"), "lon"},
		{qs("lon", "114", "lat", "22", "at", "yesterday"), "at"},
		{qs("lon", "114", "lat", "22", "radius", "0"), "radius"},
		{qs("lon", "114", "lat", "22", "radius", "1e9"), "radius"},
		{qs("lon", "114", "lat", "22", "foo", "1"), "foo"},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			var e apiError
			if code := get(t, ts, "/api/v1/locate"+tc.query, &e); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
			if !strings.HasPrefix(e.Error.Message, tc.param+":") {
				t.Errorf("message %q does not name %s", e.Error.Message, tc.param)
			}
		})
	}
}
