package tiles_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// compareOutlines renders the admin, grids and buildings layers over a square of tiles
// around centre at every zoom from 6 to 16, drawn by the service and by
// PostGIS's ST_AsMVT (the per-tile SQL), and compares them decoded: same features
// and properties, every vertex within one tile unit. It returns how many features
// were compared.
func compareOutlines(t *testing.T, s *tiles.Service, centre [2]float64, radius int, exact bool) int {
	t.Helper()
	features := 0
	for z := 6; z <= 16; z++ {
		c := at(centre, z)
		for dx := -radius; dx <= radius; dx++ {
			for dy := -radius; dy <= radius; dy++ {
				tile := geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}
				for _, layer := range []string{"admin", "grids", "buildings"} {
					got, err := s.Render(context.Background(), scope.System(), layer, tile, tiles.Filter{})
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.RenderOutlinesBySQL(context.Background(), layer, tile)
					if err != nil {
						t.Fatal(err)
					}
					w := releaseReference(decode(t, want), tiles.DefaultMinCount)
					t.Run(layer+"/"+tile.String(), func(t *testing.T) {
						if exact {
							compareTiles(t, decode(t, got), w)
						} else {
							compareDrawn(t, decode(t, got), w)
						}
					})
					for _, fc := range w {
						features += len(fc.Features)
					}
				}
			}
		}
	}
	return features
}

// TestOutlinesMatchPostGIS: the service draws admin units and grids as ST_AsMVT
// does, labels included, on the test city.
func TestOutlinesMatchPostGIS(t *testing.T) {
	s, _ := openCity(t, tiles.Config{})
	if n := compareOutlines(t, s, testcity.Centre, 2, true); n < 100 {
		t.Fatalf("only %d features compared", n)
	}
}

// TestOutlinesMatchPostGISCity does the same on a generated city, when one is
// given (ONEGRID_TILEBENCH_DATABASE_URL, as for the benchmarks).
func TestOutlinesMatchPostGISCity(t *testing.T) {
	s := openGeneratedCity(t)
	t.Logf("%d features compared", compareOutlines(t, s, [2]float64{114.05, 22.55}, 2, false))
}

// compareDrawn compares tiles of real outlines, where the service and PostGIS
// keep different sub-unit detail (a tile unit is an eighth of a screen pixel) and
// clip differently in the buffer (GEOS splits a polygon where orb's clipper
// leaves a zero-width spur along the buffer's edge): the same features with the
// same properties, label points within a unit, and the polygons' visible parts
// (clipped to the tile without its buffer) of the same area to within what
// moving every edge by one unit changes (the perimeter, in square units; the two
// round clip intersections differently), with centroids within 2 units (not
// bounds: clipping leaves zero-area spurs). A feature missing on one side must have no visible area on
// the other.
func compareDrawn(t *testing.T, got, want map[string]*geojson.FeatureCollection) {
	t.Helper()
	tile := orb.Bound{Max: orb.Point{tiles.Extent, tiles.Extent}}
	visible := func(g orb.Geometry) (area float64, centroid orb.Point, perimeter float64) {
		c := clip.Geometry(tile, orb.Clone(g))
		if c == nil {
			return 0, orb.Point{}, 0
		}
		centroid, area = planar.CentroidArea(c)
		return math.Abs(area), centroid, planar.Length(c)
	}
	for _, name := range keys(mergeKeys(got, want)) {
		byID := func(fc *geojson.FeatureCollection) map[string]*geojson.Feature {
			m := map[string]*geojson.Feature{}
			if fc != nil {
				for _, f := range fc.Features {
					m[fmt.Sprint(f.ID)] = f
				}
			}
			return m
		}
		g, w := byID(got[name]), byID(want[name])
		for id := range mergeKeys(g, w) {
			gf, wf := g[id], w[id]
			if gf == nil || wf == nil {
				f := gf
				if f == nil {
					f = wf
				}
				if a, _, _ := visible(f.Geometry); a > 4 {
					t.Errorf("layer %s feature %s: drawn by one side only (service %v, PostGIS %v), visible area %.0f", name, id, gf != nil, wf != nil, a)
				}
				continue
			}
			gp, _ := json.Marshal(gf.Properties)
			wp, _ := json.Marshal(wf.Properties)
			if string(gp) != string(wp) {
				t.Errorf("layer %s feature %s: properties %s, want %s", name, id, gp, wp)
			}
			if _, ok := wf.Geometry.(orb.Point); ok {
				if !geomEqual(gf.Geometry, wf.Geometry, 1) {
					t.Errorf("layer %s feature %s: label at %v, want %v", name, id, gf.Geometry, wf.Geometry)
				}
				continue
			}
			ga, gc, _ := visible(gf.Geometry)
			wa, wc, wPerim := visible(wf.Geometry)
			if math.Abs(ga-wa) > wPerim || (wa > 32 && !pointsEqual([]orb.Point{gc}, []orb.Point{wc}, 2)) {
				t.Errorf("layer %s feature %s: visible area %.0f centroid %v, want %.0f %v", name, id, ga, gc, wa, wc)
			}
		}
	}
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}
