package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// MaxZoom is the highest tile zoom level the project serves or accepts.
//
// 24 is beyond any basemap in use (vector basemaps stop at 14–16 and overzoom;
// raster ones at 18–22) and gives about 9 mm per pixel, so no real request is
// refused, while tile indices (< 2^24) stay small enough that 2^z, x and y fit
// comfortably in an int32 and in PostGIS ST_TileEnvelope.
const MaxZoom = 24

// TileSize is the size of a tile edge, in pixels, assumed by MetresPerPixel.
const TileSize = 256

// Web Mercator (EPSG:3857) constants.
const (
	// EarthRadius is the radius of the sphere of Web Mercator, in metres
	// (the WGS-84 semi-major axis).
	EarthRadius = 6378137.0

	// MercatorExtent is half the width of the Web Mercator square, in
	// metres: π·EarthRadius. The world spans −MercatorExtent..MercatorExtent
	// on both axes.
	MercatorExtent = math.Pi * EarthRadius

	// MaxMercatorLat is the latitude, in degrees, at which the Web Mercator
	// square ends: atan(sinh(π)).
	MaxMercatorLat = 85.05112877980659
)

// Tile is a slippy-map (XYZ, Google/OSM scheme) tile: y grows southwards and
// tile 0/0/0 covers the whole Web Mercator square.
type Tile struct {
	Z, X, Y int
}

// String returns the tile as "z/x/y".
func (t Tile) String() string {
	return strconv.Itoa(t.Z) + "/" + strconv.Itoa(t.X) + "/" + strconv.Itoa(t.Y)
}

// Valid reports whether the tile exists: 0 ≤ z ≤ MaxZoom and
// 0 ≤ x, y < 2^z.
func (t Tile) Valid() bool { return ValidTile(t.Z, t.X, t.Y) }

// ValidTile reports whether z/x/y is a tile: 0 ≤ z ≤ MaxZoom and
// 0 ≤ x, y < 2^z.
func ValidTile(z, x, y int) bool {
	if z < 0 || z > MaxZoom {
		return false
	}
	n := 1 << z
	return x >= 0 && x < n && y >= 0 && y < n
}

// MercatorBound returns the tile's extent in Web Mercator metres
// (EPSG:3857), Min south-west and Max north-east, the same envelope as
// PostGIS ST_TileEnvelope(z, x, y). The tile must be valid.
func (t Tile) MercatorBound() orb.Bound {
	size := 2 * MercatorExtent / float64(int(1)<<t.Z)
	return orb.Bound{
		Min: orb.Point{-MercatorExtent + float64(t.X)*size, MercatorExtent - float64(t.Y+1)*size},
		Max: orb.Point{-MercatorExtent + float64(t.X+1)*size, MercatorExtent - float64(t.Y)*size},
	}
}

// Bound returns the tile's extent in lon/lat degrees (WGS-84), Min
// south-west and Max north-east. The tile must be valid.
func (t Tile) Bound() orb.Bound {
	n := float64(int(1) << t.Z)
	return orb.Bound{
		Min: orb.Point{tileXToLon(float64(t.X), n), tileYToLat(float64(t.Y+1), n)},
		Max: orb.Point{tileXToLon(float64(t.X+1), n), tileYToLat(float64(t.Y), n)},
	}
}

// TileAt returns the tile at zoom z containing the point (lon, lat), in
// degrees. Latitudes beyond ±MaxMercatorLat are clamped to the edge row and
// longitudes are clamped to −180..180. A point on a tile edge belongs to the
// tile east / south of it, except on the east and south edges of the world.
func TileAt(lon, lat float64, z int) Tile {
	n := float64(int(1) << z)
	return Tile{Z: z, X: clampIndex(lonToTileX(lon, n), n), Y: clampIndex(latToTileY(lat, n), n)}
}

// TilesCovering returns the tiles at zoom z that intersect bound, a lon/lat
// rectangle in degrees, row by row from the north-west. Tiles that only touch
// the bound's east or south edge are not included. Latitudes are clamped to
// ±MaxMercatorLat. It returns nil for an empty or inverted bound or an
// invalid zoom. The result has TileRangeCovering(bound, z).Count() tiles;
// callers handling outside input should check that first.
func TilesCovering(bound orb.Bound, z int) []Tile {
	r, ok := TileRangeCovering(bound, z)
	if !ok {
		return nil
	}
	tiles := make([]Tile, 0, r.Count())
	for y := r.MinY; y <= r.MaxY; y++ {
		for x := r.MinX; x <= r.MaxX; x++ {
			tiles = append(tiles, Tile{Z: z, X: x, Y: y})
		}
	}
	return tiles
}

// TileRange is a rectangle of tiles at one zoom, bounds inclusive.
type TileRange struct {
	Z                      int
	MinX, MinY, MaxX, MaxY int
}

// Count returns the number of tiles in the range.
func (r TileRange) Count() int {
	return (r.MaxX - r.MinX + 1) * (r.MaxY - r.MinY + 1)
}

// TileRangeCovering returns the range of tiles at zoom z that TilesCovering
// would list, without listing them. ok is false for an empty, inverted or
// NaN bound, or an invalid zoom.
func TileRangeCovering(bound orb.Bound, z int) (r TileRange, ok bool) {
	if z < 0 || z > MaxZoom {
		return TileRange{}, false
	}
	if !(bound.Min[0] <= bound.Max[0] && bound.Min[1] <= bound.Max[1]) {
		return TileRange{}, false // inverted or NaN
	}
	n := float64(int(1) << z)
	x0, x1 := lonToTileX(bound.Min[0], n), lonToTileX(bound.Max[0], n)
	y0, y1 := latToTileY(bound.Max[1], n), latToTileY(bound.Min[1], n) // y grows southwards
	r = TileRange{Z: z, MinX: clampIndex(x0, n), MinY: clampIndex(y0, n)}
	r.MaxX = clampIndex(upperIndex(x0, x1), n)
	r.MaxY = clampIndex(upperIndex(y0, y1), n)
	return r, true
}

