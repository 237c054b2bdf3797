package tiles

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// TileJSON is a TileJSON 3.0.0 document (https://github.com/mapbox/tilejson-spec).
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description,omitempty"`
	Version      string        `json:"version"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []VectorLayer `json:"vector_layers"`
}

// VectorLayer describes one MVT layer of a TileJSON document.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

func (l *Layer) vectorLayers() []VectorLayer {
	out := []VectorLayer{{ID: l.Name, Description: l.Description, MinZoom: l.MinZoom, MaxZoom: l.ServeMax, Fields: l.Fields}}
	if l.Label != "" {
		out = append(out, VectorLayer{ID: l.Label, Description: "label points of " + l.Name + " (a point on each polygon's surface)",
			MinZoom: l.MinZoom, MaxZoom: l.ServeMax, Fields: l.LabelFields})
	}
	return out
}

// TileJSON describes the named layer (or All) with tile URLs under baseURL, the
// server's configured public base URL (scheme://host, no trailing slash; never
// taken from a request's Host header); query, if not empty, is appended to the tile
// URL (the event filters). Bounds come from the data: the extent of the admin areas
// and current grids.
func (s *Service) TileJSON(ctx context.Context, baseURL, name, query string) (*TileJSON, error) {
	var ls []*Layer
	if name == All {
		ls = layers
	} else {
		l, ok := layerByName[name]
		if !ok {
			return nil, ErrUnknownLayer
		}
		ls = []*Layer{l}
	}
	bounds, err := s.dataBounds(ctx)
	if err != nil {
		return nil, err
	}
	url := baseURL + "/tiles/" + name + "/{z}/{x}/{y}.pbf"
	if query != "" {
		url += "?" + query
	}
	tj := &TileJSON{
		TileJSON: "3.0.0", Name: "onegrid " + name, Version: "1.0.0", Scheme: "xyz",
		Tiles: []string{url}, MinZoom: 24, Bounds: bounds,
	}
	for _, l := range ls {
		tj.MinZoom = min(tj.MinZoom, l.MinZoom)
		tj.MaxZoom = max(tj.MaxZoom, l.ServeMax)
		tj.VectorLayers = append(tj.VectorLayers, l.vectorLayers()...)
	}
	if len(ls) == 1 {
		tj.Description = ls[0].Description
	}
	tj.Center = [3]float64{(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, float64(max(tj.MinZoom, 10))}
	return tj, nil
}

const boundsQuery = `SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (
	SELECT ST_Extent(geom) AS b FROM (
		SELECT geom FROM admin_area UNION ALL SELECT geom FROM grid WHERE valid_to IS NULL
	) s
) q WHERE b IS NOT NULL`

// dataBounds returns the extent of the admin areas and current grids in degrees,
// west, south, east, north (the whole Web Mercator world when there are none),
// cached until the admin or grids layer changes.
func (s *Service) dataBounds(ctx context.Context) ([4]float64, error) {
	vset, err := s.vers.get(ctx)
	if err != nil {
		return [4]float64{}, err
	}
	key := strconv.FormatInt(vset.v["admin"], 10) + "/" + strconv.FormatInt(vset.v["grids"], 10)
	s.boundsMu.Lock()
	if s.boundsKey == key {
		b := s.bounds
		s.boundsMu.Unlock()
		return b, nil
	}
	s.boundsMu.Unlock()
	var b [4]float64
	err = readSnapshot(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, boundsQuery).Scan(&b[0], &b[1], &b[2], &b[3])
	})
	switch {
	case err == pgx.ErrNoRows:
		b = [4]float64{-180, -85.0511, 180, 85.0511}
	case err != nil:
		return b, fmt.Errorf("tile bounds: %w", err)
	}
	s.boundsMu.Lock()
	s.boundsKey, s.bounds = key, b
	s.boundsMu.Unlock()
	return b, nil
}

// Style returns a MapLibre style drawing every layer from this server alone: no
// basemap, glyphs or sprites from elsewhere, and no text (text needs glyphs), on a
// dark command-centre background. baseURL is the public base URL, as for
// TileJSON; query (the event filters) is passed to the tile sources.
func Style(baseURL, query string) map[string]any {
	src := func(name string) map[string]any {
		u := baseURL + "/tiles/" + name + ".json"
		if query != "" {
			u += "?" + query
		}
		return map[string]any{"type": "vector", "url": u}
	}
	sources := map[string]any{}
	for _, l := range layers {
		sources[l.Name] = src(l.Name)
	}
	fill := func(id, source, layer string, minz, maxz int, paint map[string]any, filter []any) map[string]any {
		m := map[string]any{"id": id, "type": "fill", "source": source, "source-layer": layer, "minzoom": minz, "maxzoom": maxz, "paint": paint}
		if filter != nil {
			m["filter"] = filter
		}
		return m
	}
	line := func(id, source, layer string, minz int, paint map[string]any) map[string]any {
		return map[string]any{"id": id, "type": "line", "source": source, "source-layer": layer, "minzoom": minz, "paint": paint}
	}
	circle := func(id, source, layer string, minz int, paint map[string]any) map[string]any {
		return map[string]any{"id": id, "type": "circle", "source": source, "source-layer": layer, "minzoom": minz, "paint": paint}
	}
	// Colour ramps for counts (interpolate on a property).
	ramp := func(prop string, stops ...any) []any {
		return append([]any{"interpolate", []any{"linear"}, []any{"coalesce", []any{"get", prop}, 0}}, stops...)
	}
	styleLayers := []any{
		map[string]any{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#0b1220"}},
		fill("households-h3", "households_h3", "households_h3", 0, 24, map[string]any{
			"fill-color":   ramp("households", 5, "#1b2a41", 100, "#24456b", 500, "#2f6fa3", 2000, "#5fa8d3"),
			"fill-opacity": 0.45,
		}, nil),
		fill("admin-fill", "admin", "admin", 0, 24, map[string]any{
			"fill-color":   ramp("open_events", 0, "#13213a", 50, "#3a2a4f", 500, "#6b2d4f"),
			"fill-opacity": 0.25,
		}, nil),
		line("admin-line", "admin", "admin", 0, map[string]any{"line-color": "#7aa2f7", "line-width": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 8, 1, 14, 2.5}}),
		fill("grids-fill", "grids", "grids", 12, 24, map[string]any{
			"fill-color":   ramp("households", 0, "#0f2a2a", 200, "#14505a", 1000, "#1f8a8a"),
			"fill-opacity": 0.3,
		}, nil),
		line("grids-line", "grids", "grids", 12, map[string]any{"line-color": "#2ec4b6", "line-width": []any{"interpolate", []any{"linear"}, []any{"zoom"}, 12, 0.5, 16, 1.5}, "line-opacity": 0.8}),
		fill("buildings", "buildings", "buildings", 14, 24, map[string]any{"fill-color": "#4b5563", "fill-outline-color": "#9ca3af", "fill-opacity": 0.8}, nil),
		fill("events-h3", "events_h3", "events_h3", 0, 14, map[string]any{
			"fill-color":   ramp("events", 1, "#fde68a", 20, "#f59e0b", 100, "#ef4444", 500, "#991b1b"),
			"fill-opacity": 0.6,
		}, nil),
		fill("hotspots", "hotspots", "hotspots", 0, 24, map[string]any{
			"fill-color":   []any{"match", []any{"get", "bin_fdr"}, 3, "#ff1744", 2, "#ff6d00", 1, "#ffab00", []any{"match", []any{"get", "bin"}, 3, "#ff8a80", 2, "#ffab91", 1, "#ffe0b2", "#90caf9"}},
			"fill-opacity": []any{"case", []any{"!=", []any{"get", "bin_fdr"}, 0}, 0.7, 0.3},
		}, nil),
		line("events-h3-line", "events_h3", "events_h3", 0, map[string]any{"line-color": "#fbbf24", "line-width": 0.3, "line-opacity": 0.5}),
		circle("addresses", "addresses", "addresses", 16, map[string]any{"circle-radius": 2, "circle-color": "#a5b4fc", "circle-opacity": 0.7}),
		circle("events", "events", "events", 14, map[string]any{
			"circle-radius": []any{"match", []any{"get", "severity"}, "urgent", 6, "important", 4.5, 3.5},
			"circle-color": []any{"case",
				[]any{"==", []any{"get", "overdue"}, true}, "#ff2d55",
				[]any{"match", []any{"get", "status"}, []any{"literal", openStatuses}, true, false}, "#f97316",
				"#22c55e"},
			"circle-stroke-color": "#0b1220", "circle-stroke-width": 1,
		}),
		circle("grid-label", "grids", "grid_label", 12, map[string]any{
			"circle-radius": []any{"interpolate", []any{"linear"}, []any{"coalesce", []any{"get", "open_events"}, 0}, 0, 2, 50, 8},
			"circle-color":  "#2ec4b6", "circle-opacity": 0.8,
		}),
		circle("admin-label", "admin", "admin_label", 0, map[string]any{
			"circle-radius": []any{"interpolate", []any{"linear"}, []any{"coalesce", []any{"get", "open_events"}, 0}, 0, 3, 500, 12},
			"circle-color":  "#7aa2f7", "circle-opacity": 0.8, "circle-stroke-color": "#0b1220", "circle-stroke-width": 1,
		}),
	}
	return map[string]any{
		"version": 8,
		"name":    "onegrid command centre",
		"metadata": map[string]any{
			"onegrid:note": "self-contained: no basemap, glyphs or sprites from outside; labels are drawn as points sized by open events",
		},
		"center":  []float64{114.06, 22.55},
		"zoom":    10,
		"sources": sources,
		"layers":  styleLayers,
	}
}
