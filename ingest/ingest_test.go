package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// want is an expected reject.
type want struct {
	line   int64
	field  string
	reason string // exact, or a prefix when it ends in "…"
}

func load(t *testing.T, db *pgxpool.Pool, o Options) Summary {
	t.Helper()
	if o.RejectsPath == "" {
		o.RejectsPath = filepath.Join(t.TempDir(), "rejects.csv")
	}
	s, err := Load(context.Background(), db, o)
	if err != nil {
		t.Fatalf("load %s: %v", o.Path, err)
	}
	return s
}

func count(t *testing.T, db *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func str(t *testing.T, db *pgxpool.Pool, sql string, args ...any) string {
	t.Helper()
	var s *string
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if s == nil {
		return "<nil>"
	}
	return *s
}

// checkRejects compares a run's rejects (table and file) with want.
func checkRejects(t *testing.T, db *pgxpool.Pool, s Summary, wants []want) {
	t.Helper()
	got, err := Rejects(context.Background(), db, s.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != s.Rejected {
		t.Errorf("summary says %d rejected, table has %d", s.Rejected, len(got))
	}
	for i := 0; i < len(got) || i < len(wants); i++ {
		switch {
		case i >= len(got):
			t.Errorf("missing reject %+v", wants[i])
			continue
		case i >= len(wants):
			t.Errorf("unexpected reject line %d field %q: %s", got[i].Line, got[i].Field, got[i].Reason)
			continue
		}
		g, w := got[i], wants[i]
		ok := g.Line == w.line && g.Field == w.field
		if p, isPrefix := strings.CutSuffix(w.reason, "…"); isPrefix {
			ok = ok && strings.HasPrefix(g.Reason, p)
		} else {
			ok = ok && g.Reason == w.reason
		}
		if !ok {
			t.Errorf("reject %d: got line %d field %q reason %q, want line %d field %q reason %q", i, g.Line, g.Field, g.Reason, w.line, w.field, w.reason)
		}
		if g.Raw == "" {
			t.Errorf("reject line %d has no raw row", g.Line)
		}
	}
	if s.Rejected > 0 {
		b, err := os.ReadFile(s.RejectsPath)
		if err != nil {
			t.Fatalf("reject file: %v", err)
		}
		if lines := strings.Count(strings.TrimSpace(string(b)), "\n"); int64(lines) < s.Rejected {
			t.Errorf("reject file has %d lines after the header, want >= %d", lines, s.Rejected)
		}
	}
}

func checkSummary(t *testing.T, s Summary, read, loaded, unchanged, rejected int64) {
	t.Helper()
	if s.Read != read || s.Loaded != loaded || s.Unchanged != unchanged || s.Rejected != rejected {
		t.Errorf("read/loaded/unchanged/rejected = %d/%d/%d/%d, want %d/%d/%d/%d", s.Read, s.Loaded, s.Unchanged, s.Rejected, read, loaded, unchanged, rejected)
	}
}

// world loads the fixtures' admin areas, grids, categories and addresses.
func world(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	load(t, db, Options{Kind: "admin", Path: "testdata/admin.geojson"})
	load(t, db, Options{Kind: "grids", Path: "testdata/grids.csv"})
	load(t, db, Options{Kind: "addresses", Path: "testdata/addresses.csv"})
	if _, err := db.Exec(context.Background(), `INSERT INTO event_category (code, level, parent_code, name) VALUES
        ('C01', 1, NULL, '市容环境'), ('C0101', 2, 'C01', '暴露垃圾')`); err != nil {
		t.Fatal(err)
	}
}

func TestLoadAdmin(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	s := load(t, db, Options{Kind: "admin", Path: "testdata/admin.geojson"})
	checkSummary(t, s, 7, 4, 0, 3)
	checkRejects(t, db, s, []want{
		{5, "parent_code", "no admin area 440303999 in the database or this file"},
		{6, "geometry", "invalid geometry: Self-intersection…"},
		{7, "level", `unknown value "village": want one of city, community, district, province, street`},
	})
	if got := str(t, db, `SELECT parent_code FROM admin_area WHERE code = '440303001001'`); got != "440303001" {
		t.Errorf("parent of 440303001001 = %s", got)
	}
	if got := count(t, db, `SELECT count(*) FROM load_run WHERE kind = 'admin' AND finished_at IS NOT NULL AND read = 7 AND loaded = 4 AND rejected = 3`); got != 1 {
		t.Errorf("load_run rows = %d, want 1", got)
	}
}

func TestLoadGrids(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	load(t, db, Options{Kind: "admin", Path: "testdata/admin.geojson"})
	s := load(t, db, Options{Kind: "grids", Path: "testdata/grids.csv"})
	checkSummary(t, s, 8, 4, 0, 4)
	checkRejects(t, db, s, []want{
		{6, "valid_from", "version 3 of grid 440303001002001 overlaps version 2 (line 5) in time"},
		{7, "wkt", "invalid WKT…"},
		{8, "wkt", "polygon ring is not closed"},
		{9, "valid_to", "valid_to must be after valid_from"},
	})
	if got := str(t, db, `SELECT admin_code FROM grid WHERE code = '440303001002001' AND version = 1`); got != "440303001002" {
		t.Errorf("admin_code of the east grid = %s, want the containing community 440303001002", got)
	}
	// Reloading adds nothing and still rejects the same rows.
	s = load(t, db, Options{Kind: "grids", Path: "testdata/grids.csv"})
	checkSummary(t, s, 8, 0, 4, 4)
}

func TestLoadEventsCSV(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	world(t, db)
	s := load(t, db, Options{Kind: "events", Path: "testdata/events.csv"})
	// e6 (line 8, 114.5 E) lies outside every grid: kept, unassigned.
	checkSummary(t, s, 12, 3, 0, 9)
	if s.Unassigned != 1 {
		t.Errorf("unassigned = %d, want 1 (e6)", s.Unassigned)
	}
	if got := str(t, db, `SELECT coalesce(grid_code, 'none') || ' ' || coalesce(admin_code, 'none') || ' ' || h3_resolution(h3) FROM event WHERE dataset_id = 'e6'`); got != "none none 12" {
		t.Errorf("e6 = %s, want no grid, no admin code and a res-12 cell", got)
	}
	if got := count(t, db, `SELECT unassigned FROM load_run WHERE id = $1`, s.RunID); got != 1 {
		t.Errorf("load_run.unassigned = %d, want 1", got)
	}
	checkRejects(t, db, s, []want{
		{4, "lon", "longitude 200 out of range -180..180"},
		{5, "reported_at", `bad time "yesterday": want e.g. 2006-01-02 15:04:05 or RFC 3339`},
		{6, "category", "unknown category X99"},
		{7, "id", "duplicate id e1 within the file (first at line 2)"},
		{9, "category", "missing required field"},
		{10, "closed_at", "missing required field for status closed"},
		{11, "address_id", "no address with id 999999"},
		{12, "", "want 10 fields as in the header, got 5"},
		{13, "severity", `unknown value "severe": want one of general, important, urgent`},
	})
	rj, _ := Rejects(context.Background(), db, s.RunID)
	if rj[2].Raw != "e5,X99,general,app,reported,2023-06-01 10:00:00,,,114.01,22.52" {
		t.Errorf("raw row of a reject found in the database = %q", rj[2].Raw)
	}
	// Linking: the same point falls in the west grid's version 1 in 2023 and the
	// east grid's version 2 after the 2024 re-cut.
	for _, c := range []struct{ id, grid, version, admin string }{
		{"e1", "440303001001001", "1", "440303001001"},
		{"e2", "440303001002001", "2", "440303001001"},
	} {
		t.Run(c.id, func(t *testing.T) {
			got := str(t, db, `SELECT grid_code || ' v' || grid_version || ' ' || admin_code FROM event WHERE dataset = 'events' AND dataset_id = $1`, c.id)
			if want := c.grid + " v" + c.version + " " + c.admin; got != want {
				t.Errorf("linked to %s, want %s", got, want)
			}
		})
	}
	if got := str(t, db, `SELECT severity || ' ' || source || ' ' || status FROM event WHERE dataset_id = 'e1'`); got != "general patrol reported" {
		t.Errorf("e1 = %s", got)
	}
	if got := count(t, db, `SELECT count(*) FROM event WHERE h3 IS NOT NULL AND h3_resolution(h3) = 12`); got != 3 {
		t.Errorf("events with a res-12 cell = %d", got)
	}
	// Idempotent re-load.
	s = load(t, db, Options{Kind: "events", Path: "testdata/events.csv"})
	checkSummary(t, s, 12, 0, 3, 9)
	if got := count(t, db, `SELECT count(*) FROM event`); got != 3 {
		t.Errorf("events after re-load = %d, want 3", got)
	}
}

func TestLoadEventsGeoJSON(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	world(t, db)
	s := load(t, db, Options{Kind: "events", Path: "testdata/events.geojson"})
	checkSummary(t, s, 8, 2, 0, 6)
	checkRejects(t, db, s, []want{
		{3, "geometry", "want a Point, got Polygon"},
		{4, "geometry", "missing required field"},
		{5, "geometry", "latitude 95 out of range -90..90"},
		{6, "", "bad feature…"},
		{7, "type", `want "Feature", got "Place"`},
		{8, "geometry", "invalid GeoJSON geometry…"},
	})
	if got := str(t, db, `SELECT category_code || ' ' || source || ' ' || grid_code || ' v' || grid_version FROM event WHERE dataset_id = '2'`); got != "C0101 hotline 440303001002001 v2" {
		t.Errorf("feature 2 = %s", got)
	}
	if got := str(t, db, `SELECT title || ' ' || admin_code FROM event WHERE dataset_id = 'g1'`); got != "井盖缺失 440303001002" {
		t.Errorf("feature g1 = %s", got)
	}
}

// TestLoadAddressesBuildingsHouseholds loads the three kinds normally and in
// bulk mode (keys, indexes and foreign keys dropped and rebuilt, the insert an
// anti-join): the same rows, rejects and links, and the same schema after.
func TestLoadAddressesBuildingsHouseholds(t *testing.T) {
	t.Parallel()
	for _, bulk := range []string{"off", "on"} {
		t.Run("bulk "+bulk, func(t *testing.T) {
			t.Parallel()
			testLoadAddressesBuildingsHouseholds(t, bulk)
		})
	}
}

func testLoadAddressesBuildingsHouseholds(t *testing.T, bulk string) {
	db := pgtest.New(t)
	load(t, db, Options{Kind: "admin", Path: "testdata/admin.geojson"})
	load(t, db, Options{Kind: "grids", Path: "testdata/grids.csv"})
	const defs = `SELECT string_agg(d, E'\n' ORDER BY d) FROM (
    SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index WHERE indrelid IN ('address'::regclass, 'building'::regclass, 'household'::regclass)
    UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid IN ('address'::regclass, 'building'::regclass, 'household'::regclass, 'event'::regclass, 'address_alias'::regclass)) x`
	before := str(t, db, defs)
	defer func() {
		if after := str(t, db, defs); after != before {
			t.Errorf("indexes and constraints changed:\nbefore %s\nafter  %s", before, after)
		}
	}()
	t.Run("addresses", func(t *testing.T) {
		s := load(t, db, Options{Kind: "addresses", Path: "testdata/addresses.csv", Bulk: bulk})
		checkSummary(t, s, 6, 3, 0, 3)
		checkRejects(t, db, s, []want{
			{5, "parent_ref", "no parent address a9 in dataset addresses or this file"},
			{6, "full_text", "missing required field"},
			{7, "level", `unknown value "flat": want one of building, community, district, floor, road, room, street, unit`},
		})
		if got := str(t, db, `SELECT p.dataset_id || ' ' || a.grid_code || ' ' || a.admin_code FROM address a JOIN address p ON p.id = a.parent_id WHERE a.dataset_id = 'a2'`); got != "a1 440303001001001 440303001001" {
			t.Errorf("a2 = %s", got)
		}
	})
	t.Run("buildings", func(t *testing.T) {
		s := load(t, db, Options{Kind: "buildings", Path: "testdata/buildings.geojson", AddressDataset: "addresses", Bulk: bulk})
		checkSummary(t, s, 6, 2, 0, 4)
		checkRejects(t, db, s, []want{
			{3, "floors", "500 out of range 1..200"},
			{4, "address_ref", "no address nope in dataset addresses"},
			{5, "geometry", "invalid geometry: Self-intersection…"},
			{6, "geometry", "want a Polygon or MultiPolygon, got Point"},
		})
		if got := str(t, db, `SELECT a.dataset_id || ' ' || b.floors || ' ' || b.grid_code FROM building b JOIN address a ON a.id = b.address_id WHERE b.dataset_id = 'b1'`); got != "a2 30 440303001001001" {
			t.Errorf("b1 = %s", got)
		}
	})
	t.Run("households", func(t *testing.T) {
		s := load(t, db, Options{Kind: "households", Path: "testdata/households.csv", AddressDataset: "addresses", HashKey: []byte("k"), Bulk: bulk})
		checkSummary(t, s, 7, 2, 0, 5)
		checkRejects(t, db, s, []want{
			{4, "members", "0 out of range 1..50"},
			{5, "address_ref", "no address zz in dataset addresses"},
			{6, "address_ref", "missing required field: a household needs address_ref, address_id or address_code"},
			{7, "geometry", "point outside every current grid"},
			{8, "members", `bad integer "x"`},
		})
		got := str(t, db, `SELECT array_to_string(tags, ';') || ' ' || head_name_masked || ' ' || phone_masked || ' ' || id_no_masked || ' ' || length(phone_hash) || ' ' || grid_code || ' ' || admin_code
            FROM household WHERE dataset_id = 'h1'`)
		if want := "残疾人;低保 张** 138****5678 440303********1234 32 440303001001001 440303001001"; got != want {
			t.Errorf("h1 = %s, want %s", got, want)
		}
	})
	t.Run("again", func(t *testing.T) {
		// Idempotent in either mode: ON CONFLICT or the anti-join skips every row.
		s := load(t, db, Options{Kind: "addresses", Path: "testdata/addresses.csv", Bulk: bulk})
		checkSummary(t, s, 6, 0, 3, 3)
		s = load(t, db, Options{Kind: "households", Path: "testdata/households.csv", AddressDataset: "addresses", HashKey: []byte("k"), Bulk: bulk})
		checkSummary(t, s, 7, 0, 2, 5)
	})
}

func TestLoadOSM(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	o := Options{Path: "testdata/small.osm", RejectsPath: filepath.Join(t.TempDir(), "r.csv")}
	s, err := LoadOSM(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 7, 5, 0, 2)
	if s.Detail["buildings"] != 3 || s.Detail["addresses"] != 2 {
		t.Errorf("detail = %v, want 3 buildings and 2 addresses", s.Detail)
	}
	checkRejects(t, db, s, []want{
		{12, "geometry", "way is not a closed ring (3 nodes)"},
		{13, "geometry", "node 99 is not in the file"},
	})
	for _, c := range []struct{ sql, want string }{
		{`SELECT a.dataset_id FROM building b JOIN address a ON a.id = b.address_id WHERE b.dataset_id = 'way/10'`, "node/5"},
		{`SELECT a.full_text FROM building b JOIN address a ON a.id = b.address_id WHERE b.dataset_id = 'way/11'`, "沙田 Sha Tin 沙田正街 Sha Tin Centre Street 2 沙田廣場"},
		{`SELECT floors::text FROM building WHERE dataset_id = 'way/10'`, "12"},
		{`SELECT use FROM building WHERE dataset_id = 'relation/30'`, "school"},
		{`SELECT components->>'building' FROM address WHERE dataset_id = 'node/5'`, "way/10"},
		{`SELECT level FROM address WHERE dataset_id = 'node/5'`, "building"},
	} {
		if got := str(t, db, c.sql); got != c.want {
			t.Errorf("%s = %s, want %s", c.sql, got, c.want)
		}
	}
	s, err = LoadOSM(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 7, 0, 5, 2)
}

// TestLoadOSMArea: an extract loaded with an area code becomes an area of its
// own (a city, a street, a community and a grid over its buildings' hull), and
// its buildings and addresses are linked to that grid; loading again keeps it.
func TestLoadOSMArea(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	o := Options{Path: "testdata/small.osm", RejectsPath: filepath.Join(t.TempDir(), "r.csv"),
		Areas: AreaOptions{Code: "HKST", Name: "沙田 Sha Tin"}}
	if _, err := LoadOSM(context.Background(), db, o); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sql, want string }{
		{`SELECT string_agg(code || ' ' || level, ', ' ORDER BY code) FROM admin_area`, "HKST city, HKST001 street, HKST001001 community"},
		{`SELECT string_agg(code, ', ') FROM grid`, "HKST001001001"},
		{`SELECT name FROM admin_area WHERE code = 'HKST'`, "沙田 Sha Tin"},
		// Every building lies inside the hull of the buildings: all linked.
		{`SELECT count(*) FILTER (WHERE grid_code = 'HKST001001001')::text || '/' || count(*) FROM building`, "3/3"},
		{`SELECT count(*) FILTER (WHERE grid_code = 'HKST001001001')::text || '/' || count(*) FROM address`, "2/2"},
		{`SELECT bool_and(ST_Covers(a.geom, b.geom))::text FROM building b, admin_area a WHERE a.code = 'HKST'`, "true"},
	} {
		if got := str(t, db, c.sql); got != c.want {
			t.Errorf("%s = %s, want %s", c.sql, got, c.want)
		}
	}
	if _, err := LoadOSM(context.Background(), db, o); err != nil {
		t.Fatal(err)
	}
	if got := str(t, db, `SELECT count(*)::text FROM admin_area`); got != "3" {
		t.Errorf("after a second load: %s admin areas, want 3", got)
	}
	if _, err := LoadOSM(context.Background(), db, Options{Path: "testdata/small.osm", Areas: AreaOptions{Path: "x.geojson", Code: "X"}}); err == nil {
		t.Error("an areas file for an extract: no error")
	}
}

// TestGridsLoadLinksUnassignedEvents loads an event outside every grid, then
// grids that cover it: the grids load links it (grid, version, admin code from
// the grid), the tile layer versions move, and the roll-ups kept by triggers
// equal what derived_rebuild() computes from the rows.
func TestGridsLoadLinksUnassignedEvents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	world(t, db)
	s := load(t, db, Options{Kind: "events", Path: "testdata/events.csv"})
	if s.Unassigned != 1 {
		t.Fatalf("unassigned = %d, want 1", s.Unassigned)
	}
	version := func() int64 {
		return count(t, db, `SELECT sum(version) FROM tile_layer_version WHERE layer IN ('events', 'events_h3')`)
	}
	before := version()
	dir := t.TempDir()
	grids := filepath.Join(dir, "east.csv")
	// e6 is at 114.5 E 22.52 N, reported 2023-06-01; the second grid covers it
	// only from 2024 on and must not be chosen.
	if err := os.WriteFile(grids, []byte(`code,level,admin_code,valid_from,wkt
440303009001001,grid,440303009001,,"POLYGON((114.4 22.45,114.6 22.45,114.6 22.6,114.4 22.6,114.4 22.45))"
440303009001101,micro_grid,440303009001,2024-01-01 00:00:00,"POLYGON((114.45 22.5,114.55 22.5,114.55 22.55,114.45 22.55,114.45 22.5))"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	load(t, db, Options{Kind: "grids", Path: grids})
	if got := str(t, db, `SELECT grid_code || ' v' || grid_version || ' ' || admin_code FROM event WHERE dataset_id = 'e6'`); got != "440303009001001 v1 440303009001" {
		t.Errorf("e6 after the grids load = %s, want 440303009001001 v1 440303009001", got)
	}
	if got := count(t, db, `SELECT count(*) FROM event WHERE grid_code IS NULL`); got != 0 {
		t.Errorf("%d events still unassigned", got)
	}
	if after := version(); after <= before {
		t.Errorf("event tile layer versions %d -> %d: not bumped by the relink", before, after)
	}
	// The roll-ups as the triggers left them, and as a rebuild computes them.
	snapshot := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) string {
		var out string
		err := q.QueryRow(ctx, `SELECT concat_ws(E'\n',
    (SELECT string_agg(concat_ws(' ', month, admin_code, category_root, events, closed, due, on_time), ';' ORDER BY month, admin_code, category_root) FROM event_rollup_month WHERE events <> 0),
    (SELECT string_agg(concat_ws(' ', kind, code, open_events), ';' ORDER BY kind, code) FROM tile_load WHERE open_events <> 0),
    (SELECT string_agg(concat_ws(' ', res, h3_text(cell), status, n), ';' ORDER BY res, cell, status) FROM tile_event_h3 WHERE n <> 0))`).Scan(&out)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	kept := snapshot(db)
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT derived_rebuild()`); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(tx); rebuilt != kept {
		t.Errorf("roll-ups after the relink differ from a rebuild:\nkept    %s\nrebuilt %s", kept, rebuilt)
	}
	if !strings.Contains(kept, "grid 440303009001001 1") {
		t.Errorf("tile_load has no open event for the new grid:\n%s", kept)
	}
}
