package tiles_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// The fixture city's grids A and B (adjacent, in the same street) and the
// prefixes of its units (a scope's units are prefixes: unit_prefix).
const (
	gridA    = "440304001001001"
	gridB    = "440304001002001"
	streetA  = "440304001" // 园岭街道 440304001000: grids A and B
	district = "440304"    // 福田区 440304000000: the whole fixture
)

// as is the scope of a user with the roles over the unit prefixes ("" is
// everything), with duties.
func as(units []string, duties []string, roles ...auth.Role) scope.Scope {
	return scope.Scope{UserID: 42, User: "tester", Units: units, Caps: auth.Capabilities(roles), Duties: duties}
}

// scopedCity is the fixture city served twice: by a tile service connected as
// the application role (as serve runs it, under row-level security) and by one
// connected as the owner, which runs the reference SQL of tiles/testdata.
type scopedCity struct {
	app, owner *tiles.Service
	db         *pgxpool.Pool // the owner's
	city       *fixture.City
}

func openScopedCity(t *testing.T, cfg tiles.Config) *scopedCity {
	t.Helper()
	conn := pgtest.ConnString(t)
	db, err := pgxpool.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	c := &scopedCity{db: db, city: fixture.New()}
	if err := c.city.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if c.app, err = tiles.Open(context.Background(), pgtest.AppConnString(t, conn), cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.app.Close)
	if c.owner, err = tiles.Open(context.Background(), conn, cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.owner.Close)
	return c
}

// fixtureBound is the fixture's district; renderBound that with room for what
// is drawn just outside it (an event coarsened to its resolution-9 cell's centre).
var (
	fixtureBound = orb.Bound{Min: orb.Point{114.00, 22.50}, Max: orb.Point{114.04, 22.52}}
	renderBound  = fixtureBound.Pad(0.006)
)

// layerZooms are the zooms tested, one or more per zoom band of every layer.
var layerZooms = []int{8, 9, 10, 11, 12, 13, 14, 15, 16}

// tileFeature is a decoded feature and the tile it came from.
type tileFeature struct {
	tile geo.Tile
	f    *geojson.Feature
}

// renderAll renders a layer over every tile covering the fixture at zoom z as
// the scope sees it and returns the features by MVT layer.
func renderAll(t *testing.T, s *tiles.Service, sc scope.Scope, layer string, z int, f tiles.Filter) map[string][]tileFeature {
	t.Helper()
	out := map[string][]tileFeature{}
	for _, tl := range geo.TilesCovering(renderBound, z) {
		raw, err := s.Render(context.Background(), sc, layer, tl, f)
		if err != nil {
			t.Fatalf("%s %v: %v", layer, tl, err)
		}
		for name, fc := range decode(t, raw) {
			for _, ft := range fc.Features {
				out[name] = append(out[name], tileFeature{tl, ft})
			}
		}
	}
	return out
}

// inTile reports whether a decoded point lies in its tile proper (not the buffer).
func inTile(f *geojson.Feature) bool {
	p := f.Geometry.(orb.Point)
	return p[0] >= 0 && p[0] < tiles.Extent && p[1] >= 0 && p[1] < tiles.Extent
}

// stored is a point as the fixture stores it (six decimals).
func stored(p orb.Point) orb.Point {
	return orb.Point{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}
}

// cellOf is the cell at res of a point's storage cell (the cells of coarser
// resolutions are its ancestors, which are not always the cells containing the
// point at those resolutions).
func cellOf(p orb.Point, res int) string {
	return h3.LatLngToCell(h3.NewLatLng(p[1], p[0]), geo.StorageRes).Parent(res).String()
}

// eventCells counts events per cell at res ("events/open"), as the H3 library
// places them; coarse says which events count at the centre child of their res-9
// cell instead.
func eventCells(evs []fixture.Event, res int, coarse func(fixture.Event) bool) map[string]string {
	n, open := map[string]int{}, map[string]int{}
	for _, e := range evs {
		c := h3.LatLngToCell(h3.NewLatLng(e.Point[1], e.Point[0]), geo.StorageRes)
		if coarse != nil && coarse(e) && res > 9 {
			c = c.Parent(9).CenterChild(res)
		} else {
			c = c.Parent(res)
		}
		n[c.String()]++
		if e.Open() {
			open[c.String()]++
		}
	}
	out := map[string]string{}
	for c, k := range n {
		out[c] = fmt.Sprintf("%d/%d", k, open[c])
	}
	return out
}

