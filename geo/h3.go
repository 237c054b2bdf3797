package geo

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/uber/h3-go/v4"
)

// StorageRes is the H3 resolution at which the project stores cells, as
// int64 (PostgreSQL bigint). Res 12 cells have an average edge of about 10 m
// (area ≈ 307 m²), fine enough for a building entrance or a street segment;
// coarser cells are derived with ParentBits.
const StorageRes = 12

// Resolutions are the "standard" H3 resolutions that API responses and
// pre-aggregations use, coarse to fine. They span a district (res 7, edge
// ≈1.4 km) down to a building (res 11, edge ≈29 m), matching the tiers of
// city grid governance: street office, community, grid cell, block, building.
var Resolutions = []int{7, 8, 9, 10, 11}

// ErrInvalidCell is wrapped by the errors of ParseCell and of functions
// given an int64 that is not a valid H3 cell.
var ErrInvalidCell = errors.New("invalid H3 cell")

// ErrTooManyCells is returned by CellsInPolygon when the polygon would yield
// more than MaxPolygonCells cells.
var ErrTooManyCells = errors.New("too many H3 cells")

// MaxPolygonCells caps the number of cells CellsInPolygon will produce,
// estimated from the area of the polygon's bounding box, so that a large
// polygon at a fine resolution cannot exhaust memory.
const MaxPolygonCells = 5_000_000

// H3 index bit layout (see https://h3geo.org/docs/core-library/h3Indexing).
const (
	h3ResShift  = 52               // resolution field, bits 52–55
	h3ResMask   = int64(0xF) << 52 // 4-bit resolution field
	h3MaxRes    = 15               // finest H3 resolution
	h3DigitBits = 3                // bits per resolution digit
)

// CellAt returns the H3 cell at resolution res (0..15) containing the point
// (lon, lat), in degrees.
func CellAt(lon, lat float64, res int) (int64, error) {
	if res < 0 || res > h3MaxRes {
		return 0, fmt.Errorf("H3 cell at (%g, %g): resolution %d not in 0..%d", lon, lat, res, h3MaxRes)
	}
	if !(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) {
		return 0, fmt.Errorf("H3 cell at (%g, %g): coordinates out of range", lon, lat)
	}
	c := h3.LatLngToCell(h3.NewLatLng(lat, lon), res)
	if c == 0 {
		return 0, fmt.Errorf("H3 cell at (%g, %g) res %d: %w", lon, lat, res, ErrInvalidCell)
	}
	return int64(c), nil
}

// CellRes returns the resolution field of an H3 index (bits 52–55).
func CellRes(cell int64) int {
	return int((cell & h3ResMask) >> h3ResShift)
}

// ParentBits returns the ancestor of cell at resolution res, computed by bit
// arithmetic alone, exactly as the database does it in SQL: the resolution
// field (bits 52–55) is set to res and the digits of resolutions res+1..15
// (digit r occupies bits 3·(15−r) .. 3·(15−r)+2) are set to 7, i.e. the low
// 3·(15−res) bits are all set. The equivalent SQL (every shifted operand must
// be bigint: PostgreSQL shifts an int4 modulo 32):
//
//	(cell & ~(15::bigint << 52)) | (res::bigint << 52) | ((1::bigint << (3 * (15 - res))) - 1)
//
// ParentBits(cell, CellRes(cell)) is cell. It returns 0 (H3_NULL, as h3's
// cellToParent does) if res is not in 0..CellRes(cell). The cell itself is
// not validated; for a valid cell the result equals h3's Cell.Parent(res).
func ParentBits(cell int64, res int) int64 {
	if res < 0 || res > CellRes(cell) {
		return 0
	}
	unused := int64(1)<<(h3DigitBits*(h3MaxRes-res)) - 1
	return (cell &^ h3ResMask) | int64(res)<<h3ResShift | unused
}

// ValidCell reports whether cell is a valid H3 cell (hexagon or pentagon).
func ValidCell(cell int64) bool {
	return cell > 0 && h3.Cell(cell).IsValid()
}

// CellString returns the canonical H3 form of cell: lowercase hexadecimal
// without a prefix, e.g. "8c4b9a2b1a5c1ff".
func CellString(cell int64) string {
	return strconv.FormatUint(uint64(cell), 16)
}

// ParseCell parses an H3 cell written in hexadecimal (case-insensitive,
// optional "0x" prefix) and checks that it is a valid cell. Errors quote the
// input and wrap ErrInvalidCell.
func ParseCell(s string) (int64, error) {
	hex := s
	if len(hex) > 2 && (hex[:2] == "0x" || hex[:2] == "0X") {
		hex = hex[2:]
	}
	if hex == "" || len(hex) > 16 || hex[0] == '+' || hex[0] == '-' {
		return 0, parseCellError(s, "not a hexadecimal H3 index")
	}
	u, err := strconv.ParseUint(hex, 16, 64)
	if err != nil {
		return 0, parseCellError(s, "not a hexadecimal H3 index")
	}
	c := int64(u)
	if !ValidCell(c) {
		return 0, parseCellError(s, "not a valid H3 cell")
	}
	return c, nil
}

