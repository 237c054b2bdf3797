package tiles

import (
	"math"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"github.com/onegrid/onegrid/geo"
)

// Extent and Buffer are the MVT tile extent and the buffer kept around it, in tile
// units; the SQL layers use the same numbers.
const (
	Extent = 4096
	Buffer = 64
)

// h3EdgeM is the average hexagon edge length per H3 resolution, in metres.
var h3EdgeM = [...]float64{1281256, 483057, 182513, 68979, 26072, 9854, 3724.5, 1406.5, 531.4, 200.8, 75.9, 28.7, 10.8, 4.1, 1.5, 0.6}

// h3Margin returns how far, in Web Mercator metres, a point inside an H3 cell of
// resolution res may lie from tile t while the cell still reaches the tile and its
// buffer: three average edges (more than a cell's diameter, with room for the
// cell's distortion and for children poking out of their parent), scaled to Web
// Mercator at the tile's latitude, plus the buffer.
func h3Margin(t geo.Tile, res int) float64 {
	b := t.Bound()
	lat := (b.Min[1] + b.Max[1]) / 2
	scale := 1 / math.Max(math.Cos(lat*math.Pi/180), 0.05)
	mb := t.MercatorBound()
	return 3*h3EdgeM[res]*scale + (mb.Max[0]-mb.Min[0])*Buffer/Extent
}

// h3Feature is one hexagon with its properties.
type h3Feature struct {
	cell  int64
	props []prop
}

// clipBound is the tile plus its buffer, in tile units.
var clipBound = orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}

// encodeH3 encodes the cells as polygons of one MVT layer named name, clipped to
// the tile and its buffer; features are identified by their cell. No features
// give an empty tile (no layer), like ST_AsMVT over no rows.
func encodeH3(name string, t geo.Tile, feats []h3Feature) ([]byte, error) {
	if len(feats) == 0 {
		return nil, nil
	}
	layer := &mvt.Layer{Name: name, Version: 2, Extent: Extent, Features: make([]*geojson.Feature, 0, len(feats))}
	for i, f := range feats {
		poly := boundaries.get(f.cell)
		if poly == nil {
			continue
		}
		// ID: the index into feats (Clip drops features wholly outside).
		layer.Features = append(layer.Features, &geojson.Feature{Type: "Feature", Geometry: poly, ID: i})
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
		// MVT wants exterior rings clockwise on screen (y down), which is a positive
		// signed area, orb's CCW.
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
		return nil, nil
	}
	return e.tile(name), nil
}

// boundaries caches H3 cell outlines (lon/lat): computing one costs a cgo call and
// a few microseconds, and the same cells are drawn over and over.
var boundaries = &boundaryCache{max: 1 << 19, m: map[int64]orb.Ring{}}

type boundaryCache struct {
	mu  sync.RWMutex
	max int
	m   map[int64]orb.Ring
}

// get returns a fresh copy of the cell's outline, safe to project in place.
func (c *boundaryCache) get(cell int64) orb.Polygon {
	c.mu.RLock()
	r, ok := c.m[cell]
	c.mu.RUnlock()
	if !ok {
		p := geo.CellBoundary(cell)
		if p == nil {
			return nil
		}
		r = p[0]
		c.mu.Lock()
		if len(c.m) >= c.max {
			clear(c.m) // crude but bounded: the working set refills quickly
		}
		c.m[cell] = r
		c.mu.Unlock()
	}
	return orb.Polygon{append(orb.Ring(nil), r...)}
}
