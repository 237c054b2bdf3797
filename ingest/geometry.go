package ingest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/planar"

	"github.com/onegrid/onegrid/geo"
)

// geomRule says what geometry a kind takes.
type geomRule int

const (
	geomNone geomRule = iota
	pointOptional
	pointRequired
	areaRequired // Polygon or MultiPolygon, stored as MultiPolygon
)

// srid of every stored geometry.
const srid = 4326

// ParseWKT parses well-known text (an EWKT "SRID=4326;" prefix is accepted when
// the SRID is 4326) into a geometry.
func ParseWKT(s string) (g orb.Geometry, err error) {
	s = strings.TrimSpace(s)
	if pre, rest, ok := strings.Cut(s, ";"); ok && strings.HasPrefix(strings.ToUpper(pre), "SRID=") {
		if id := strings.TrimSpace(pre[5:]); id != "4326" {
			return nil, fmt.Errorf("SRID %s: want 4326 (or none)", id)
		}
		s = strings.TrimSpace(rest)
	}
	if s == "" {
		return nil, fmt.Errorf("empty WKT")
	}
	defer func() {
		// orb's WKT reader is regexp based; a panic on hostile input must not end the load.
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("invalid WKT")
		}
	}()
	g, err = wkt.Unmarshal(s)
	if err != nil {
		return nil, fmt.Errorf("invalid WKT: %w", err)
	}
	return g, nil
}

// parseGeoJSONGeometry parses a GeoJSON geometry object.
func parseGeoJSONGeometry(b []byte) (orb.Geometry, error) {
	if p, ok := fastPoint(b); ok {
		return p, nil
	}
	g, err := geojson.UnmarshalGeometry(b)
	if err != nil {
		return nil, fmt.Errorf("invalid GeoJSON geometry: %w", err)
	}
	if g.Coordinates == nil {
		return nil, fmt.Errorf("invalid GeoJSON geometry: no coordinates")
	}
	return g.Coordinates, nil
}

// checkCoords rejects non-finite or out-of-range coordinates and unclosed or
// too short polygon rings (which PostGIS would refuse to parse at all).
func checkCoords(g orb.Geometry) error {
	switch g := g.(type) {
	case orb.Point:
		if math.IsNaN(g[0]) || math.IsNaN(g[1]) || math.IsInf(g[0], 0) || math.IsInf(g[1], 0) {
			return fmt.Errorf("coordinate is not a number")
		}
		if g[0] < -180 || g[0] > 180 {
			return fmt.Errorf("longitude %s out of range -180..180", fmtFloat(g[0]))
		}
		if g[1] < -90 || g[1] > 90 {
			return fmt.Errorf("latitude %s out of range -90..90", fmtFloat(g[1]))
		}
	case orb.MultiPoint:
		for _, p := range g {
			if err := checkCoords(p); err != nil {
				return err
			}
		}
	case orb.LineString:
		return checkCoords(orb.MultiPoint(g))
	case orb.Ring:
		if len(g) < 4 {
			return fmt.Errorf("polygon ring has %d points: want at least 4", len(g))
		}
		if g[0] != g[len(g)-1] {
			return fmt.Errorf("polygon ring is not closed")
		}
		return checkCoords(orb.MultiPoint(g))
	case orb.Polygon:
		if len(g) == 0 {
			return fmt.Errorf("empty polygon")
		}
		for _, r := range g {
			if err := checkCoords(r); err != nil {
				return err
			}
		}
	case orb.MultiPolygon:
		if len(g) == 0 {
			return fmt.Errorf("empty multipolygon")
		}
		for _, p := range g {
			if err := checkCoords(p); err != nil {
				return err
			}
		}
	case orb.MultiLineString:
		for _, l := range g {
			if err := checkCoords(l); err != nil {
				return err
			}
		}
	case orb.Collection:
		for _, x := range g {
			if err := checkCoords(x); err != nil {
				return err
			}
		}
	case orb.Bound:
		return checkCoords(g.ToPolygon())
	}
	return nil
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// toGCJ02 converts a geometry from GCJ-02 to WGS-84 in place of a copy.
func fromGCJ02(g orb.Geometry) orb.Geometry {
	if p, ok := g.(orb.Point); ok {
		lon, lat := geo.GCJ02ToWGS84(p[0], p[1])
		return orb.Point{lon, lat}
	}
	return geo.GCJ02ToWGS84Geometry(orb.Clone(g))
}

// pointEWKB encodes a point as little-endian EWKB with SRID 4326.
func pointEWKB(p orb.Point) []byte {
	b := make([]byte, 25)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 0x20000001)
	binary.LittleEndian.PutUint32(b[5:], srid)
	binary.LittleEndian.PutUint64(b[9:], math.Float64bits(p[0]))
	binary.LittleEndian.PutUint64(b[17:], math.Float64bits(p[1]))
	return b
}

// shapeGeom checks g against rule and returns it in stored form (Point or
// MultiPolygon), its EWKB and its representative point (for H3).
func shapeGeom(g orb.Geometry, rule geomRule) (ewkbBytes []byte, at orb.Point, err error) {
	if err := checkCoords(g); err != nil {
		return nil, at, err
	}
	switch rule {
	case pointOptional, pointRequired:
		p, ok := g.(orb.Point)
		if !ok {
			if mp, isMulti := g.(orb.MultiPoint); isMulti && len(mp) == 1 {
				p, ok = mp[0], true
			}
		}
		if !ok {
			return nil, at, fmt.Errorf("want a Point, got %s", g.GeoJSONType())
		}
		return pointEWKB(p), p, nil
	case areaRequired:
		var mp orb.MultiPolygon
		switch g := g.(type) {
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		case orb.MultiPolygon:
			mp = g
		default:
			return nil, at, fmt.Errorf("want a Polygon or MultiPolygon, got %s", g.GeoJSONType())
		}
		b, err := ewkb.Marshal(mp, srid)
		if err != nil {
			return nil, at, fmt.Errorf("encode geometry: %w", err)
		}
		c, _ := planar.CentroidArea(mp)
		return b, c, nil
	}
	return nil, at, fmt.Errorf("this kind takes no geometry")
}
