package tiles

import (
	"math"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"

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
	ring  orb.Ring // the cell's outline from boundaries, if already looked up
	props []prop
}

// clipBound is the tile plus its buffer, in tile units.
var clipBound = orb.Bound{Min: orb.Point{-Buffer, -Buffer}, Max: orb.Point{Extent + Buffer, Extent + Buffer}}

// encodeH3 encodes the cells as polygons of one MVT layer named name, clipped to
// the tile and its buffer; features are identified by their cell. No features
// give an empty tile (no layer), like ST_AsMVT over no rows.
//
// It projects and clips exactly as orb's mvt.Layer ProjectToTile and Clip do
// (same formulas, same rounding, orb's clipper for cells crossing the edge), but
// from outlines cached already projected to the unit square, into one scratch
// ring: a z10 tile holds about a thousand cells, and building a geojson.Feature,
// a copied polygon and a projection per cell cost more than the query.
func encodeH3(name string, t geo.Tile, feats []h3Feature) ([]byte, error) {
	if len(feats) == 0 {
		return nil, nil
	}
	scale := float64(uint64(1) << (uint(t.Z) + extentShift))
	minx, miny := float64(uint64(t.X)<<extentShift), float64(uint64(t.Y)<<extentShift)
	e := newMVTEncoder()
	defer e.release()
	var scratch orb.Ring
	poly := orb.Polygon{nil}
	n := 0
	for _, hf := range feats {
		unit := hf.ring
		if unit == nil {
			unit = boundaries.get(hf.cell)
		}
		if unit == nil {
			continue
		}
		scratch = scratch[:0]
		// The bound, by comparisons: orb's Bound.Extend (math.Min and Max, which
		// mind NaNs and signed zeros) took a third of this loop.
		b := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
		for _, p := range unit {
			q := orb.Point{math.Floor(p[0]*scale - minx), math.Floor(p[1]*scale - miny)}
			b.Min[0], b.Max[0] = min(b.Min[0], q[0]), max(b.Max[0], q[0])
			b.Min[1], b.Max[1] = min(b.Min[1], q[1]), max(b.Max[1], q[1])
			scratch = append(scratch, q)
		}
		if !clipBound.Intersects(b) {
			continue
		}
		r := scratch
		if !boundWithin(b, clipBound) {
			// clip.Ring writes into its input; scratch is rebuilt for every cell.
			if r = clip.Ring(clipBound, scratch); r == nil {
				continue
			}
		}
		if len(r) < 4 {
			continue
		}
		// MVT wants exterior rings clockwise on screen (y down), which is a positive
		// signed area, orb's CCW.
		if r.Orientation() != orb.CCW {
			r.Reverse()
		}
		poly[0] = r
		e.polygon(uint64(hf.cell), poly, hf.props)
		n++
	}
	if n == 0 {
		return nil, nil
	}
	return e.tile(name), nil
}

// extentShift is log2(Extent): tile units at zoom z are world units at z+12.
const extentShift = 12

// boundWithin reports whether a lies inside b (edges included), where clipping
// changes nothing.
func boundWithin(a, b orb.Bound) bool {
	return a.Min[0] >= b.Min[0] && a.Min[1] >= b.Min[1] && a.Max[0] <= b.Max[0] && a.Max[1] <= b.Max[1]
}

// boundaries caches H3 cell outlines projected to the unit Web Mercator square
// (x east, y south, both 0..1), the zoom-independent part of orb's projection:
// computing an outline costs a cgo call and a few microseconds, projecting it a
// logarithm per vertex, and the same cells are drawn over and over.
var boundaries = &boundaryCache{max: 1 << 19, m: map[int64]orb.Ring{}}

type boundaryCache struct {
	mu  sync.RWMutex
	max int
	m   map[int64]orb.Ring
}

// get returns the cell's projected outline, shared: callers must not modify it.
func (c *boundaryCache) get(cell int64) orb.Ring {
	c.mu.RLock()
	r, ok := c.m[cell]
	c.mu.RUnlock()
	if ok {
		return r
	}
	p := geo.CellBoundary(cell)
	if p == nil {
		return nil
	}
	r = make(orb.Ring, len(p[0]))
	for i, pt := range p[0] {
		r[i] = unitMercator(pt)
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m) // crude but bounded: the working set refills quickly
	}
	c.m[cell] = r
	c.mu.Unlock()
	return r
}

// unitMercator is orb's mercator.ToPlanar at level 0 (world = unit square). A
// power-of-two scale is exact in floating point, so scaling this to level z+12
// gives bit for bit what ToPlanar(lon, lat, z+12) gives.
func unitMercator(p orb.Point) orb.Point {
	x := p[0]/360.0 + 0.5
	siny := math.Sin(p[1] * math.Pi / 180.0)
	var y float64
	switch {
	case siny > 0.9999:
		y = 0
	case siny < -0.9999:
		// ToPlanar puts these one world unit above the bottom edge, we put them
		// on it: both are below every tile but the bottom row's buffer, south of
		// 89.19° where there are no cities.
		y = 1
	default:
		y = 0.5 + 0.5*math.Log((1.0+siny)/(1.0-siny))/(-2*math.Pi)
	}
	return orb.Point{x, y}
}
