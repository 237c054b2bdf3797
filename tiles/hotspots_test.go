package tiles_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// storeRun writes a standard hotspot run with the given (bin, bin_fdr) per cell, as
// the hotspot service stores them.
func storeRun(t *testing.T, db *pgx.Conn, category string, at time.Time, bins map[int64][2]int) {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO hotspot_run (param_key, params, area, category, res, k, by, from_at, to_at, computed_at, status, standard)
		VALUES ($1, '{}', '', $2, 9, 1, 'count', $3::timestamptz - interval '30 days', $3, $3, 'ok', true) RETURNING id`,
		"test|"+category, category, at).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	for cell, b := range bins {
		ring := geo.CellBoundary(cell)
		if _, err := db.Exec(ctx, `INSERT INTO hotspot_cell (run_id, cell, count, value, z, p, bin, bin_fdr, geom)
			VALUES ($1, $2, 7, 7, $3, 0.01, $4, $5, ST_GeomFromText($6, 4326))`,
			id, cell, float64(b[0])+0.5, b[0], b[1], wkt.MarshalString(ring)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHotspotsLayer(t *testing.T) {
	s, conn := open(t, tiles.Config{CacheBytes: 1 << 20})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	centre := orb.Point{114.02, 22.51}
	c0, err := geo.CellAt(centre[0], centre[1], 9)
	if err != nil {
		t.Fatal(err)
	}
	var cells []int64
	for i := 0; i < 4; i++ {
		p := orb.Point{centre[0] + 0.01*float64(i), centre[1]}
		c, _ := geo.CellAt(p[0], p[1], 9)
		cells = append(cells, c)
	}
	if cells[0] != c0 {
		t.Fatal("cell maths disagree")
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// Hot after FDR, hot before FDR only, not significant, and (for category 01) one more.
	storeRun(t, db, "", now, map[int64][2]int{cells[0]: {3, 3}, cells[1]: {2, 0}, cells[2]: {0, 0}})
	storeRun(t, db, "01", now, map[int64][2]int{cells[3]: {3, 2}})

	tile := at([2]float64{centre[0] + 0.015, centre[1]}, 11)
	ids := func(f tiles.Filter) map[string]float64 {
		raw, err := s.Render(context.Background(), scope.System(), "hotspots", tile, f)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		if fc := decode(t, raw)["hotspots"]; fc != nil {
			for _, f := range fc.Features {
				got[f.Properties["cell"].(string)] = f.Properties["bin_fdr"].(float64)
			}
		}
		return got
	}
	want := map[string]float64{geo.CellString(cells[0]): 3, geo.CellString(cells[1]): 0}
	if got := ids(tiles.Filter{}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("all categories: cells %v, want %v (significant cells only)", got, want)
	}
	if got := ids(tiles.Filter{Category: "01"}); fmt.Sprint(got) != fmt.Sprint(map[string]float64{geo.CellString(cells[3]): 2}) {
		t.Errorf("category 01: cells %v", got)
	}
	if got := ids(tiles.Filter{Category: "0101"}); len(got) != 0 {
		t.Errorf("a category without a standard run: cells %v, want none", got)
	}

	// Drawn from memory as the per-tile query drew them, around the cells and
	// across tile edges, per category.
	compared := 0
	for _, z := range []int{9, 11, 12, 13, 14} {
		c := at([2]float64{centre[0] + 0.015, centre[1]}, z)
		for dx := -2; dx <= 2; dx++ {
			for dy := -1; dy <= 1; dy++ {
				tl := geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}
				for _, f := range []tiles.Filter{{}, {Category: "01"}} {
					got, err := s.Render(context.Background(), scope.System(), "hotspots", tl, f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.RenderHotspotsBySQL(context.Background(), tl, f)
					if err != nil {
						t.Fatal(err)
					}
					w, g := decode(t, want), decode(t, got)
					// The query found cells by the tile itself, so it left out a cell
					// that reaches only into the buffer; the other H3 layers, and the
					// layer now, keep it.
					if fc := g["hotspots"]; fc != nil {
						var in []*geojson.Feature
						for _, f := range fc.Features {
							if b := f.Geometry.Bound(); b.Max[0] > 0 && b.Max[1] > 0 && b.Min[0] < tiles.Extent && b.Min[1] < tiles.Extent {
								in = append(in, f)
							}
						}
						if fc.Features = in; len(in) == 0 {
							delete(g, "hotspots")
						}
					}
					t.Run(fmt.Sprintf("%v/%s", tl, f.Category), func(t *testing.T) { compareTiles(t, g, w) })
					for _, fc := range w {
						compared += len(fc.Features)
					}
				}
			}
		}
	}
	if compared < 10 {
		t.Errorf("only %d features compared", compared)
	}

	// A newer run replaces the old one in the very next tile (through the cache).
	if _, err := s.Get(context.Background(), scope.System(), "hotspots", tile, tiles.Filter{}); err != nil { // fills the cache
		t.Fatal(err)
	}
	storeRun(t, db, "", now.Add(time.Hour), map[int64][2]int{cells[2]: {3, 3}})
	after, err := s.Get(context.Background(), scope.System(), "hotspots", tile, tiles.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := after.Raw()
	fc := decode(t, raw)["hotspots"]
	if fc == nil || len(fc.Features) != 1 || fc.Features[0].Properties["cell"] != geo.CellString(cells[2]) {
		t.Fatalf("after a new run the tile holds %v, want only %s", fc, geo.CellString(cells[2]))
	}
}
