package tiles

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// TestCellArithmetic: centreChild agrees with the H3 library.
func TestCellArithmetic(t *testing.T) {
	for _, p := range [][2]float64{{114.0125, 22.54}, {-122.42, 37.77}, {0.1, 51.5}, {151.2, -33.87}} {
		for _, res := range []int{5, 7, 9} {
			c := h3.LatLngToCell(h3.NewLatLng(p[1], p[0]), res)
			for _, child := range []int{res, res + 1, 10, 12} {
				if child < res {
					continue
				}
				if got, want := centreChild(int64(c), child), int64(c.CenterChild(child)); got != want {
					t.Errorf("centre child of %s at %d: %x, want %x", c, child, got, want)
				}
				for _, k := range c.Children(child) {
					if geo.ParentBits(int64(k), res) != int64(c) {
						t.Errorf("child %s: parent bits disagree", k)
					}
				}
			}
		}
	}
}

func TestSensitivityRules(t *testing.T) {
	s := &Sensitivity{flagged: []string{"13", "0804"}, codes: []string{"01", "0101", "0804", "080401", "0805", "13", "1302", "130201"}}
	for _, tc := range []struct {
		sc   scope.Scope
		want []string
	}{
		{scope.Scope{Units: []string{""}}, []string{"0804", "080401", "13", "1302", "130201"}},
		{scope.Scope{Units: []string{""}, Duties: []string{"1302"}}, []string{"0804", "080401", "13"}},
		{scope.Scope{Units: []string{""}, Duties: []string{"08", "13"}}, nil},
		{scope.Scope{Units: []string{""}, Caps: []string{scope.CanSensitive}}, nil},
	} {
		if got := s.maskedCodes(tc.sc); !slices.Equal(got, tc.want) {
			t.Errorf("duties %v caps %v: masked %v, want %v", tc.sc.Duties, tc.sc.Caps, got, tc.want)
		}
	}
	if (&Sensitivity{codes: []string{"01"}}).maskedCodes(scope.Scope{}) != nil {
		t.Error("a taxonomy without sensitive categories masks something")
	}
}

// TestCoarsenedSnapMatchesIndex: the coarsened all-time counts draw every tile
// finer than CoarseRes exactly as the event index counts it per tile for the
// same masked categories (evIndex.cellsMasked, the path with filters), with
// and without a status filter: the same cells with the same events and open
// events. Events are random, a quarter in masked categories, so masked events
// land both in cells with others and in cells of their own.
func TestCoarsenedSnapMatchesIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	centre := [2]float64{114.0125, 22.54}
	cats := []string{"01", "0101", "13", "1302"}
	masked := []bool{false, false, true, true}
	var rows []evRow
	for id := int64(1); id <= 4000; id++ {
		c, err := geo.CellAt(centre[0]+(rng.Float64()-0.5)*0.06, centre[1]+(rng.Float64()-0.5)*0.06, geo.StorageRes)
		if err != nil {
			t.Fatal(err)
		}
		cat := uint16(rng.IntN(2))
		if rng.IntN(4) == 0 {
			cat = 2 + uint16(rng.IntN(2))
		}
		rows = append(rows, evRow{id: id, cell: c, at: rng.Int64N(1 << 40), cat: cat, st: uint8(rng.IntN(len(Statuses)))})
	}
	ix := fromRows(rows, cats, Statuses)
	if err := ix.build(nil); err != nil {
		t.Fatal(err)
	}
	snap := ix.coarse.get(ix, []string{"13", "1302"}, masked)
	if snap == nil || ix.coarse.get(ix, []string{"13", "1302"}, masked) != snap {
		t.Fatal("the coarsened counts are not kept for their set")
	}
	bound := orb.Bound{Min: orb.Point{centre[0] - 0.04, centre[1] - 0.04}, Max: orb.Point{centre[0] + 0.04, centre[1] + 0.04}}
	compared, coarseOnly := 0, 0
	for _, z := range []int{13, 14} {
		res := geo.ResolutionForZoom(z)
		if res <= CoarseRes {
			t.Fatalf("z%d draws res %d, not finer than CoarseRes", z, res)
		}
		for _, tl := range geo.TilesCovering(bound, z) {
			for _, statuses := range [][]string{nil, {"reported", "handling"}} {
				want, err := ix.cellsMasked(nil, tl, res, Filter{Status: statuses}, masked)
				if err != nil {
					t.Fatal(err)
				}
				got := snap.cells(nil, tl, res, statuses)
				if g, w := featureCounts(got), featureCounts(want); !maps.Equal(g, w) {
					t.Fatalf("z%d %v statuses %v:\n got %v\nwant %v", z, tl, statuses, g, w)
				}
				compared += len(want)
				for _, f := range want {
					if _, own := slices.BinarySearch(ix.byRes[res].cells, f.cell); !own {
						coarseOnly++
					}
				}
			}
		}
	}
	if compared < 500 || coarseOnly == 0 {
		t.Fatalf("%d features compared, %d only of masked events: the test proves little", compared, coarseOnly)
	}
}

// featureCounts is cell → "events/open" of drawn events_h3 features.
func featureCounts(fs []h3Feature) map[int64]string {
	out := map[int64]string{}
	for _, f := range fs {
		out[f.cell] = fmt.Sprintf("%d/%d", f.props[2].num, f.props[3].num)
	}
	return out
}
