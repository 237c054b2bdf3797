package ingest

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onegrid/onegrid/internal/pgtest"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCreateCategoriesStableCodes loads an export whose category column holds
// names, then the same file again, then an extended file whose rows come in
// another order with new names: every earlier code stays, new names get the
// next numbers in name order.
func TestCreateCategoriesStableCodes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	first := writeFile(t, "jan.csv", `id,offence,at,lon,lat
1,Theft,2026-01-03 10:00:00,-71.06,42.35
2,Assault,2026-01-03 11:00:00,-71.07,42.34
3,Theft,2026-01-04 12:00:00,-71.05,42.36
`)
	o := Options{Kind: "events", Path: first, Dataset: "bpd", CreateCategories: true, CategoryPrefix: "BOS",
		Mapping: Mapping{"category": "offence", "reported_at": "at"}}
	s := load(t, db, o)
	checkSummary(t, s, 3, 3, 0, 0)
	all := func() string {
		return str(t, db, `SELECT string_agg(name || '=' || code, ', ' ORDER BY code) FROM event_category`)
	}
	// Codes by name order: Assault before Theft.
	const want1 = "Assault=BOS001, Theft=BOS002"
	if got := all(); got != want1 {
		t.Fatalf("categories = %s, want %s", got, want1)
	}
	if got := str(t, db, `SELECT string_agg(dataset_id || ' ' || category_code, ', ' ORDER BY dataset_id) FROM event`); got != "1 BOS002, 2 BOS001, 3 BOS002" {
		t.Errorf("events = %s", got)
	}
	s = load(t, db, o)
	checkSummary(t, s, 3, 0, 3, 0)
	if got := all(); got != want1 {
		t.Errorf("after re-load: %s, want %s", got, want1)
	}
	// February: new names sort before and after the old ones.
	o.Path = writeFile(t, "feb.csv", `id,offence,at,lon,lat
4,Vandalism,2026-02-01 10:00:00,-71.06,42.35
5,Theft,2026-02-01 11:00:00,-71.06,42.35
6,Arson,2026-02-02 11:00:00,-71.06,42.35
`)
	s = load(t, db, o)
	checkSummary(t, s, 3, 3, 0, 0)
	if got, want := all(), "Assault=BOS001, Theft=BOS002, Arson=BOS003, Vandalism=BOS004"; got != want {
		t.Errorf("after the extended file: %s, want %s", got, want)
	}
}

// TestCreateCategoriesLevels: with category1 and category2 mapped the names
// make a three-level tree; a row missing a level the file uses is rejected.
func TestCreateCategoriesLevels(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	p := writeFile(t, "ev.csv", `id,group,type,detail,at,lon,lat
1,Property,Theft,Bicycle,2026-01-03 10:00:00,114.05,22.55
2,Property,Theft,Car,2026-01-03 10:00:00,114.05,22.55
3,Person,Assault,Simple,2026-01-03 10:00:00,114.05,22.55
4,,Theft,Car,2026-01-03 10:00:00,114.05,22.55
5,Property,Damage,Graffiti,2026-01-03 10:00:00,114.05,22.55
`)
	s := load(t, db, Options{Kind: "events", Path: p, CreateCategories: true, CategoryPrefix: "X",
		Mapping: Mapping{"category1": "group", "category2": "type", "category": "detail", "reported_at": "at"}})
	checkSummary(t, s, 5, 4, 0, 1)
	checkRejects(t, db, s, []want{{5, "category1", "missing required field: the file's categories have 3 levels"}})
	if got := str(t, db, `SELECT string_agg(concat_ws(' ', code, level, coalesce(parent_code, '-'), name), ', ' ORDER BY code) FROM event_category`); got !=
		"X001 1 - Person, X001001 2 X001 Assault, X001001001 3 X001001 Simple, X002 1 - Property, X002001 2 X002 Damage, X002001001 3 X002001 Graffiti, X002002 2 X002 Theft, X002002001 3 X002002 Bicycle, X002002002 3 X002002 Car" {
		t.Errorf("categories = %s", got)
	}
	if got := str(t, db, `SELECT category_code FROM event WHERE dataset_id = '2'`); got != "X002002002" {
		t.Errorf("event 2's category = %s", got)
	}
}

