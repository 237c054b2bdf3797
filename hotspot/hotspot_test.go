package hotspot_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/geo"
	stats "github.com/onegrid/onegrid/geo/hotspot"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixtureDB returns a database holding the fixture city and a service on it
// whose clock is the fixture's Now.
func fixtureDB(t *testing.T) (*pgxpool.Pool, *hotspot.Service, *fixture.City) {
	t.Helper()
	db := pgtest.New(t)
	city := fixture.New()
	if err := city.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db, hotspot.New(db, hotspot.Config{Now: func() time.Time { return fixture.Now }}), city
}

// eventKeys reads the events' record keys.
func eventKeys(t *testing.T, db *pgxpool.Pool, table string) map[int64]uint64 {
	t.Helper()
	k, err := sdctest.Keys(context.Background(), db, table)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// released is the value an analysis reads for a cell whose records are s: the
// count as internal/sdctest releases it, 0 when suppressed.
func released(s sdctest.Set, figure uint64) float64 {
	if v := sdctest.Count(5, s, figure); v != nil {
		return float64(*v)
	}
	return 0
}

// expected computes the analysis independently of the SQL: counts from the
// fixture's Go values, released by internal/sdctest from the events' record
// keys (keys), cells from the area's rectangle, Gi* from geo/hotspot. total is
// every counted event of the study area.
func expected(t *testing.T, city *fixture.City, keys map[int64]uint64, p hotspot.Params) (cells []h3.Cell, counts []float64, total sdctest.Set, a *stats.Analysis) {
	t.Helper()
	var g orb.Geometry = orb.Bound{Min: orb.Point{114.00, 22.50}, Max: orb.Point{114.04, 22.52}}
	prefix := ""
	if p.Area != "" {
		ar := city.Area(p.Area)
		g, prefix = ar.Bound, p.Area
		if strings.HasSuffix(p.Area, "000000") {
			prefix = p.Area[:6]
		} else if strings.HasSuffix(p.Area, "000") {
			prefix = p.Area[:9]
		}
	}
	raw, err := geo.CellsInPolygon(g, p.Res)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range raw {
		cells = append(cells, h3.Cell(c))
	}
	w, err := stats.NewH3Weights(cells, p.K)
	if err != nil {
		t.Fatal(err)
	}
	sets := make([]sdctest.Set, w.N())
	for _, e := range city.Events {
		if e.ReportedAt.Before(p.From) || !e.ReportedAt.Before(p.To) || !strings.HasPrefix(e.Category, p.Category) || !strings.HasPrefix(e.GridCode, prefix) {
			continue
		}
		// Stored cells are res 12; coarser cells are their parents (which
		// need not contain the point: H3 children do not tile their parent).
		c12, err := geo.CellAt(e.Point[0], e.Point[1], geo.StorageRes)
		if err != nil {
			t.Fatal(err)
		}
		c := geo.ParentBits(c12, p.Res)
		if i, ok := w.Index(h3.Cell(c)); ok {
			sets[i].Add(keys[e.ID])
			total.Add(keys[e.ID])
		}
	}
	counts = make([]float64, w.N())
	for i, set := range sets {
		counts[i] = released(set, sdctest.Events)
	}
	a, err = stats.Analyze(w, counts, stats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return w.Cells(), counts, total, a
}

func TestAnalyzeMatchesGo(t *testing.T) {
	db, svc, city := fixtureDB(t)
	keys := eventKeys(t, db, "event")
	from := fixture.Now.AddDate(0, 0, -365)
	for _, tc := range []struct {
		name string
		p    hotspot.Params
	}{
		{"city res9 k1", hotspot.Params{Res: 9, K: 1}},
		{"city res10 k2", hotspot.Params{Res: 10, K: 2}},
		{"district res10 k1 category 01", hotspot.Params{Area: "440304000000", Res: 10, K: 1, Category: "01"}},
		{"street res10 k1", hotspot.Params{Area: "440304002000", Res: 10, K: 1}},
		{"community res11 k3", hotspot.Params{Area: "440304001001", Res: 11, K: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			p.From, p.To = from, fixture.Now
			got, err := svc.Analyze(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != hotspot.StatusOK {
				t.Fatalf("status %s: %s", got.Status, got.Reason)
			}
			cells, counts, all, want := expected(t, city, keys, p)
			if len(got.Cells) != len(cells) {
				t.Fatalf("%d cells, want %d", len(got.Cells), len(cells))
			}
			for i, c := range got.Cells {
				if float64(c.Count) != counts[i] {
					t.Errorf("cell %x: count %d, want %v", c.Cell, c.Count, counts[i])
				}
			}
			for i, c := range got.Cells {
				if c.Cell != int64(cells[i]) || float64(c.Count) != counts[i] {
					t.Fatalf("cell %d: %x count %d, want %x count %v", i, c.Cell, c.Count, cells[i], counts[i])
				}
				if math.Abs(c.Z-want.Z[i]) > 1e-9 || c.Bin != want.Bin[i] || c.BinFDR != want.BinFDR[i] {
					t.Fatalf("cell %x: z %v bin %d/%d, want %v %d/%d", c.Cell, c.Z, c.Bin, c.BinFDR, want.Z[i], want.Bin[i], want.BinFDR[i])
				}
				if c.Count%5 != 0 {
					t.Errorf("cell %x: count %d, no multiple of 5", c.Cell, c.Count)
				}
			}
			if w := released(all, sdctest.Events); float64(got.Summary.Events) != w {
				t.Errorf("summary events %d, want %v (of %d)", got.Summary.Events, w, all.N)
			}
			t.Logf("%d cells, %d events, %d dropped, hot %+v hot_fdr %+v, note %q", got.Summary.Cells, got.Summary.Events, got.Summary.Dropped, got.Summary.Hot, got.Summary.HotFDR, got.Summary.Note)
		})
	}
}

func TestAnalyzeRates(t *testing.T) {
	db, svc, city := fixtureDB(t)
	p := hotspot.Params{Res: 10, K: 1, From: fixture.Now.AddDate(0, 0, -365), To: fixture.Now, By: hotspot.ByRate}
	cells, counts, _, _ := expected(t, city, eventKeys(t, db, "event"), p)
	w, _ := stats.NewH3Weights(cells, 1)
	hkeys := eventKeys(t, db, "household")
	hh := make([]sdctest.Set, w.N())
	var allHH sdctest.Set
	for _, h := range city.Households {
		c12, _ := geo.CellAt(h.Point[0], h.Point[1], geo.StorageRes)
		c := geo.ParentBits(c12, 10)
		if i, ok := w.Index(h3.Cell(c)); ok {
			hh[i].Add(hkeys[h.ID])
			allHH.Add(hkeys[h.ID])
		}
	}
	// Rates over the released households (0 when suppressed: rate 0).
	base := make([]float64, w.N())
	for i, set := range hh {
		base[i] = released(set, sdctest.Households)
	}
	for _, smooth := range []string{"", hotspot.SmoothEB} {
		t.Run("smooth="+smooth, func(t *testing.T) {
			p.Smooth = smooth
			got, err := svc.Analyze(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			rates, _ := stats.Rates(counts, base, 1000)
			if smooth == hotspot.SmoothEB {
				rates, _ = stats.EBRates(counts, base, 1000)
			}
			want, err := stats.Analyze(w, rates, stats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range got.Cells {
				if math.Abs(c.Value-rates[i]) > 1e-9 || math.Abs(c.Z-want.Z[i]) > 1e-9 || c.BinFDR != want.BinFDR[i] {
					t.Fatalf("cell %x: value %v z %v, want %v %v", c.Cell, c.Value, c.Z, rates[i], want.Z[i])
				}
			}
			if w := released(allHH, sdctest.Households); float64(got.Summary.Households) != w {
				t.Errorf("households %d, want %v (of %d)", got.Summary.Households, w, allHH.N)
			}
		})
	}
}

func TestAnalyzeDegenerate(t *testing.T) {
	db, svc, _ := fixtureDB(t)
	ctx := context.Background()
	now := fixture.Now
	// An area whose every cell has the same count: a grid of its own with five
	// events per cell (released as 5 each), far from the fixture city.
	// ... and a grid that is exactly one res-10 hexagon.
	one, _ := geo.CellAt(116.1, 39.9, 10)
	hex := wkt.MarshalString(geo.CellBoundary(one))
	_, err := db.Exec(ctx, `INSERT INTO grid (code, level, name, geom) VALUES
		('990000000000001', 'grid', 'flat', ST_Multi(ST_MakeEnvelope(116.00, 39.90, 116.02, 39.91, 4326))),
		('990000000000002', 'grid', 'tiny', ST_Multi(ST_GeomFromText($1, 4326)))`, hex)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := geo.CellsInPolygon(orb.Bound{Min: orb.Point{116.00, 39.90}, Max: orb.Point{116.02, 39.91}}, 9)
	for _, c := range raw {
		ll := h3.Cell(c).LatLng()
		cell12, _ := geo.CellAt(ll.Lng, ll.Lat, 12)
		_, err := db.Exec(ctx, `INSERT INTO event (category_code, source, status, reported_at, geom, h3, grid_code)
			SELECT '010101', 'patrol', 'reported', $1, ST_Point($2, $3, 4326), $4, '99000000000000101' FROM generate_series(1, 5)`,
			now.Add(-time.Hour), ll.Lng, ll.Lat, cell12)
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, reason string
		p            hotspot.Params
	}{
		{"no events in window", "only 0 events", hotspot.Params{Res: 9, K: 1, From: now.AddDate(-3, 0, 0), To: now.AddDate(-2, 0, 0)}},
		{"too few events", "at least", hotspot.Params{Res: 9, K: 1, From: now.Add(-24 * time.Hour), To: now, Category: "02"}},
		{"all counts equal", "same value", hotspot.Params{Area: "990000000000001", Res: 9, K: 1, From: now.AddDate(0, 0, -1), To: now}},
		{"no cell in area", "no cell centre", hotspot.Params{Area: "990000000000002", Res: 7, K: 1, From: now.AddDate(0, 0, -1), To: now}},
		{"one cell area", "has 1 cell", hotspot.Params{Area: "990000000000002", Res: 10, K: 1, From: now.AddDate(0, 0, -1), To: now}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := svc.Analyze(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != hotspot.StatusNothingToFind || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("status %q reason %q, want nothing_to_find with %q", r.Status, r.Reason, tc.reason)
			}
		})
	}
}

func TestAnalyzeBadParams(t *testing.T) {
	_, svc, _ := fixtureDB(t)
	now := fixture.Now
	ok := hotspot.Params{Res: 9, K: 1, From: now.AddDate(0, 0, -30), To: now}
	for _, tc := range []struct {
		name, param string
		edit        func(p *hotspot.Params)
	}{
		{"res low", "res", func(p *hotspot.Params) { p.Res = 4 }},
		{"res high", "res", func(p *hotspot.Params) { p.Res = 12 }},
		{"k", "k", func(p *hotspot.Params) { p.K = 6 }},
		{"window reversed", "from", func(p *hotspot.Params) { p.From = p.To.Add(time.Hour) }},
		{"window too long", "from", func(p *hotspot.Params) { p.From = p.To.AddDate(-2, 0, 0) }},
		{"by", "by", func(p *hotspot.Params) { p.By = "density" }},
		{"smooth without rate", "smooth", func(p *hotspot.Params) { p.Smooth = "eb" }},
		{"unknown category", "category", func(p *hotspot.Params) { p.Category = "99" }},
		{"malformed category", "category", func(p *hotspot.Params) { p.Category = "0'1" }},
		{"unknown area", "area", func(p *hotspot.Params) { p.Area = "440304009000" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			tc.edit(&p)
			_, err := svc.Analyze(context.Background(), p)
			var pe *hotspot.ParamError
			if !errors.As(err, &pe) || pe.Param != tc.param {
				t.Fatalf("error %v, want a ParamError on %s", err, tc.param)
			}
		})
	}
}
