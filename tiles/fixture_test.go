package tiles_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/sdctest"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// TestFixtureCity renders the lead's fixture city and checks tiles against what its
// Go values say: goldens for the layers that do not depend on today's date, and
// counts computed from the fixture for the rest.
func TestFixtureCity(t *testing.T) {
	s, conn := open(t, tiles.Config{CacheBytes: 1 << 20})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	city := fixture.New()
	if err := sdctest.FixSeed(context.Background(), db, goldenSeed); err != nil {
		t.Fatal(err)
	}
	if err := city.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	centre := [2]float64{114.02, 22.51}
	for _, tc := range []struct {
		name, layer string
		z           int
	}{
		{"fixture_admin_z9", "admin", 9},
		{"fixture_admin_z11", "admin", 11},
		{"fixture_admin_z13", "admin", 13},
		{"fixture_grids_z13", "grids", 13},
		{"fixture_grids_z14", "grids", 14},
		{"fixture_buildings_z14", "buildings", 14},
		{"fixture_households_h3_z12", "households_h3", 12},
		{"fixture_events_h3_z11", "events_h3", 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tile, err := s.Get(context.Background(), scope.System(), tc.layer, at(centre, tc.z), tiles.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tile.Raw()
			checkGolden(t, tc.name, decode(t, raw))
		})
	}

	// The district's load figures are the whole fixture's, released.
	keys, err := sdctest.Keys(context.Background(), db, "household")
	if err != nil {
		t.Fatal(err)
	}
	var people, openAll int
	var everyone sdctest.Set
	for _, h := range city.Households {
		people += h.Members
		everyone.Add(keys[h.ID])
	}
	for _, e := range city.Events {
		if e.Open() {
			openAll++
		}
	}
	raw9, err := s.Render(context.Background(), scope.System(), "admin", at(centre, 9), tiles.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, raw9)["admin"].Features[0].Properties
	wantHH, wantPeople := *sdctest.Count(5, everyone, sdctest.Households), *sdctest.Sum(5, int64(people), everyone, sdctest.People)
	if d["households"] != float64(wantHH) || d["people"] != float64(wantPeople) || d["open_events"] != float64(openAll) {
		t.Errorf("district load %v, want households %d people %d (of %d and %d) open_events %d", d, wantHH, wantPeople, len(city.Households), people, openAll)
	}

	// Every event in a z15 tile appears in it, open or not; the open filter keeps
	// exactly the open ones.
	tl := at(centre, 15)
	bound := tl.Bound()
	var all, open int
	for _, e := range city.Events {
		if bound.Contains(orb.Point(e.Point)) {
			all++
			if e.Open() {
				open++
			}
		}
	}
	for _, tc := range []struct {
		filter string
		want   int
	}{{"", all}, {"status=reported,dispatched,handling", open}} {
		f, _ := tiles.ParseFilter(query(tc.filter))
		raw, err := s.Render(context.Background(), scope.System(), "events", tl, f)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		if fc := decode(t, raw)["events"]; fc != nil {
			for _, f := range fc.Features {
				// Events in the buffer belong to the neighbours too: count the tile proper.
				p := f.Geometry.(orb.Point)
				if p[0] >= 0 && p[0] < tiles.Extent && p[1] >= 0 && p[1] < tiles.Extent {
					got++
				}
			}
		}
		if got != tc.want {
			t.Errorf("events %q in %v: %d, want %d", tc.filter, tl, got, tc.want)
		}
	}

	// events_h3 at z10 (res 8): counts per cell equal the fixture's events per cell.
	want := map[string]float64{}
	for _, e := range city.Events {
		c, _ := geo.CellAt(e.Point[0], e.Point[1], geo.ResolutionForZoom(10))
		want[geo.CellString(c)]++
	}
	raw, err := s.Render(context.Background(), scope.System(), "events_h3", at(centre, 10), tiles.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range decode(t, raw)["events_h3"].Features {
		got[f.Properties["cell"].(string)] = f.Properties["events"].(float64)
	}
	for c, n := range want {
		if got[c] != n {
			t.Errorf("events_h3 cell %s: %v events, want %v", c, got[c], n)
		}
	}
}
