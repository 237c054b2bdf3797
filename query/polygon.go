package query

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/geojson"
)

// PolygonLimits bound an uploaded polygon.
type PolygonLimits struct {
	MaxVertices int     // all rings together
	MaxAreaKm2  float64 // spherical area
}

// DefaultPolygonLimits: a polygon the size of a large district, drawn by hand.
var DefaultPolygonLimits = PolygonLimits{MaxVertices: 10_000, MaxAreaKm2: 2_500}

// Area is an uploaded polygon, checked and normalised to a GeoJSON MultiPolygon.
type Area struct {
	GeoJSON string // MultiPolygon in WGS-84
	Bound   orb.Bound
}

// ParsePolygon reads a GeoJSON Polygon or MultiPolygon, bare or as a Feature, in
// WGS-84 degrees, and checks its rings and size. Self-intersections are checked by
// the database (see Store.checkArea).
func ParsePolygon(param string, body []byte, lim PolygonLimits) (Area, error) {
	if len(body) == 0 {
		return Area{}, paramErr(param, "a GeoJSON Polygon or MultiPolygon is required")
	}
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return Area{}, paramErr(param, "not JSON: %s", jsonProblem(err))
	}
	var g orb.Geometry
	switch probe.Type {
	case "Feature":
		f, err := geojson.UnmarshalFeature(body)
		if err != nil {
			return Area{}, paramErr(param, "not a GeoJSON Feature: %s", jsonProblem(err))
		}
		g = f.Geometry
	case "Polygon", "MultiPolygon":
		gg, err := geojson.UnmarshalGeometry(body)
		if err != nil {
			return Area{}, paramErr(param, "not GeoJSON: %s", jsonProblem(err))
		}
		g = gg.Geometry()
	default:
		return Area{}, paramErr(param, "want a GeoJSON Polygon, MultiPolygon or a Feature with one, got type %q", truncate(probe.Type, 30))
	}
	return checkArea(param, g, lim)
}

func checkArea(param string, g orb.Geometry, lim PolygonLimits) (Area, error) {
	var mp orb.MultiPolygon
	switch v := g.(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{v}
	case orb.MultiPolygon:
		mp = v
	case nil:
		return Area{}, paramErr(param, "geometry is missing")
	default:
		return Area{}, paramErr(param, "geometry must be a Polygon or MultiPolygon, got %s", g.GeoJSONType())
	}
	if len(mp) == 0 {
		return Area{}, paramErr(param, "polygon is empty")
	}
	vertices := 0
	area := 0.0
	for i, p := range mp {
		if len(p) == 0 {
			return Area{}, paramErr(param, "polygon %d has no rings", i)
		}
		for j, r := range p {
			if len(r) < 4 {
				return Area{}, paramErr(param, "ring %d of polygon %d has %d positions; a ring needs at least 4", j, i, len(r))
			}
			if r[0] != r[len(r)-1] {
				return Area{}, paramErr(param, "ring %d of polygon %d is not closed (first and last positions differ)", j, i)
			}
			for _, pt := range r {
				if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
					return Area{}, paramErr(param, "position (%g, %g) is not a WGS-84 longitude, latitude in degrees", pt[0], pt[1])
				}
			}
			vertices += len(r)
			if lim.MaxVertices > 0 && vertices > lim.MaxVertices {
				return Area{}, paramErr(param, "too many vertices (more than %d)", lim.MaxVertices)
			}
		}
		area += math.Abs(orbgeo.Area(p))
	}
	if lim.MaxAreaKm2 > 0 && area/1e6 > lim.MaxAreaKm2 {
		return Area{}, paramErr(param, "area %.1f km² exceeds the limit of %g km²", area/1e6, lim.MaxAreaKm2)
	}
	b, err := geojson.NewGeometry(mp).MarshalJSON()
	if err != nil {
		return Area{}, fmt.Errorf("marshal polygon: %w", err)
	}
	return Area{GeoJSON: string(b), Bound: mp.Bound()}, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case asErr(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case asErr(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q: want %s", te.Field, te.Type)
		}
		return fmt.Sprintf("want %s", te.Type)
	}
	return truncate(err.Error(), 120)
}

func countVertices(g orb.Geometry) int {
	n := 0
	switch v := g.(type) {
	case orb.Polygon:
		for _, r := range v {
			n += len(r)
		}
	case orb.MultiPolygon:
		for _, p := range v {
			n += countVertices(p)
		}
	}
	return n
}

func polygonJSON(p orb.Polygon) (string, error) {
	b, err := geojson.NewGeometry(p).MarshalJSON()
	return string(b), err
}