// TestDerivedStudyArea: an export of a city with no areas, loaded with an area
// code, gets a study area derived from its points (city, street, community and
// grid), every event linked to it; a second load keeps it.
func TestDerivedStudyArea(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	p := writeFile(t, "ev.csv", `id,offence,at,lon,lat
1,Theft,2026-01-03 10:00:00,-71.10,42.30
2,Theft,2026-01-03 11:00:00,-71.00,42.30
3,Theft,2026-01-04 12:00:00,-71.05,42.40
`)
	o := Options{Kind: "events", Path: p, CreateCategories: true, Mapping: Mapping{"category": "offence", "reported_at": "at"},
		Areas: AreaOptions{Code: "BOS", Name: "Boston"}}
	s := load(t, db, o)
	checkSummary(t, s, 3, 3, 0, 0)
	if s.Unassigned != 0 {
		t.Errorf("unassigned = %d, want 0", s.Unassigned)
	}
	if got := str(t, db, `SELECT string_agg(code || ' ' || level || ' ' || name, ', ' ORDER BY code) FROM admin_area`); got != "BOS city Boston, BOS001 street Boston, BOS001001 community Boston" {
		t.Errorf("admin areas = %s", got)
	}
	if got := str(t, db, `SELECT string_agg(DISTINCT grid_code || ' ' || admin_code, ', ') FROM event`); got != "BOS001001001 BOS001001" {
		t.Errorf("events linked to %s", got)
	}
	// The hull of the three points widened by b: the triangle's area plus its
	// perimeter times b plus a circle of radius b (a km a degree of latitude,
	// a·cos(lat) of longitude).
	const a = 111.2
	base := 0.1 * a * math.Cos(42.30*math.Pi/180)
	height := 0.1 * a
	side := math.Hypot(0.05*a*math.Cos(42.35*math.Pi/180), height)
	b := DerivedBufferM / 1000.0
	want := base*height/2 + (base+2*side)*b + math.Pi*b*b
	var km2 float64
	if err := db.QueryRow(t.Context(), `SELECT ST_Area(geom::geography) / 1e6 FROM admin_area WHERE code = 'BOS'`).Scan(&km2); err != nil {
		t.Fatal(err)
	}
	if math.Abs(km2-want) > 0.03*want {
		t.Errorf("derived area %.1f km², want %.1f ± 3 %%", km2, want)
	}
	if got := count(t, db, `SELECT count(*) FROM event e JOIN admin_area a ON a.code = 'BOS' AND ST_Covers(a.geom, e.geom)`); got != 3 {
		t.Errorf("%d events inside the derived area, want 3", got)
	}
	s = load(t, db, o)
	checkSummary(t, s, 3, 0, 3, 0)
	if got := count(t, db, `SELECT count(*) FROM grid`); got != 1 {
		t.Errorf("grids after a re-load = %d, want 1", got)
	}
}

// TestLoad311PresetNone loads a 311 export of another layout with preset none:
// the mapping, time zone, category prefix and an areas file with its own
// property names, grouped into streets, given as options.
func TestLoad311PresetNone(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	p := writeFile(t, "cases.csv", `case,opened,type,subtype,state,channel,x,y
c1,2026-03-01 09:00,Streets,Pothole,open,phone,-71.08,42.37
c2,2026-03-01 10:00,Streets,Graffiti,open,web,-71.02,42.37
c3,2026-03-02 11:00,Parks,Litter,closed,web,-71.05,42.32
c4,2026-03-02 12:00,Parks,,open,phone,-70.5,42.0
`)
	la, _ := time.LoadLocation("America/New_York")
	o := Options{Path: p, TimeZone: la, CategoryPrefix: "CITY",
		Mapping: Mapping{"id": "case", "reported_at": "opened", "cat1": "type", "cat2": "subtype", "status": "state", "source": "channel", "lon": "x", "lat": "y", "closed_at": "opened"},
		Areas:   AreaOptions{Path: "testdata/areas.geojson", Code: "CTY", Name: "City", Group: "district", ID: []string{"name"}}}
	s, err := Load311(t.Context(), db, o, Presets311["none"])
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 4, 4, 0, 0)
	if s.Unassigned != 1 {
		t.Errorf("unassigned = %d, want 1 (c4, in the sea)", s.Unassigned)
	}
	if got := str(t, db, `SELECT string_agg(code || ' ' || level || ' ' || name, ', ' ORDER BY code) FROM admin_area`); got !=
		"CTY city City, CTY001 street North, CTY001001 community N1, CTY001002 community N2, CTY002 street South, CTY002001 community S1" {
		t.Errorf("areas = %s", got)
	}
	for _, c := range []struct{ id, want string }{
		{"c1", "CITY002002 CTY001001001 reported 2026-03-01 14:00"},
		{"c2", "CITY002001 CTY001002001 reported 2026-03-01 15:00"},
		{"c3", "CITY001001 CTY002001001 closed 2026-03-02 16:00"},
		{"c4", "CITY001 none reported 2026-03-02 17:00"},
	} {
		got := str(t, db, `SELECT category_code || ' ' || coalesce(grid_code, 'none') || ' ' || status || ' ' || to_char(reported_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM event WHERE dataset_id = $1`, c.id)
		if got != c.want {
			t.Errorf("%s = %s, want %s", c.id, got, c.want)
		}
	}
}
