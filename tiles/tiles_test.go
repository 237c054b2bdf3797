package tiles_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) { pgtest.Main(m) }

// open returns a tile service over a fresh database holding the test city.
func open(t testing.TB, cfg tiles.Config) (*tiles.Service, string) {
	t.Helper()
	conn := pgtest.ConnString(t)
	s, err := tiles.Open(context.Background(), conn, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, conn
}

func openCity(t testing.TB, cfg tiles.Config) (*tiles.Service, string) {
	t.Helper()
	s, conn := open(t, cfg)
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	// A fixed record-key seed: the goldens hold released (rounded) figures.
	if err := sdctest.FixSeed(context.Background(), db, goldenSeed); err != nil {
		t.Fatal(err)
	}
	if err := testcity.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return s, conn
}

// goldenSeed is the record-key seed of the tiles' test databases.
const goldenSeed = 20261101

func at(p [2]float64, z int) geo.Tile { return geo.TileAt(p[0], p[1], z) }

func query(s string) url.Values {
	q, err := url.ParseQuery(s)
	if err != nil {
		panic(err)
	}
	return q
}

// goldenCase is one tile rendered and compared with testdata/golden/<name>.json.
type goldenCase struct {
	name   string
	layer  string
	tile   geo.Tile
	filter string
	want   map[string]int // layer → feature count, checked before the golden
}

func goldenCases() []goldenCase {
	c := testcity.Centre
	day := func(d int) string { return testcity.Now.AddDate(0, 0, d).In(clock.China).Format("2006-01-02") }
	return []goldenCase{
		{"admin_z9_district", "admin", at(c, 9), "", map[string]int{"admin": 1, "admin_label": 1}},
		{"admin_z11_streets", "admin", at(c, 11), "", map[string]int{"admin": 2}},
		{"admin_z13_communities", "admin", at(c, 13), "", map[string]int{"admin": 2}},
		{"grids_z12_grid", "grids", at(c, 12), "", map[string]int{"grids": 1, "grid_label": 1}},
		{"grids_z11_empty", "grids", at(c, 11), "", map[string]int{}},
		{"grids_z15_micro", "grids", at(c, 15), "", map[string]int{"grids": 2}},
		{"buildings_z14", "buildings", at(c, 14), "", map[string]int{"buildings": 3}},
		{"buildings_z13_empty", "buildings", at(c, 13), "", map[string]int{}},
		{"addresses_z16", "addresses", at(c, 16), "", map[string]int{"addresses": 2}},
		{"addresses_z15_empty", "addresses", at(c, 15), "", map[string]int{}},
		{"events_z15", "events", at(c, 15), "", map[string]int{"events": 4}},
		{"events_z14_empty", "events", at(c, 14), "", map[string]int{}},
		{"events_z15_status", "events", at(c, 15), "status=reported,handling", map[string]int{"events": 2}},
		{"events_z15_category", "events", at(c, 15), "category=0201", map[string]int{"events": 1}},
		{"events_z15_from_to", "events", at(c, 15), "from=" + day(-4) + "&to=" + day(0), map[string]int{"events": 2}},
		{"events_h3_z8", "events_h3", at(c, 8), "", nil},
		{"events_h3_z10", "events_h3", at(c, 10), "", nil},
		{"events_h3_z12", "events_h3", at(c, 12), "", nil},
		{"events_h3_z13_status", "events_h3", at(c, 13), "status=closed", map[string]int{"events_h3": 1}},
		{"events_h3_z10_category", "events_h3", at(c, 10), "category=01", nil},
		{"events_h3_z12_from", "events_h3", at(c, 12), "from=" + testcity.Now.AddDate(0, 0, -7).Format(time.RFC3339), nil},
		{"events_h3_z14", "events_h3", at(c, 14), "", nil},
		{"events_h3_z12_days", "events_h3", at(c, 12), "from=" + day(-4) + "&to=" + day(0) + "&status=reported,handling", nil},
		{"events_h3_z15_empty", "events_h3", at(c, 15), "", map[string]int{}},
		{"households_h3_z10", "households_h3", at(c, 10), "", map[string]int{"households_h3": 1}},
		{"households_h3_z16", "households_h3", at(testcity.Five, 16), "", map[string]int{"households_h3": 1}},
		{"all_z14", tiles.All, at(c, 14), "", nil},
	}
}

func TestGolden(t *testing.T) {
	s, _ := openCity(t, tiles.Config{CacheBytes: 1 << 20})
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tiles.ParseFilter(query(tc.filter))
			if err != nil {
				t.Fatal(err)
			}
			tile, err := s.Get(context.Background(), scope.System(), tc.layer, tc.tile, f)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := tile.Raw()
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, raw)
			if tc.want != nil {
				counts := map[string]int{}
				for name, fc := range got {
					counts[name] = len(fc.Features)
				}
				for name, n := range tc.want {
					if counts[name] != n {
						t.Errorf("layer %s: %d features, want %d (all: %v)", name, counts[name], n, counts)
					}
				}
				if len(tc.want) == 0 && len(raw) != 0 {
					t.Errorf("want an empty tile, got %d bytes: %v", len(raw), counts)
				}
			}
			checkGolden(t, tc.name, got)
		})
	}
}