// upperIndex returns the last tile index a span [lo, hi] of fractional tile
// coordinates touches, leaving out a tile it merely touches at hi.
func upperIndex(lo, hi float64) float64 {
	f := math.Floor(hi)
	if f == hi && hi > lo {
		return f - 1
	}
	return f
}

// clampIndex returns the tile index of the fractional tile coordinate f,
// clamped to 0..n−1.
func clampIndex(f, n float64) int {
	f = math.Floor(f)
	switch {
	case f < 0:
		return 0
	case f >= n:
		return int(n) - 1
	}
	return int(f)
}

// lonToTileX returns the fractional tile x of lon at a zoom with n tiles a side.
func lonToTileX(lon, n float64) float64 {
	lon = math.Max(-180, math.Min(180, lon))
	return (lon + 180) / 360 * n
}

// latToTileY returns the fractional tile y of lat at a zoom with n tiles a side.
func latToTileY(lat, n float64) float64 {
	lat = math.Max(-MaxMercatorLat, math.Min(MaxMercatorLat, lat))
	rad := lat * math.Pi / 180
	return (1 - math.Asinh(math.Tan(rad))/math.Pi) / 2 * n
}

func tileXToLon(x, n float64) float64 { return x/n*360 - 180 }

func tileYToLat(y, n float64) float64 {
	return math.Atan(math.Sinh(math.Pi*(1-2*y/n))) * 180 / math.Pi
}

// LonLatToMercator projects (lon, lat), in degrees, to Web Mercator
// (EPSG:3857) x, y in metres. Latitudes are clamped to ±MaxMercatorLat.
func LonLatToMercator(lon, lat float64) (x, y float64) {
	lat = math.Max(-MaxMercatorLat, math.Min(MaxMercatorLat, lat))
	x = EarthRadius * lon * math.Pi / 180
	y = EarthRadius * math.Asinh(math.Tan(lat*math.Pi/180))
	return x, y
}

// MercatorToLonLat is the inverse of LonLatToMercator: Web Mercator x, y in
// metres to lon, lat in degrees.
func MercatorToLonLat(x, y float64) (lon, lat float64) {
	lon = x / EarthRadius * 180 / math.Pi
	lat = math.Atan(math.Sinh(y/EarthRadius)) * 180 / math.Pi
	return lon, lat
}

// MetresPerPixel returns the Web Mercator resolution of a TileSize-pixel
// tile at zoom z, in projected metres per pixel (156543.03… at z=0). On the
// ground this is the resolution at the equator; see GroundResolution.
func MetresPerPixel(z int) float64 {
	return 2 * MercatorExtent / (TileSize * math.Exp2(float64(z)))
}

// GroundResolution returns the true ground distance, in metres, covered by
// one pixel of a TileSize-pixel tile at zoom z and latitude lat (degrees):
// MetresPerPixel(z)·cos(lat).
func GroundResolution(lat float64, z int) float64 {
	return MetresPerPixel(z) * math.Cos(lat*math.Pi/180)
}

// TilePathError reports an invalid z, x or y tile path segment. Param is
// "z", "x" or "y"; Value is the segment as received. The message is safe to
// show to clients.
type TilePathError struct {
	Param string
	Value string
	msg   string
}

func (e *TilePathError) Error() string {
	v := e.Value
	if len(v) > 32 {
		v = v[:32] + "…"
	}
	return fmt.Sprintf("%s, got %q", e.msg, v)
}

// ParseTilePath parses the z, x and y segments of a /{z}/{x}/{y} tile URL.
// y may carry one ".pbf" or ".mvt" suffix. Each segment must be plain decimal
// digits (no sign, no spaces); z must be 0..MaxZoom and x, y 0..2^z−1. The
// error is a *TilePathError naming the first bad parameter.
func ParseTilePath(zs, xs, ys string) (Tile, error) {
	z, ok := parseIndex(zs)
	if !ok || z > MaxZoom {
		return Tile{}, &TilePathError{Param: "z", Value: zs, msg: fmt.Sprintf("z must be an integer 0..%d", MaxZoom)}
	}
	maxIdx := 1<<z - 1
	x, err := parseCoord("x", xs, z, maxIdx)
	if err != nil {
		return Tile{}, err
	}
	yv := ys
	if s, cut := strings.CutSuffix(yv, ".pbf"); cut {
		yv = s
	} else if s, cut := strings.CutSuffix(yv, ".mvt"); cut {
		yv = s
	}
	y, err := parseCoord("y", yv, z, maxIdx)
	if err != nil {
		err.(*TilePathError).Value = ys
		return Tile{}, err
	}
	return Tile{Z: z, X: x, Y: y}, nil
}

func parseCoord(param, s string, z, maxIdx int) (int, error) {
	v, ok := parseIndex(s)
	switch {
	case !ok:
		return 0, &TilePathError{Param: param, Value: s, msg: fmt.Sprintf("%s must be an integer 0..%d at z=%d", param, maxIdx, z)}
	case v > maxIdx:
		return 0, &TilePathError{Param: param, Value: s, msg: fmt.Sprintf("%s out of range 0..%d at z=%d", param, maxIdx, z)}
	}
	return v, nil
}

// parseIndex parses a non-empty run of ASCII digits of at most 9 characters
// (enough for 2^MaxZoom−1), so the value always fits an int.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