func parseCellError(s, why string) error {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return fmt.Errorf("parse H3 cell %q: %s: %w", s, why, ErrInvalidCell)
}

// CellBoundary returns the outline of cell as a closed lon/lat ring
// (degrees), counter-clockwise as RFC 7946 asks. Cells crossing the
// antimeridian are not split. It returns nil for an invalid cell.
func CellBoundary(cell int64) orb.Polygon {
	if !ValidCell(cell) {
		return nil
	}
	b := h3.Cell(cell).Boundary()
	ring := make(orb.Ring, 0, len(b)+1)
	for _, ll := range b {
		ring = append(ring, orb.Point{ll.Lng, ll.Lat})
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// CellCenter returns the centre of cell as a lon/lat point (degrees).
func CellCenter(cell int64) orb.Point {
	ll := h3.Cell(cell).LatLng()
	return orb.Point{ll.Lng, ll.Lat}
}

// CellsInPolygon returns, sorted and without duplicates, the H3 cells at
// resolution res whose centres lie inside g (h3's polygonToCells). g is an
// orb.Polygon, orb.MultiPolygon, orb.Ring or orb.Bound in lon/lat degrees;
// holes are honoured. Polygons crossing the antimeridian are not supported.
// It fails with ErrTooManyCells if the bounding box of g would hold more than
// MaxPolygonCells cells.
func CellsInPolygon(g orb.Geometry, res int) ([]int64, error) {
	if res < 0 || res > h3MaxRes {
		return nil, fmt.Errorf("H3 cells in polygon: resolution %d not in 0..%d", res, h3MaxRes)
	}
	var polys orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		polys = g
	case orb.Ring:
		polys = orb.MultiPolygon{{g}}
	case orb.Bound:
		polys = orb.MultiPolygon{g.ToPolygon()}
	default:
		return nil, fmt.Errorf("H3 cells in polygon: unsupported geometry %T", g)
	}

	var out []int64
	for _, p := range polys {
		if len(p) == 0 {
			continue
		}
		b := p.Bound()
		if !(b.Min[0] >= -180 && b.Max[0] <= 180 && b.Min[1] >= -90 && b.Max[1] <= 90) {
			return nil, fmt.Errorf("H3 cells in polygon: bound %v out of lon/lat range", b)
		}
		est := orbgeo.Area(b.ToPolygon()) / h3.HexagonAreaAvgM2(res)
		if est > MaxPolygonCells {
			return nil, fmt.Errorf("H3 cells in polygon at res %d: about %.0f cells: %w", res, est, ErrTooManyCells)
		}
		gp := h3.GeoPolygon{GeoLoop: toGeoLoop(p[0])}
		if len(gp.GeoLoop) < 3 {
			continue
		}
		for _, hole := range p[1:] {
			if l := toGeoLoop(hole); len(l) >= 3 {
				gp.Holes = append(gp.Holes, l)
			}
		}
		for _, c := range h3.PolygonToCells(gp, res) {
			out = append(out, int64(c))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// toGeoLoop converts a ring to an h3 loop, dropping the closing point.
func toGeoLoop(r orb.Ring) h3.GeoLoop {
	if len(r) > 1 && r[0] == r[len(r)-1] {
		r = r[:len(r)-1]
	}
	loop := make(h3.GeoLoop, len(r))
	for i, p := range r {
		loop[i] = h3.NewLatLng(p[1], p[0])
	}
	return loop
}

// ResolutionForZoom returns the H3 resolution at which to aggregate cells
// for a map shown at web-map zoom z, so that a hexagon is a few to about 20
// pixels across on 256-pixel tiles.
//
// A hexagon is about 2×edge wide. H3 average edges (m): res 6 3,725;
// 7 1,406; 8 531; 9 201; 10 76; 11 29. Ground resolution (m/px) at 30°N,
// mid-China, is 135,571/2^z: z8 530, z9 265, z10 132, z11 66, z12 33,
// z13 16.5, z14 8.3, z15 4.1, z16 2.1. Hence:
//
//	z ≤ 8   → 6   (z8: 14 px; below z8 hexagons shrink under a few pixels,
//	               acceptable because city views start around z9)
//	z 9     → 7   (11 px)
//	z 10–11 → 8   (8–16 px)
//	z 12    → 9   (12 px)
//	z 13–14 → 10  (9–18 px)
//	z ≥ 15  → 11  (14 px at z15; larger beyond, where points are drawn anyway)
//
// The result never exceeds 11, the finest of Resolutions; only z ≤ 8 falls
// outside Resolutions.
func ResolutionForZoom(z int) int {
	switch {
	case z <= 8:
		return 6
	case z == 9:
		return 7
	case z <= 11:
		return 8
	case z == 12:
		return 9
	case z <= 14:
		return 10
	default:
		return 11
	}
}
