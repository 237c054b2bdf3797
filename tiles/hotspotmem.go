package tiles

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// The hotspots layer is drawn from memory too: the significant cells of the
// latest stored standard analyses are a few hundred rows, read again when the
// hotspots version moves (a run stored or pruned). Per tile the SQL cost about
// as much as the rest of the request (the caller's identity, the query, its
// round trip), which made an empty hotspots tile the slowest of its zoom.
//
// What a snapshot holds is what the identity it is read under may see:
// hotspotsQuery takes, per category, the latest standard run of each area the
// caller may read (row-level security on hotspot_run answers only runs whose
// area lies inside the jurisdiction) that no other such area contains. For the
// whole city that is the whole city's analysis; for a district, each of its
// streets'; nothing for a community or a grid, which no standard run covers
// alone. A cell in the study areas of two such runs (on a street boundary) is
// drawn once, with its strongest result.
const hotspotsQuery = `WITH areas AS (
    SELECT DISTINCT r.category, r.area FROM hotspot_run r WHERE r.standard
), top AS (
    SELECT a.category, a.area FROM areas a
    WHERE NOT EXISTS (SELECT 1 FROM areas b
                      WHERE b.category = a.category AND b.area <> a.area AND inside(a.area, unit_prefix(b.area)))
), latest AS (
    SELECT DISTINCT ON (r.category, r.area) r.id, r.category, r.computed_at
    FROM hotspot_run r JOIN top t ON t.category = r.category AND t.area = r.area
    WHERE r.standard
    ORDER BY r.category, r.area, r.computed_at DESC, r.id DESC
)
SELECT DISTINCT ON (l.category, c.cell) l.category, c.cell, c.count, round(c.z::numeric, 3)::float8, c.p,
       c.bin, c.bin_fdr, l.computed_at::text
FROM latest l JOIN hotspot_cell c ON c.run_id = l.id
WHERE c.bin <> 0 OR c.bin_fdr <> 0
ORDER BY l.category, c.cell, c.bin_fdr DESC, c.bin DESC, c.z DESC`

// hotspotsSnap is the significant cells of the latest standard runs, per
// category ("" = all categories), as of one version of the hotspots layer.
type hotspotsSnap struct {
	version int64
	byCat   map[string]*hotspotCells
}

type hotspotCells struct {
	grid  h3Grid   // by the centres of the cells; h3Point.i indexes props
	props [][]prop // cell, count, z, p, bin, bin_fdr, computed_at
	res   int      // the cells' resolution (the standard runs': one per category)
}

// loadHotspots reads the snapshot under the identity sc.
func loadHotspots(ctx context.Context, pool *pgxpool.Pool, sc scope.Scope) (*hotspotsSnap, error) {
	s := &hotspotsSnap{byCat: map[string]*hotspotCells{}}
	err := readSnapshot(ctx, pool, sc, func(tx pgx.Tx) (err error) {
		if s.version, err = layerVersion(ctx, tx, "hotspots"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, hotspotsQuery)
		var category, computed string
		var cell int64
		var count, bin, binFDR int32
		var z, p float64
		_, err = pgx.ForEachRow(rows, []any{&category, &cell, &count, &z, &p, &bin, &binFDR, &computed}, func() error {
			hc := s.byCat[category]
			if hc == nil {
				hc = &hotspotCells{res: geo.CellRes(cell)}
				s.byCat[category] = hc
			}
			ll := geo.CellCenter(cell)
			x, y := geo.LonLatToMercator(ll[0], ll[1])
			hc.grid = append(hc.grid, h3Point{x: x, y: y, cell: cell, i: int32(len(hc.props))})
			hc.props = append(hc.props, []prop{uniqueProp("cell", geo.CellString(cell)), numProp("count", int64(count)),
				floatProp("z", z), floatProp("p", p), numProp("bin", int64(bin)), numProp("bin_fdr", int64(binFDR)),
				strProp("computed_at", computed)})
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read hotspots: %w", err)
	}
	for _, hc := range s.byCat {
		hc.grid.index()
		var d valueDict
		for _, p := range hc.props {
			d.number(p)
		}
	}
	return s, nil
}

// cells appends the features of tile t for the category filter (all or a
// top-level category; any other finds no run) to feats.
func (s *hotspotsSnap) cells(feats []h3Feature, t geo.Tile, category string) []h3Feature {
	hc := s.byCat[category]
	if hc == nil {
		return feats
	}
	minX, minY, maxX, maxY := h3Window(t, hc.res)
	hc.grid.in(minX, minY, maxX, maxY, func(p *h3Point) {
		feats = append(feats, h3Feature{cell: p.cell, ring: p.ring, props: hc.props[p.i]})
	})
	return feats
}

// bytes is about what the snapshot holds.
func (s *hotspotsSnap) bytes() int64 {
	n := int64(0)
	for _, hc := range s.byCat {
		n += int64(len(hc.grid))*sizeofH3Point + int64(len(hc.props))*(24+7*sizeofProp)
	}
	return n
}

// hotspots returns the whole city's hotspots snapshot, version want or newer.
func (s *Service) hotspots(ctx context.Context, want int64) (*hotspotsSnap, error) {
	return s.hot.get(func(v *hotspotsSnap) bool { return v.version >= want }, func(*hotspotsSnap) (*hotspotsSnap, error) {
		return loadHotspots(ctx, s.pool, scope.System())
	})
}

// renderHotspots draws the hotspots layer from the snapshot of the caller's
// jurisdiction.
func (s *Service) renderHotspots(ctx context.Context, r *request, l *Layer, t geo.Tile, f Filter) ([]byte, error) {
	version := r.vset.v[l.Sources[0]]
	var snap *hotspotsSnap
	var err error
	if r.view == nil {
		snap, err = s.hotspots(ctx, version)
	} else {
		snap, err = r.view.hotspots(ctx, version)
	}
	if err != nil {
		return nil, err
	}
	return encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature { return snap.cells(buf, t, f.Category) })
}
