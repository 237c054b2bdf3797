package tiles

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"github.com/onegrid/onegrid/geo"
)

// encodeH3Orb is the straightforward encoder: orb's own projection and clipping
// of geojson features. encodeH3 must produce the same bytes.
func encodeH3Orb(name string, t geo.Tile, feats []h3Feature) []byte {
	layer := &mvt.Layer{Name: name, Version: 2, Extent: Extent}
	for i, f := range feats {
		p := geo.CellBoundary(f.cell)
		if p == nil {
			continue
		}
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: p, ID: i})
	}
	layer.ProjectToTile(maptile.New(uint32(t.X), uint32(t.Y), maptile.Zoom(t.Z)))
	layer.Clip(clipBound)
	e := newMVTEncoder()
	n := 0
	for _, f := range layer.Features {
		p, ok := f.Geometry.(orb.Polygon)
		if !ok || len(p) == 0 || len(p[0]) < 4 {
			continue
		}
		for i, r := range p {
			if (i == 0) != (r.Orientation() == orb.CCW) {
				r.Reverse()
			}
		}
		hf := feats[f.ID.(int)]
		e.polygon(uint64(hf.cell), p, hf.props)
		n++
	}
	if n == 0 {
		return nil
	}
	return e.tile(name)
}

// TestEncodeH3MatchesOrb draws random cells of the zoom's resolution around
// random points of a tile and its neighbours (so cells lie inside, across the
// edge and outside the buffer) and compares encodeH3's bytes with orb's path.
func TestEncodeH3MatchesOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		z := 6 + rng.IntN(11)
		lon, lat := 113.7+rng.Float64()*0.7, 22.3+rng.Float64()*0.6
		if trial%10 == 0 { // elsewhere on Earth too, away from the poles
			lon, lat = -179+rng.Float64()*358, -80+rng.Float64()*160
		}
		tile := geo.TileAt(lon, lat, z)
		res := geo.ResolutionForZoom(z)
		mb := tile.Bound()
		w, h := mb.Max[0]-mb.Min[0], mb.Max[1]-mb.Min[1]
		var feats []h3Feature
		seen := map[int64]bool{}
		for range 400 {
			x := mb.Min[0] - w/4 + rng.Float64()*w*1.5
			y := mb.Min[1] - h/4 + rng.Float64()*h*1.5
			c, err := geo.CellAt(x, y, res)
			if err != nil || seen[c] {
				continue
			}
			seen[c] = true
			feats = append(feats, h3Feature{cell: c, props: []prop{strProp("cell", geo.CellString(c)), numProp("n", int64(len(feats)))}})
		}
		want := encodeH3Orb("h", tile, feats)
		got, err := encodeH3("h", tile, feats)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("tile %v, %d cells: encodeH3 gives %d bytes, orb's path %d, and they differ", tile, len(feats), len(got), len(want))
		}
	}
}