// decode returns a tile's layers, geometry in tile coordinates.
func decode(t testing.TB, raw []byte) map[string]*geojson.FeatureCollection {
	t.Helper()
	layers, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatalf("decode tile: %v", err)
	}
	out := map[string]*geojson.FeatureCollection{}
	for _, l := range layers {
		if _, dup := out[l.Name]; dup {
			t.Fatalf("layer %s twice in one tile", l.Name)
		}
		if l.Extent != tiles.Extent {
			t.Errorf("layer %s extent %d", l.Name, l.Extent)
		}
		fc := geojson.NewFeatureCollection()
		for _, f := range l.Features {
			if f.ID == nil {
				t.Errorf("layer %s: feature without id: %v", l.Name, f.Properties)
			}
			fc.Append(f)
		}
		sort.Slice(fc.Features, func(i, j int) bool {
			return fmt.Sprint(fc.Features[i].ID) < fmt.Sprint(fc.Features[j].ID)
		})
		out[l.Name] = fc
	}
	return out
}

func checkGolden(t *testing.T, name string, got map[string]*geojson.FeatureCollection) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tiles -run TestGolden -update)", err)
	}
	var want map[string]*geojson.FeatureCollection
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	compareTiles(t, got, want)
}

// compareTiles compares decoded tiles: same layers, features (by id), properties,
// and geometry within a tolerance of 1 tile unit.
func compareTiles(t *testing.T, got, want map[string]*geojson.FeatureCollection) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("layers: got %v, want %v", keys(got), keys(want))
		return
	}
	for name, wfc := range want {
		gfc, ok := got[name]
		if !ok {
			t.Errorf("layer %s missing", name)
			continue
		}
		if len(gfc.Features) != len(wfc.Features) {
			t.Errorf("layer %s: %d features, want %d", name, len(gfc.Features), len(wfc.Features))
			continue
		}
		for i, wf := range wfc.Features {
			gf := gfc.Features[i]
			if fmt.Sprint(gf.ID) != fmt.Sprint(wf.ID) {
				t.Errorf("layer %s feature %d: id %v, want %v", name, i, gf.ID, wf.ID)
			}
			gp, _ := json.Marshal(gf.Properties)
			wp, _ := json.Marshal(wf.Properties)
			if string(gp) != string(wp) {
				t.Errorf("layer %s feature %v: properties\n got %s\nwant %s", name, wf.ID, gp, wp)
			}
			if !geomEqual(gf.Geometry, wf.Geometry, 1) {
				t.Errorf("layer %s feature %v: geometry\n got %v\nwant %v", name, wf.ID, gf.Geometry, wf.Geometry)
			}
		}
	}
}

// geomEqual compares geometries point by point within tol; a polygon ring may
// start at any of its points (PostGIS and the service's own drawing clip rings
// starting at different points) but must keep its orientation.
func geomEqual(a, b orb.Geometry, tol float64) bool {
	if a.GeoJSONType() != b.GeoJSONType() {
		return false
	}
	ra, rb := rings(a), rings(b)
	if ra != nil || rb != nil {
		if len(ra) != len(rb) {
			return false
		}
		for i := range ra {
			if !ringEqual(ra[i], rb[i], tol) {
				return false
			}
		}
		return true
	}
	return pointsEqual(points(a), points(b), tol)
}

func pointsEqual(pa, pb []orb.Point, tol float64) bool {
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if math.Abs(pa[i][0]-pb[i][0]) > tol || math.Abs(pa[i][1]-pb[i][1]) > tol {
			return false
		}
	}
	return true
}

