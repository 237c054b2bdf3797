package tiles

import (
	"context"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// RenderEventsH3Rows renders events_h3 for a filter by grouping the event rows
// in PostgreSQL, the way the service answered windowed and category-filtered
// tiles before it held the event index: the reference the index must match.
func (s *Service) RenderEventsH3Rows(ctx context.Context, t geo.Tile, f Filter) ([]byte, error) {
	sql, err := os.ReadFile("testdata/events_h3_raw.sql")
	if err != nil {
		return nil, err
	}
	res := geo.ResolutionForZoom(t.Z)
	// The simple protocol: the query is planned with the filter's values.
	rows, _ := s.pool.Query(ctx, string(sql), append([]any{pgx.QueryExecModeSimpleProtocol, t.Z, t.X, t.Y, res, h3Margin(t, res)}, f.args()...)...)
	var feats []h3Feature
	var cell int64
	var events, open int32
	_, err = pgx.ForEachRow(rows, []any{&cell, &events, &open}, func() error {
		feats = append(feats, h3Feature{cell: cell, props: eventsProps(cell, res, int64(events), int64(open))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return encodeH3("events_h3", t, feats)
}

// EventIndexLoads returns how many times the event index was read whole and how
// many times it was brought up to date from the rows changed since.
func (s *Service) EventIndexLoads() (full, incremental int64) {
	return s.ev.full.Load(), s.ev.incremental.Load()
}

// EventIndexBytes returns the memory the current event index holds (0: none yet).
func (s *Service) EventIndexBytes() int {
	if ix := s.ev.cur.Load(); ix != nil {
		return ix.bytes()
	}
	return 0
}

// RenderH3BySQL renders an H3 layer (no time window or category) with one query
// per tile, the way the service did before it held the aggregates in memory: the
// reference the in-memory path must match. households_h3 comes with its raw
// figures and key sums, for the test to release.
func (s *Service) RenderH3BySQL(ctx context.Context, layer string, t geo.Tile, f Filter) ([]byte, error) {
	res := geo.ResolutionForZoom(t.Z)
	margin := h3Margin(t, res)
	var feats []h3Feature
	var cell int64
	switch layer {
	case "events_h3":
		sql, err := os.ReadFile("testdata/events_h3_agg.sql")
		if err != nil {
			return nil, err
		}
		var st any
		if len(f.Status) > 0 {
			st = f.Status
		}
		rows, _ := s.pool.Query(ctx, string(sql), t.Z, t.X, t.Y, res, margin, st)
		var events, open int32
		_, err = pgx.ForEachRow(rows, []any{&cell, &events, &open}, func() error {
			feats = append(feats, h3Feature{cell: cell, props: eventsProps(cell, res, int64(events), int64(open))})
			return nil
		})
		if err != nil {
			return nil, err
		}
	case "households_h3":
		// Raw figures and key sums (hkey, tagkey_<tag>: their low 32 bits), every
		// cell and tag: the test applies the disclosure-control rule itself.
		sql, err := os.ReadFile("testdata/households_h3.sql")
		if err != nil {
			return nil, err
		}
		rows, _ := s.pool.Query(ctx, string(sql), t.Z, t.X, t.Y, res, margin)
		var households, people int32
		var hkey int64
		var tags []string
		var counts []int32
		var keys []int64
		_, err = pgx.ForEachRow(rows, []any{&cell, &households, &people, &hkey, &tags, &counts, &keys}, func() error {
			p := []prop{strProp("cell", geo.CellString(cell)), numProp("res", int64(res)),
				numProp("households", int64(households)), numProp("people", int64(people)), numProp("hkey", int64(uint32(hkey)))}
			for i, tag := range tags {
				p = append(p, numProp("tag_"+tag, int64(counts[i])), numProp("tagkey_"+tag, int64(uint32(keys[i]))))
			}
			feats = append(feats, h3Feature{cell: cell, props: p})
			return nil
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, ErrUnknownLayer
	}
	return encodeH3(layer, t, feats)
}

// RenderOutlinesBySQL renders the admin or grids layer with the per-tile query the
// service ran before it drew them itself: the reference for its drawing.
func (s *Service) RenderOutlinesBySQL(ctx context.Context, layer string, t geo.Tile) ([]byte, error) {
	l, ok := layerByName[layer]
	if !ok || l.kind != kindUnits {
		return nil, ErrUnknownLayer
	}
	if !l.inZoom(t.Z) {
		return nil, nil
	}
	sql, err := os.ReadFile("testdata/" + layer + ".sql")
	if err != nil {
		return nil, err
	}
	var b []byte
	err = s.pool.QueryRow(ctx, string(sql), t.Z, t.X, t.Y).Scan(&b)
	return b, err
}

// RenderEventsBySQL renders the events layer with ST_AsMVT, as the service did
// before it encoded the points itself: the reference for its encoding.
func (s *Service) RenderEventsBySQL(ctx context.Context, t geo.Tile, f Filter) ([]byte, error) {
	sql, err := os.ReadFile("testdata/events.sql")
	if err != nil {
		return nil, err
	}
	var b []byte
	err = s.pool.QueryRow(ctx, string(sql), append([]any{t.Z, t.X, t.Y}, f.args()...)...).Scan(&b)
	return b, err
}

// DrawH3 draws an unfiltered H3 layer from the in-memory aggregate as it stands,
// without the per-request version check: the drawing alone, for benchmarks.
func (s *Service) DrawH3(ctx context.Context, layer string, t geo.Tile) ([]byte, error) {
	l := layerByName[layer]
	r := &request{sc: scope.System(), vset: &versionSet{v: map[string]int64{}}, sens: &Sensitivity{}}
	if layer == "households_h3" {
		return s.renderHouseholdsH3(ctx, r, l, t)
	}
	return s.renderEventsH3(ctx, r, l, t, Filter{})
}

// AgeDays is ageDays, for the comparison with PostgreSQL.
var AgeDays = ageDays

// ViewIndexLoads returns how many times the event index of the scope's
// jurisdiction was read whole and brought up to date.
func (s *Service) ViewIndexLoads(sc scope.Scope) (full, incremental int64) {
	v := s.viewFor(sc)
	return v.ev.full.Load(), v.ev.incremental.Load()
}

// LayerMinZoom returns a layer's lowest zoom with data.
func LayerMinZoom(name string) int { return layerByName[name].MinZoom }

// RenderHotspotsBySQL renders the hotspots layer of the whole city with the
// per-tile query the service ran before it held the cells in memory.
func (s *Service) RenderHotspotsBySQL(ctx context.Context, t geo.Tile, f Filter) ([]byte, error) {
	sql, err := os.ReadFile("testdata/hotspots.sql")
	if err != nil {
		return nil, err
	}
	var b []byte
	err = s.pool.QueryRow(ctx, string(sql), append([]any{t.Z, t.X, t.Y}, f.args()...)...).Scan(&b)
	return b, err
}