// drawnCells is the cells of decoded events_h3 features, "events/open"; a cell
// drawn in several tiles must say the same in each.
func drawnCells(t *testing.T, fs []tileFeature) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tf := range fs {
		c := tf.f.Properties["cell"].(string)
		v := fmt.Sprintf("%v/%v", tf.f.Properties["events"], tf.f.Properties["open"])
		if old, ok := out[c]; ok && old != v {
			t.Errorf("cell %s drawn as %s and %s", c, old, v)
		}
		out[c] = v
	}
	return out
}

func eventsIn(city *fixture.City, unit string) []fixture.Event {
	var out []fixture.Event
	for _, e := range city.Events {
		if strings.HasPrefix(e.GridCode, unit) {
			out = append(out, e)
		}
	}
	return out
}

// TestLayerRules: every layer of the registry states who may see it, and the
// rule fits what the layer holds; a new layer without a rule fails here.
func TestLayerRules(t *testing.T) {
	rows := map[string]bool{"buildings": true, "addresses": true, "events": true}
	aggregates := map[string]bool{"households_h3": true, "events_h3": true, "hotspots": true}
	outlines := map[string]bool{"admin": true, "grids": true}
	for _, l := range tiles.Layers() {
		switch {
		case l.Need == "":
			t.Errorf("layer %s states no capability (Need): give it one", l.Name)
		case rows[l.Name] && l.Need != scope.CanRows:
			t.Errorf("row layer %s needs %q, want rows", l.Name, l.Need)
		case aggregates[l.Name] && l.Need != scope.CanAggregates:
			t.Errorf("aggregate layer %s needs %q, want aggregates", l.Name, l.Need)
		case outlines[l.Name] && (l.Need != tiles.Anyone || l.FiguresNeed != scope.CanAggregates):
			t.Errorf("outline layer %s needs %q, figures %q; want any identity, figures aggregates", l.Name, l.Need, l.FiguresNeed)
		case !rows[l.Name] && !aggregates[l.Name] && !outlines[l.Name]:
			t.Errorf("layer %s is new: say in this test whether it is a row, aggregate or outline layer", l.Name)
		}
		if l.FiguresNeed != "" && !outlines[l.Name] {
			t.Errorf("layer %s has load figures but is not an outline layer", l.Name)
		}
	}
}