// ringEqual compares closed rings up to the choice of first point.
func ringEqual(a, b orb.Ring, tol float64) bool {
	if len(a) != len(b) || len(a) < 2 {
		return pointsEqual(a, b, tol)
	}
	oa, ob := a[:len(a)-1], b[:len(b)-1] // open: without the closing point
	for k := range ob {
		rot := append(append([]orb.Point{}, ob[k:]...), ob[:k]...)
		if pointsEqual(oa, rot, tol) {
			return true
		}
	}
	return false
}

// rings returns the rings of a polygon or multipolygon (nil for other types).
func rings(g orb.Geometry) []orb.Ring {
	switch g := g.(type) {
	case orb.Polygon:
		return g
	case orb.MultiPolygon:
		var out []orb.Ring
		for _, p := range g {
			out = append(out, p...)
		}
		return out
	}
	return nil
}

func points(g orb.Geometry) []orb.Point {
	var out []orb.Point
	switch g := g.(type) {
	case orb.Point:
		out = append(out, g)
	case orb.MultiPoint:
		out = append(out, g...)
	case orb.LineString:
		out = append(out, g...)
	case orb.Ring:
		out = append(out, g...)
	case orb.Polygon:
		for _, r := range g {
			out = append(out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = append(out, points(p)...)
		}
	case orb.MultiLineString:
		for _, l := range g {
			out = append(out, l...)
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// personal matches masked personal values: phones, names, ID numbers.
var personal = regexp.MustCompile(`\*{2,}|\d{3}\*+\d{2,}|^.\*$`)

func TestNoPersonalData(t *testing.T) {
	s, _ := openCity(t, tiles.Config{})
	banned := map[string]bool{"head_name_masked": true, "phone_masked": true, "phone_hash": true, "id_no_masked": true, "id_no_hash": true, "members": true}
	for _, tc := range goldenCases() {
		for _, z := range []int{8, 10, 12, 13, 14, 15, 16, 17} {
			tile := at(testcity.Centre, z)
			raw, err := s.Render(context.Background(), scope.System(), tc.layer, tile, tiles.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			for name, fc := range decode(t, raw) {
				for _, f := range fc.Features {
					for k, v := range f.Properties {
						vs := fmt.Sprint(v)
						if banned[k] || personal.MatchString(vs) || strings.Contains(vs, testcity.MaskedPhone) || vs == testcity.MaskedName {
							t.Errorf("%s %v layer %s: personal field %s=%q", tc.layer, tile, name, k, vs)
						}
					}
				}
			}
		}
	}
}

// cellHouseholds reads the households of the resolution-11 cell around p (those
// carrying tag, when given) as the rule sees them: how many and their keys.
func cellHouseholds(t *testing.T, db *pgx.Conn, p [2]float64, tag string) sdctest.Set {
	t.Helper()
	c, _ := geo.CellAt(p[0], p[1], 11)
	rows, err := db.Query(context.Background(), `SELECT sdc_record_key(id, (SELECT seed FROM sdc_secret)) FROM household
		WHERE h3_parent(h3, 11) = $1 AND ($2 = '' OR $2 = ANY (tags))`, c, tag)
	if err != nil {
		t.Fatal(err)
	}
	var set sdctest.Set
	var k int64
	if _, err := pgx.ForEachRow(rows, []any{&k}, func() error { set.Add(uint64(k)); return nil }); err != nil {
		t.Fatal(err)
	}
	return set
}

// wantCount is what a tile must carry for a released count: the value, or nil
// (property or cell absent) when suppressed.
func wantCount(k int64, s sdctest.Set, figure uint64) any {
	if v := sdctest.Count(k, s, figure); v != nil {
		return float64(*v)
	}
	return nil
}

func TestHouseholdSuppression(t *testing.T) {
	for _, min := range []int{0, 5, 4, 3} {
		t.Run(fmt.Sprint("min=", min), func(t *testing.T) {
			s, conn := openCity(t, tiles.Config{MinCount: min})
			db, err := pgxConnect(conn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(context.Background())
			k := int64(min)
			if k == 0 {
				k = tiles.DefaultMinCount
			}
			cellOf := func(p [2]float64) string {
				c, _ := geo.CellAt(p[0], p[1], 11)
				return geo.CellString(c)
			}
			// Five and Four are 550 m apart: at z16 both tiles are rendered.
			found := map[string]map[string]any{}
			for _, p := range [][2]float64{testcity.Five, testcity.Four} {
				raw, err := s.Render(context.Background(), scope.System(), "households_h3", at(p, 16), tiles.Filter{})
				if err != nil {
					t.Fatal(err)
				}
				fc := decode(t, raw)["households_h3"]
				if fc == nil {
					continue
				}
				for _, f := range fc.Features {
					found[f.Properties["cell"].(string)] = f.Properties
				}
			}
			five, four := found[cellOf(testcity.Five)], found[cellOf(testcity.Four)]
			fiveSet, fourSet := cellHouseholds(t, db, testcity.Five, ""), cellHouseholds(t, db, testcity.Four, "")
			if fiveSet.N != 5 || fourSet.N != 4 {
				t.Fatalf("test city: %d and %d households, want 5 and 4", fiveSet.N, fourSet.N)
			}
			if w := wantCount(k, fiveSet, sdctest.Households); five == nil || five["households"] != w {
				t.Errorf("cell with 5 households: %v, want present with %v", five, w)
			}
			if w := wantCount(k, fourSet, sdctest.Households); (four != nil) != (w != nil) || four != nil && four["households"] != w {
				t.Errorf("cell with 4 households: %v, want %v (min %d)", four, w, min)
			}
			if five == nil {
				return
			}
			for _, p := range []map[string]any{five, four} {
				if p == nil {
					continue
				}
				if v := p["households"].(float64); int64(v)%k != 0 {
					t.Errorf("households %v: not a multiple of %d", v, k)
				}
			}
			// 3 of the 5 are 留守老人, 1 is 残疾人: tag counts below the minimum are left out.
			for _, tag := range []string{"留守老人", "残疾人"} {
				w := wantCount(k, cellHouseholds(t, db, testcity.Five, tag), sdctest.Tagged)
				if v := five["tag_"+tag]; v != w {
					t.Errorf("tag_%s = %v, want %v at min %d", tag, v, w, min)
				}
			}
		})
	}
}

// TestHouseholdsTrackWrites: the H3 aggregates follow updates and deletes (with
// threshold and base 2, so that small counts show).
func TestHouseholdsTrackWrites(t *testing.T) {
	s, conn := openCity(t, tiles.Config{MinCount: 2})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	ctx := context.Background()
	props := func() map[string]any {
		raw, err := s.Render(ctx, scope.System(), "households_h3", at(testcity.Five, 16), tiles.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		c, _ := geo.CellAt(testcity.Five[0], testcity.Five[1], 11)
		for _, f := range decode(t, raw)["households_h3"].Features {
			if f.Properties["cell"] == geo.CellString(c) {
				return f.Properties
			}
		}
		return nil
	}
	check := func(when string, households, tagged int64) {
		t.Helper()
		all, tag := cellHouseholds(t, db, testcity.Five, ""), cellHouseholds(t, db, testcity.Five, "留守老人")
		if all.N != households || tag.N != tagged {
			t.Fatalf("%s: the database has %d households, %d tagged; the test expects %d, %d", when, all.N, tag.N, households, tagged)
		}
		p := props()
		if p == nil || p["households"] != wantCount(2, all, sdctest.Households) || p["tag_留守老人"] != wantCount(2, tag, sdctest.Tagged) {
			t.Errorf("%s: %v, want households %v, tag %v", when, p, wantCount(2, all, sdctest.Households), wantCount(2, tag, sdctest.Tagged))
		}
	}
	check("before", 5, 3)
	// Building 1's rooms are addresses 101..105; 101..103 are 留守老人.
	if _, err := db.Exec(ctx, `UPDATE household SET tags = '{}' WHERE address_id = 101`); err != nil {
		t.Fatal(err)
	}
	check("after untagging one", 5, 2)
	if _, err := db.Exec(ctx, `DELETE FROM household WHERE address_id IN (102, 104)`); err != nil {
		t.Fatal(err)
	}
	check("after deleting two", 3, 1)
}

// TestEventsH3Paths: the ways events_h3 is answered (all-time counts in memory,
// the event index for windows, the event rows grouped by PostgreSQL as the
// reference) agree. Windows of whole China days, windows cut inside days (as the
// screen's "last 30 days" is), open-ended ones and a window inside one day, at
// resolutions 6 to 10.
func TestEventsH3Paths(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	day := func(d int) time.Time {
		c := testcity.Now.AddDate(0, 0, d).In(clock.China)
		return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, clock.China)
	}
	cellsOf := func(raw []byte, err error) map[string]any {
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]any{}
		if fc := decode(t, raw)["events_h3"]; fc != nil {
			for _, f := range fc.Features {
				out[f.Properties["cell"].(string)] = fmt.Sprint(f.Properties["events"], "/", f.Properties["open"])
			}
		}
		return out
	}
	cells := func(f tiles.Filter, z int) map[string]any {
		return cellsOf(s.Render(context.Background(), scope.System(), "events_h3", at(testcity.Centre, z), f))
	}
	rows := func(f tiles.Filter, z int) map[string]any {
		return cellsOf(s.RenderEventsH3Rows(context.Background(), at(testcity.Centre, z), f))
	}
	// Events at known hours over twelve days, spread over a few kilometres, so
	// windows cut inside days have events on both sides of each cut.
	statuses := []string{"reported", "handling", "cancelled", "dispatched"}
	for d := 0; d < 12; d++ {
		for k, h := range []int{1, 7, 13, 19, 23} {
			p := [2]float64{testcity.Centre[0] + 0.004*float64(k-2), testcity.Centre[1] + 0.003*float64(d%4-2)}
			if _, err := testcity.AddEventAt(context.Background(), db, p, day(-d).Add(time.Duration(h)*time.Hour), statuses[(d+k)%4]); err != nil {
				t.Fatal(err)
			}
		}
	}
	hour := time.Hour
	var total int
	for _, z := range []int{8, 10, 12, 13, 14} {
		for _, tc := range []struct {
			name     string
			from, to time.Time
			status   []string
		}{
			{"all time", day(-400), day(400), nil},
			{"last 4 days", day(-4), time.Time{}, nil},
			{"a week ago", day(-8), day(-2), nil},
			{"open since 6 days", day(-6), day(1), []string{"dispatched", "handling", "reported"}},
			{"cut inside days", day(-9).Add(5*hour + 17*time.Minute), day(-2).Add(13 * hour), nil},
			{"cut inside days, open", day(-9).Add(5 * hour), day(-1).Add(20 * hour), []string{"dispatched", "handling", "reported"}},
			{"from inside a day, open-ended", day(-5).Add(hour + time.Nanosecond), time.Time{}, nil},
			{"until inside a day", time.Time{}, day(-3).Add(23 * hour), nil},
			{"inside one day", day(-3).Add(2 * hour), day(-3).Add(22 * hour), nil},
			{"across one midnight", day(-3).Add(-2 * hour), day(-3).Add(2 * hour), nil},
		} {
			f := tiles.Filter{From: tc.from.UTC(), To: tc.to.UTC(), Status: tc.status}
			if tc.from.IsZero() {
				f.From = time.Time{}
			}
			if tc.to.IsZero() {
				f.To = time.Time{}
			}
			a, b := cells(f, z), rows(f, z)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("z%d %s: event index %v, event rows %v", z, tc.name, a, b)
			}
			total += len(a)
			if tc.name == "cut inside days" && z == 10 {
				// The partial days count: the whole days alone give less.
				whole := tiles.Filter{From: day(-8).UTC(), To: day(-2).UTC()}
				if fmt.Sprint(cells(whole, z)) == fmt.Sprint(a) {
					t.Errorf("z%d %s: same counts as its whole days alone, %v", z, tc.name, a)
				}
			}
			if tc.name == "all time" {
				if c := cells(tiles.Filter{}, z); fmt.Sprint(c) != fmt.Sprint(a) {
					t.Errorf("z%d: all-time counts %v, event index %v", z, c, a)
				}
			}
		}
	}
	if total < 100 {
		t.Errorf("only %d cells over all cases: the comparison says little", total)
	}
	// The index follows a status change.
	if _, err := db.Exec(context.Background(), `UPDATE event SET status = 'closed', closed_at = reported_at + interval '1 hour' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	f := tiles.Filter{From: day(-4).UTC(), Status: []string{"closed"}}
	if a, b := cells(f, 10), rows(f, 10); fmt.Sprint(a) != fmt.Sprint(b) || len(a) == 0 {
		t.Errorf("after closing event 1: event index %v, rows %v", a, b)
	}
}