// TestGridWorkerIsolation: a grid worker of grid A gets, in every layer at every
// zoom band, exactly what lies in grid A (computed from the fixture's values) and
// no feature of grid B, from the in-memory layers and the SQL layers alike; and
// the worker of grid B the same of B.
func TestGridWorkerIsolation(t *testing.T) {
	c := openScopedCity(t, tiles.Config{CacheBytes: 1 << 20})
	ctx := context.Background()
	// A standard hotspot run of the whole city and one of the street: a grid
	// worker sees neither (no standard run covers a grid alone).
	for _, area := range []string{"", "440304001000"} {
		if _, err := c.db.Exec(ctx, `INSERT INTO hotspot_run (param_key, params, area, category, res, k, by, from_at, to_at, computed_at, status, standard)
			VALUES ($1, '{}', $2, '', 9, 1, 'count', '2026-10-01', '2026-11-01', '2026-11-01', 'ok', true)`, "t|"+area, area); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.db.Exec(ctx, `INSERT INTO hotspot_cell (run_id, cell, count, value, z, p, bin, bin_fdr, geom)
		SELECT r.id, $1, 9, 9, 3.3, 0.001, 3, 3, ST_GeomFromText($2, 4326) FROM hotspot_run r`,
		mustCell(t, orb.Point{114.005, 22.51}, 9), cellWKT(mustCell(t, orb.Point{114.005, 22.51}, 9))); err != nil {
		t.Fatal(err)
	}
	keys, err := sdctest.Keys(ctx, c.db, "household")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct{ mine, other string }{{gridA, gridB}, {gridB, gridA}} {
		sc := as([]string{g.mine}, nil, auth.GridWorker)
		t.Run(g.mine, func(t *testing.T) {
			mine := eventsIn(c.city, g.mine)
			var households []fixture.Household
			for _, h := range c.city.Households {
				if strings.HasPrefix(h.GridCode, g.mine) {
					households = append(households, h)
				}
			}
			if len(mine) < 20 || len(households) < 20 {
				t.Fatalf("grid %s holds %d events, %d households: too few to say much", g.mine, len(mine), len(households))
			}
			checked := 0
			for _, z := range layerZooms {
				for _, l := range tiles.Layers() {
					if z < l.MinZoom || z > l.MaxZoom {
						continue
					}
					got := renderAll(t, c.app, sc, l.Name, z, tiles.Filter{})
					for name, fs := range got {
						checked += len(fs)
						for _, tf := range fs {
							p := tf.f.Properties
							switch name {
							case "admin", "admin_label":
								// Only the units grid A lies in, for context, without figures.
								if code := p["code"].(string); !strings.HasPrefix(g.mine, strings.TrimRight(code, "0")) {
									t.Errorf("z%d %s: unit %s outside the worker's context", z, name, code)
								}
								if _, ok := p["households"]; ok {
									t.Errorf("z%d %s: unit %v shows figures of units beyond the grid", z, name, p["code"])
								}
							case "grids", "grid_label":
								if code := p["code"].(string); !strings.HasPrefix(code, g.mine) {
									t.Errorf("z%d %s: grid %s", z, name, code)
								}
							case "buildings", "addresses":
								if code := p["grid_code"].(string); !strings.HasPrefix(code, g.mine) {
									t.Errorf("z%d %s: feature %v of grid %s", z, name, tf.f.ID, code)
								}
							case "hotspots":
								t.Errorf("z%d hotspots: a grid worker sees cell %v", z, p["cell"])
							}
						}
					}
					switch l.Name {
					case "events":
						// Exactly the grid's events, each in its tile.
						for _, tl := range geo.TilesCovering(renderBound, z) {
							want := 0
							for _, e := range mine {
								if tl.Bound().Contains(stored(e.Point)) {
									want++
								}
							}
							n := 0
							for _, tf := range got["events"] {
								if tf.tile == tl && inTile(tf.f) {
									n++
								}
							}
							if n != want {
								t.Errorf("z%d events in %v: %d, want %d", z, tl, n, want)
							}
						}
						ids := map[string]bool{}
						for _, e := range mine {
							ids[fmt.Sprint(e.ID)] = true
						}
						for _, tf := range got["events"] {
							if !ids[fmt.Sprint(tf.f.ID)] {
								t.Errorf("z%d: event %v is not the grid's", z, tf.f.ID)
							}
						}
					case "events_h3":
						want := eventCells(mine, geo.ResolutionForZoom(z), nil)
						if d := drawnCells(t, got["events_h3"]); fmt.Sprint(d) != fmt.Sprint(want) {
							t.Errorf("z%d events_h3:\n got %v\nwant %v", z, d, want)
						}
					case "households_h3":
						want := householdCells(households, keys, geo.ResolutionForZoom(z), tiles.DefaultMinCount)
						d := map[string]string{}
						for _, tf := range got["households_h3"] {
							d[tf.f.Properties["cell"].(string)] = householdValue(tf.f.Properties)
						}
						if fmt.Sprint(d) != fmt.Sprint(want) {
							t.Errorf("z%d households_h3:\n got %v\nwant %v", z, d, want)
						}
					case "grids":
						// The grid's own figures are whole, as released.
						var set sdctest.Set
						var people int64
						for _, h := range households {
							set.Add(keys[h.ID])
							people += int64(h.Members)
						}
						hh, ppl := *sdctest.Count(tiles.DefaultMinCount, set, sdctest.Households), *sdctest.Sum(tiles.DefaultMinCount, people, set, sdctest.People)
						for _, tf := range got["grids"] {
							if tf.f.Properties["code"] == g.mine && (tf.f.Properties["households"] != float64(hh) || tf.f.Properties["people"] != float64(ppl)) {
								t.Errorf("z%d grid %s: %v households, %v people; want %d, %d", z, g.mine,
									tf.f.Properties["households"], tf.f.Properties["people"], hh, ppl)
							}
						}
					}
				}
			}
			if checked < 300 {
				t.Errorf("only %d features checked", checked)
			}
		})
	}
}

func mustCell(t *testing.T, p orb.Point, res int) int64 {
	t.Helper()
	c, err := geo.CellAt(p[0], p[1], res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func cellWKT(cell int64) string {
	var b strings.Builder
	b.WriteString("POLYGON((")
	for i, p := range geo.CellBoundary(cell)[0] {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%.9f %.9f", p[0], p[1])
	}
	b.WriteString("))")
	return b.String()
}

// householdCells counts households per cell at res, as households_h3 shows them
// under disclosure control with threshold k (internal/sdctest, fed the record
// keys): "households/people tag=n …", released values, cells and tags below k
// left out.
func householdCells(hs []fixture.Household, keys map[int64]uint64, res int, k int64) map[string]string {
	type agg struct {
		set    sdctest.Set
		people int64
		tags   map[string]*sdctest.Set
	}
	cells := map[string]*agg{}
	for _, h := range hs {
		c := cellOf(h.Point, res)
		a := cells[c]
		if a == nil {
			a = &agg{tags: map[string]*sdctest.Set{}}
			cells[c] = a
		}
		a.set.Add(keys[h.ID])
		a.people += int64(h.Members)
		for _, tag := range h.Tags {
			if a.tags[tag] == nil {
				a.tags[tag] = &sdctest.Set{}
			}
			a.tags[tag].Add(keys[h.ID])
		}
	}
	out := map[string]string{}
	for c, a := range cells {
		hh := sdctest.Count(k, a.set, sdctest.Households)
		if hh == nil {
			continue
		}
		v := fmt.Sprintf("%d/%d", *hh, *sdctest.Sum(k, a.people, a.set, sdctest.People))
		var tags []string
		for tag, set := range a.tags {
			if n := sdctest.Count(k, *set, sdctest.Tagged); n != nil {
				tags = append(tags, fmt.Sprintf("%s=%d", tag, *n))
			}
		}
		slices.Sort(tags)
		out[c] = v + " " + strings.Join(tags, " ")
	}
	return out
}

func householdValue(p map[string]any) string {
	v := fmt.Sprintf("%v/%v", p["households"], p["people"])
	var tags []string
	for k, n := range p {
		if tag, ok := strings.CutPrefix(k, "tag_"); ok {
			tags = append(tags, fmt.Sprintf("%s=%v", tag, n))
		}
	}
	slices.Sort(tags)
	return v + " " + strings.Join(tags, " ")
}

// TestWholeAreaMatchesUnscoped: a caller whose scope is everything gets the tiles
// the per-tile reference SQL of tiles/testdata gives (run by the owner, without
// row-level security), and a caller whose jurisdiction is the fixture's whole
// district, served from its own view (the raw rows it may read, counted by the
// service, not the roll-ups), gets the same tiles as the whole-area caller.
func TestWholeAreaMatchesUnscoped(t *testing.T) {
	c := openScopedCity(t, tiles.Config{})
	ctx := context.Background()
	whole := as([]string{""}, nil, auth.Command)
	inDistrict := as([]string{district}, nil, auth.Command)
	compared := 0
	for _, z := range []int{8, 10, 12, 13, 14, 15, 16} {
		for _, tl := range geo.TilesCovering(fixtureBound, z) {
			for _, tc := range []struct {
				layer  string
				filter string
				ref    func() ([]byte, error)
			}{
				{"admin", "", func() ([]byte, error) { return c.owner.RenderOutlinesBySQL(ctx, "admin", tl) }},
				{"grids", "", func() ([]byte, error) { return c.owner.RenderOutlinesBySQL(ctx, "grids", tl) }},
				{"households_h3", "", func() ([]byte, error) { return c.owner.RenderH3BySQL(ctx, "households_h3", tl, tiles.Filter{}) }},
				{"events_h3", "", func() ([]byte, error) {
					if z > 14 {
						return nil, nil
					}
					return c.owner.RenderH3BySQL(ctx, "events_h3", tl, tiles.Filter{})
				}},
				{"events_h3", "status=reported,handling", func() ([]byte, error) {
					if z > 14 {
						return nil, nil
					}
					return c.owner.RenderH3BySQL(ctx, "events_h3", tl, tiles.Filter{Status: []string{"handling", "reported"}})
				}},
				{"events_h3", "category=02&from=2026-03-01", func() ([]byte, error) {
					if z > 14 {
						return nil, nil
					}
					f, _ := tiles.ParseFilter(query("category=02&from=2026-03-01"))
					return c.owner.RenderEventsH3Rows(ctx, tl, f)
				}},
				{"events", "", func() ([]byte, error) {
					if z < 15 {
						return nil, nil
					}
					return c.owner.RenderEventsBySQL(ctx, tl, tiles.Filter{})
				}},
				{"buildings", "", nil},
				{"addresses", "", nil},
			} {
				f, err := tiles.ParseFilter(query(tc.filter))
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.app.Render(ctx, whole, tc.layer, tl, f)
				if err != nil {
					t.Fatal(err)
				}
				unscoped, err := c.owner.Render(ctx, scope.System(), tc.layer, tl, f)
				if err != nil {
					t.Fatal(err)
				}
				scoped, err := c.app.Render(ctx, inDistrict, tc.layer, tl, f)
				if err != nil {
					t.Fatal(err)
				}
				g := decode(t, got)
				t.Run(fmt.Sprintf("%s?%s/%v", tc.layer, tc.filter, tl), func(t *testing.T) {
					compareTiles(t, g, decode(t, unscoped))
					if tc.ref != nil {
						ref, err := tc.ref()
						if err != nil {
							t.Fatal(err)
						}
						compareTiles(t, g, releaseReference(decode(t, ref), tiles.DefaultMinCount))
					}
					compareTiles(t, decode(t, scoped), g)
				})
				for _, fc := range g {
					compared += len(fc.Features)
				}
			}
		}
	}
	if compared < 1000 {
		t.Errorf("only %d features compared", compared)
	}
}

// TestAnalystAndAuditor: an analyst (aggregates only) gets no row layer, directly
// or in the composite layer, TileJSON or the style; a caller without aggregates
// gets outlines without figures and no aggregate layer.
func TestAnalystAndAuditor(t *testing.T) {
	c := openScopedCity(t, tiles.Config{CacheBytes: 1 << 20})
	ctx := context.Background()
	analyst := as([]string{""}, nil, auth.Analyst)
	auditor := as([]string{""}, nil, auth.Auditor)
	tl := geo.TileAt(114.005, 22.51, 16)
	for _, tc := range []struct {
		sc      scope.Scope
		name    string
		denied  []string
		allowed []string
	}{
		{analyst, "analyst", []string{"buildings", "addresses", "events"}, []string{"admin", "grids", "households_h3", "events_h3", "hotspots"}},
		{auditor, "auditor", []string{"buildings", "addresses", "events", "households_h3", "events_h3", "hotspots"}, []string{"admin", "grids"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range tc.denied {
				_, err := c.app.Get(ctx, tc.sc, name, tl, tiles.Filter{})
				var fe *tiles.ForbiddenLayerError
				if !errors.As(err, &fe) {
					t.Errorf("%s: %v, want a ForbiddenLayerError", name, err)
				}
				if _, err := c.app.TileJSON(ctx, tc.sc, "http://x", name, ""); !errors.As(err, &fe) {
					t.Errorf("%s.json: %v, want a ForbiddenLayerError", name, err)
				}
			}
			for _, z := range []int{10, 13, 16} {
				tile, err := c.app.Get(ctx, tc.sc, tiles.All, geo.TileAt(114.005, 22.51, z), tiles.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				raw, _ := tile.Raw()
				for name, fc := range decode(t, raw) {
					base := map[string]string{"admin_label": "admin", "grid_label": "grids"}[name]
					if base == "" {
						base = name
					}
					if slices.Contains(tc.denied, base) {
						t.Errorf("z%d all: layer %s (%d features)", z, name, len(fc.Features))
					}
					for _, f := range fc.Features {
						_, figures := f.Properties["households"]
						if (base == "admin" || base == "grids") && figures != (tc.name == "analyst") {
							t.Errorf("z%d %s: figures shown %v for the %s", z, name, figures, tc.name)
						}
					}
				}
			}
			tj, err := c.app.TileJSON(ctx, tc.sc, "http://x", tiles.All, "")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, vl := range tj.VectorLayers {
				ids = append(ids, vl.ID)
				if _, ok := vl.Fields["households"]; ok && tc.name == "auditor" {
					t.Errorf("tiles.json: %s lists figures the auditor may not see", vl.ID)
				}
			}
			for _, name := range tc.denied {
				if slices.Contains(ids, name) {
					t.Errorf("tiles.json lists %s", name)
				}
			}
			for _, name := range tc.allowed {
				if !slices.Contains(ids, name) {
					t.Errorf("tiles.json lacks %s", name)
				}
			}
			st, err := c.app.Style(ctx, tc.sc, "http://x", "")
			if err != nil {
				t.Fatal(err)
			}
			for name := range st["sources"].(map[string]any) {
				if slices.Contains(tc.denied, name) {
					t.Errorf("style source %s", name)
				}
			}
			for _, l := range st["layers"].([]any) {
				if src, ok := l.(map[string]any)["source"].(string); ok && slices.Contains(tc.denied, src) {
					t.Errorf("style layer %v draws %s", l.(map[string]any)["id"], src)
				}
			}
		})
	}
}

// TestScopesShareNoCacheEntry: two scopes that see differently never share a
// cache entry or an ETag, not even for a tile both see empty.
func TestScopesShareNoCacheEntry(t *testing.T) {
	c := openScopedCity(t, tiles.Config{CacheBytes: 1 << 20})
	ctx := context.Background()
	scopes := []scope.Scope{
		scope.System(),
		as([]string{""}, nil, auth.Command),
		as([]string{""}, nil, auth.Analyst),
		as([]string{gridA}, nil, auth.GridWorker),
		as([]string{gridB}, nil, auth.GridWorker),
		as([]string{streetA}, nil, auth.Officer),
		as([]string{streetA}, []string{"02"}, auth.Officer),
	}
	for _, tc := range []struct {
		layer string
		tile  geo.Tile
	}{
		{"grids", geo.TileAt(114.01, 22.51, 13)},
		{"events_h3", geo.TileAt(114.01, 22.51, 12)},
		{"admin", geo.TileAt(100, 40, 10)}, // empty for everyone
		{tiles.All, geo.TileAt(114.01, 22.51, 14)},
	} {
		etags := map[string]int{}
		before := c.app.Stats().Entries
		for i, sc := range scopes {
			tile, err := c.app.Get(ctx, sc, tc.layer, tc.tile, tiles.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if j, ok := etags[tile.ETag]; ok {
				t.Errorf("%s %v: scopes %d and %d share the ETag %s", tc.layer, tc.tile, j, i, tile.ETag)
			}
			etags[tile.ETag] = i
			again, err := c.app.Get(ctx, sc, tc.layer, tc.tile, tiles.Filter{})
			if err != nil || again.ETag != tile.ETag {
				t.Errorf("%s %v scope %d: again %v, %v", tc.layer, tc.tile, i, again, err)
			}
		}
		if got := c.app.Stats().Entries - before; got != len(scopes) {
			t.Errorf("%s %v: %d cache entries for %d scopes", tc.layer, tc.tile, got, len(scopes))
		}
	}
}

// TestSensitiveEvents: events of a sensitive category are drawn at the centre of
// their resolution-9 cell, and counted there finer than resolution 9, for a
// caller whose duties do not cover them; exactly for a caller whose duties do,
// and for one who may see every sensitive event.
func TestSensitiveEvents(t *testing.T) {
	c := openScopedCity(t, tiles.Config{CacheBytes: 1 << 20})
	ctx := context.Background()
	// 公共安全 (02) and its subtree become sensitive.
	if _, err := c.db.Exec(ctx, `UPDATE event_category SET sensitive = true WHERE code = '02'`); err != nil {
		t.Fatal(err)
	}
	isSensitive := func(e fixture.Event) bool { return strings.HasPrefix(e.Category, "02") }
	n := 0
	for _, e := range c.city.Events {
		if isSensitive(e) {
			n++
		}
	}
	if n < 40 {
		t.Fatalf("%d sensitive events: too few", n)
	}
	for _, tc := range []struct {
		name   string
		sc     scope.Scope
		coarse bool
	}{
		{"command, no duty", as([]string{""}, nil, auth.Command), true},
		{"street officer, another duty", as([]string{streetA}, []string{"03"}, auth.Officer), true},
		{"street officer, the duty", as([]string{streetA}, []string{"0201"}, auth.Officer), false},
		{"admin", as([]string{""}, nil, auth.Admin), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var evs []fixture.Event
			for _, e := range c.city.Events {
				if tc.sc.Contains(e.GridCode) {
					evs = append(evs, e)
				}
			}
			var coarse func(fixture.Event) bool
			if tc.coarse {
				coarse = isSensitive
			}
			for _, z := range []int{8, 12, 13, 14} {
				res := geo.ResolutionForZoom(z)
				for _, q := range []string{"", "category=02", "from=2026-06-01"} {
					f, _ := tiles.ParseFilter(query(q))
					var want []fixture.Event
					for _, e := range evs {
						if strings.HasPrefix(e.Category, f.Category) && (f.From.IsZero() || !e.ReportedAt.Before(f.From)) {
							want = append(want, e)
						}
					}
					got := drawnCells(t, renderAll(t, c.app, tc.sc, "events_h3", z, f)["events_h3"])
					if w := eventCells(want, res, coarse); fmt.Sprint(got) != fmt.Sprint(w) {
						t.Errorf("z%d events_h3?%s:\n got %v\nwant %v", z, q, got, w)
					}
				}
			}
			// The points: each event once in the tile proper, where it should be.
			for _, z := range []int{15, 16} {
				got := renderAll(t, c.app, tc.sc, "events", z, tiles.Filter{})["events"]
				seen := map[string]int{}
				for _, tf := range got {
					if !inTile(tf.f) {
						continue
					}
					seen[fmt.Sprint(tf.f.ID)]++
					var e fixture.Event
					for _, x := range evs {
						if fmt.Sprint(x.ID) == fmt.Sprint(tf.f.ID) {
							e = x
						}
					}
					if e.ID == 0 {
						t.Errorf("z%d: event %v outside the scope", z, tf.f.ID)
						continue
					}
					at := stored(e.Point)
					wantCoarse := tc.coarse && isSensitive(e)
					if wantCoarse {
						cc := h3.LatLngToCell(h3.NewLatLng(e.Point[1], e.Point[0]), geo.StorageRes).Parent(9).LatLng()
						at = orb.Point{cc.Lng, cc.Lat}
					}
					if got := tilePoint(tf.tile, at); !pointsEqual([]orb.Point{got}, []orb.Point{tf.f.Geometry.(orb.Point)}, 1) {
						t.Errorf("z%d event %d (%s, coarse %v): at %v, want %v", z, e.ID, e.Category, wantCoarse, tf.f.Geometry, got)
					}
					if c, _ := tf.f.Properties["coarsened"].(bool); c != wantCoarse {
						t.Errorf("z%d event %d: coarse = %v, want %v", z, e.ID, c, wantCoarse)
					}
				}
				for _, e := range evs {
					if seen[fmt.Sprint(e.ID)] != 1 {
						t.Errorf("z%d: event %d (%s) drawn %d times in its tiles proper", z, e.ID, e.Category, seen[fmt.Sprint(e.ID)])
					}
				}
			}
		})
	}
	// Taking the flag off shows the events exactly again (the tile caches
	// follow the event_categories version).
	if _, err := c.db.Exec(ctx, `UPDATE event_category SET sensitive = false`); err != nil {
		t.Fatal(err)
	}
	cmd := as([]string{""}, nil, auth.Command)
	got := drawnCells(t, renderAll(t, c.app, cmd, "events_h3", 14, tiles.Filter{})["events_h3"])
	if w := eventCells(c.city.Events, 10, nil); fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("after the flag is taken off: %v, want %v", got, w)
	}
}

// tilePoint is where a lon/lat point lands in tile t, in tile units (rounded as
// the encoder rounds).
func tilePoint(t geo.Tile, p orb.Point) orb.Point {
	b := t.MercatorBound()
	x, y := geo.LonLatToMercator(p[0], p[1])
	return orb.Point{
		math.RoundToEven((x - b.Min[0]) / (b.Max[0] - b.Min[0]) * tiles.Extent),
		math.RoundToEven((b.Max[1] - y) / (b.Max[1] - b.Min[1]) * tiles.Extent),
	}
}

// TestScopedBoundsAndStyle: TileJSON bounds and the style are the caller's
// jurisdiction's.
func TestScopedBoundsAndStyle(t *testing.T) {
	c := openScopedCity(t, tiles.Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		sc   scope.Scope
		want [4]float64
	}{
		{as([]string{""}, nil, auth.Command), [4]float64{114.00, 22.50, 114.04, 22.52}},
		{as([]string{streetA}, nil, auth.Officer), [4]float64{114.00, 22.50, 114.02, 22.52}},
		{as([]string{gridB}, nil, auth.GridWorker), [4]float64{114.01, 22.50, 114.02, 22.52}},
		{as([]string{gridA, "440304002001002"}, nil, auth.GridWorker), [4]float64{114.00, 22.50, 114.04, 22.52}},
	} {
		tj, err := c.app.TileJSON(ctx, tc.sc, "http://x", tiles.All, "")
		if err != nil {
			t.Fatal(err)
		}
		for i := range tc.want {
			if math.Abs(tj.Bounds[i]-tc.want[i]) > 1e-9 {
				t.Errorf("%v: bounds %v, want %v", tc.sc.Units, tj.Bounds, tc.want)
				break
			}
		}
		st, err := c.app.Style(ctx, tc.sc, "http://x", "")
		if err != nil {
			t.Fatal(err)
		}
		centre := st["center"].([]float64)
		if math.Abs(centre[0]-(tc.want[0]+tc.want[2])/2) > 1e-9 || math.Abs(centre[1]-(tc.want[1]+tc.want[3])/2) > 1e-9 {
			t.Errorf("%v: style centre %v", tc.sc.Units, centre)
		}
	}
}

// TestViewsBoundedAndLoadedOnce: concurrent first requests of a jurisdiction
// read its event index once; views beyond the bound are dropped, and read again
// when asked for.
func TestViewsBoundedAndLoadedOnce(t *testing.T) {
	c := openScopedCity(t, tiles.Config{Views: 3})
	ctx := context.Background()
	sc := as([]string{streetA}, nil, auth.Officer)
	tl := geo.TileAt(114.01, 22.51, 10)
	f, _ := tiles.ParseFilter(query("category=01"))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.app.Render(ctx, sc, "events_h3", tl, f); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if full, incr := c.app.ViewIndexLoads(sc); full != 1 || incr != 0 {
		t.Errorf("16 concurrent first requests: %d full and %d incremental reads of the index, want 1 and 0", full, incr)
	}
	for _, g := range []string{gridA, gridB, "440304002001001", "440304002001002", streetA} {
		if _, err := c.app.Render(ctx, as([]string{g}, nil, auth.GridWorker), "households_h3", tl, tiles.Filter{}); err != nil {
			t.Fatal(err)
		}
	}
	st := c.app.ViewStats()
	if st.Views != 3 || st.Evictions < 2 || st.Bytes <= 0 {
		t.Errorf("view stats %+v, want 3 views after 2 or more evictions", st)
	}
	// A view read again after eviction answers as before.
	for _, g := range []string{gridA, gridB} {
		a := as([]string{g}, nil, auth.GridWorker)
		got := drawnCells(t, renderAll(t, c.app, a, "events_h3", 12, tiles.Filter{})["events_h3"])
		if w := eventCells(eventsIn(c.city, g), 9, nil); fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s after evictions: %v, want %v", g, got, w)
		}
	}
}

// TestScopedViewsFollowWrites: a jurisdiction's view follows a write like the
// whole city's snapshots do.
func TestScopedViewsFollowWrites(t *testing.T) {
	c := openScopedCity(t, tiles.Config{CacheBytes: 1 << 20})
	ctx := context.Background()
	a := as([]string{gridA}, nil, auth.GridWorker)
	b := as([]string{gridB}, nil, auth.GridWorker)
	count := func(sc scope.Scope) int {
		n := 0
		for _, tf := range renderAll(t, c.app, sc, "events_h3", 10, tiles.Filter{})["events_h3"] {
			n += int(tf.f.Properties["events"].(float64))
		}
		return n
	}
	na, nb := count(a), count(b)
	if na != len(eventsIn(c.city, gridA)) || nb != len(eventsIn(c.city, gridB)) {
		t.Fatalf("before: %d and %d events", na, nb)
	}
	// One more event in a micro-grid of A.
	if _, err := c.db.Exec(ctx, `INSERT INTO event (category_code, severity, source, status, reported_at, geom, h3, admin_code, grid_code)
		VALUES ('010101', 'general', 'app', 'reported', '2026-11-01', ST_SetSRID(ST_MakePoint(114.003, 22.505), 4326), $1,
			'440304001001', '44030400100100101')`, mustCell(t, orb.Point{114.003, 22.505}, geo.StorageRes)); err != nil {
		t.Fatal(err)
	}
	if got := count(a); got != na+1 {
		t.Errorf("grid A after an insert: %d events, want %d", got, na+1)
	}
	if got := count(b); got != nb {
		t.Errorf("grid B after an insert in A: %d events, want %d", got, nb)
	}
}

// TestScopedHotspots: the whole city's standard analysis for a caller who sees
// everything; for a smaller jurisdiction, the analyses of the streets in it,
// which row-level security lets it read; nothing for a grid.
func TestScopedHotspots(t *testing.T) {
	c := openScopedCity(t, tiles.Config{})
	ctx := context.Background()
	cellCity := mustCell(t, orb.Point{114.03, 22.515}, 9)
	cellA := mustCell(t, orb.Point{114.005, 22.505}, 9)
	cellB := mustCell(t, orb.Point{114.035, 22.505}, 9)
	for _, run := range []struct {
		area string
		cell int64
	}{{"", cellCity}, {"440304001000", cellA}, {"440304002000", cellB}} {
		var id int64
		if err := c.db.QueryRow(ctx, `INSERT INTO hotspot_run (param_key, params, area, category, res, k, by, from_at, to_at, computed_at, status, standard)
			VALUES ($1, '{}', $2, '', 9, 1, 'count', '2026-10-01', '2026-11-01', '2026-11-01', 'ok', true) RETURNING id`, "t|"+run.area, run.area).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.db.Exec(ctx, `INSERT INTO hotspot_cell (run_id, cell, count, value, z, p, bin, bin_fdr, geom)
			VALUES ($1, $2, 9, 9, 3.3, 0.001, 3, 3, ST_GeomFromText($3, 4326))`, id, run.cell, cellWKT(run.cell)); err != nil {
			t.Fatal(err)
		}
	}
	str := func(cs ...int64) string {
		var out []string
		for _, c := range cs {
			out = append(out, geo.CellString(c))
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		name string
		sc   scope.Scope
		want string
	}{
		{"whole area", as([]string{""}, nil, auth.Command), str(cellCity)},
		{"district", as([]string{district}, nil, auth.Command), str(cellA, cellB)},
		{"street A", as([]string{streetA}, nil, auth.Officer), str(cellA)},
		{"analyst of street B", as([]string{"440304002"}, nil, auth.Analyst), str(cellB)},
		{"grid worker", as([]string{gridA}, nil, auth.GridWorker), ""},
	} {
		var cells []string
		seen := map[string]bool{}
		for _, tf := range renderAll(t, c.app, tc.sc, "hotspots", 11, tiles.Filter{})["hotspots"] {
			if cell := tf.f.Properties["cell"].(string); !seen[cell] {
				seen[cell] = true
				cells = append(cells, cell)
			}
		}
		slices.Sort(cells)
		if got := strings.Join(cells, ","); got != tc.want {
			t.Errorf("%s: hotspot cells %q, want %q", tc.name, got, tc.want)
		}
	}
}
