package ingest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/shareddata"
)

// TestLoadShatinOSM loads the real Sha Tin extract: every building-tagged way and
// relation becomes a building and every addr:housenumber an address.
func TestLoadShatinOSM(t *testing.T) {
	t.Parallel()
	path := filepath.Join(shareddata.Dir(t), "osm", "hongkong-shatin.osm")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Counted from the file itself: PROVENANCE.md says 660 buildings, but the file
	// has 629 building=* tags (616 closed ways and 13 multipolygon relations).
	wantBuildings := int64(len(regexp.MustCompile(`k="building" v="[^"]*"`).FindAll(raw, -1)))
	wantHouseNumbers := int64(len(regexp.MustCompile(`k="addr:housenumber"`).FindAll(raw, -1)))
	if wantBuildings != 629 || wantHouseNumbers != 353 {
		t.Fatalf("file has %d building tags and %d addr:housenumber tags: not the file this test knows", wantBuildings, wantHouseNumbers)
	}
	db := pgtest.New(t)
	s, err := LoadOSM(context.Background(), db, Options{Path: path, RejectsPath: filepath.Join(t.TempDir(), "r.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Rejected != 0 {
		t.Errorf("rejected %d, want 0", s.Rejected)
	}
	if got := count(t, db, `SELECT count(*) FROM building`); got != wantBuildings {
		t.Errorf("buildings = %d, want %d", got, wantBuildings)
	}
	if got := count(t, db, `SELECT count(*) FROM address WHERE components ? 'addr:housenumber'`); got != wantHouseNumbers {
		t.Errorf("addresses with a house number = %d, want %d", got, wantHouseNumbers)
	}
	if got := count(t, db, `SELECT count(*) FROM address WHERE geom IS NULL OR h3 IS NULL OR full_text = ''`); got != 0 {
		t.Errorf("%d addresses without point, cell or text", got)
	}
	if got := count(t, db, `SELECT count(*) FROM building b JOIN address a ON a.id = b.address_id AND a.dataset_id = b.dataset_id`); got != 304 {
		// 301 building ways and 3 building relations carry addr:housenumber.
		t.Errorf("buildings with their own address = %d, want 304", got)
	}
	if got := count(t, db, `SELECT count(*) FROM building WHERE NOT ST_IsValid(geom)`); got != 0 {
		t.Errorf("%d invalid building polygons", got)
	}
	t.Logf("osm: %+v", s.Detail)
}

// TestLoadSF311 loads the real San Francisco 311 sample with its tracts.
func TestLoadSF311(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(shareddata.Dir(t), "events")
	db := pgtest.New(t)
	o := Options{Path: filepath.Join(dir, "sf311_cases_sample.csv"), RejectsPath: filepath.Join(t.TempDir(), "r.csv")}
	areas := filepath.Join(dir, "sf_tracts_neighborhoods.geojson")
	s, err := LoadOpen311(context.Background(), db, o, areas)
	if err != nil {
		t.Fatal(err)
	}
	// 55 cases in the sample were closed before they were opened (clock or data
	// entry errors): event.closed_at >= reported_at rejects them.
	checkSummary(t, s, 4984, 4929, 0, 55)
	if got := count(t, db, `SELECT count(*) FROM load_reject WHERE run_id = $1 AND field = 'closed_at' AND reason LIKE 'closed at % before reported at %'`, s.RunID); got != 55 {
		t.Errorf("closed-before-opened rejects = %d, want 55", got)
	}
	for _, c := range []struct {
		name string
		sql  string
		want int64
	}{
		{"neighbourhoods", `SELECT count(*) FROM admin_area WHERE level = 'street' AND parent_code = 'SF0000' AND code ~ '^SF0000[0-9]{3}$'`, 41},
		{"tracts", `SELECT count(*) FROM admin_area WHERE level = 'community' AND code ~ '^SF0000[0-9]{6}$' AND left(code, 9) = parent_code`, 195},
		{"grids", `SELECT count(*) FROM grid WHERE level = 'grid' AND code = admin_code || '001'`, 195},
		{"level-1 categories", `SELECT count(*) FROM event_category WHERE level = 1 AND code ~ '^SF[0-9]{2}$'`, 26},
		{"unlinked events", `SELECT count(*) FROM event WHERE grid_code IS NULL OR admin_code IS NULL OR left(grid_code, 12) <> admin_code`, 0},
		{"hotline events", `SELECT count(*) FROM event WHERE source = 'hotline'`, count(t, db, `SELECT 3352 - count(*) FROM load_reject WHERE run_id = $1 AND raw LIKE '%"Voice In"%' OR run_id = $1 AND raw LIKE '%,Voice In,%'`, s.RunID)},
		{"closed without closed_at", `SELECT count(*) FROM event WHERE status = 'closed' AND closed_at IS NULL`, 0},
		{"open events", `SELECT count(*) FROM event WHERE status IN ('reported', 'handling')`, 222},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := count(t, db, c.sql); got != c.want {
				t.Errorf("%s = %d, want %d", c.sql, got, c.want)
			}
		})
	}
	if got := str(t, db, `SELECT to_char(reported_at AT TIME ZONE 'America/Los_Angeles', 'YYYY-MM-DD HH24:MI') || ' ' || status FROM event WHERE dataset_id = '1757188'`); got != "2012-12-04 15:21 closed" {
		t.Errorf("case 1757188 = %s", got)
	}
	s, err = LoadOpen311(context.Background(), db, o, areas)
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, 4984, 0, 4929, 55)
	if got := count(t, db, `SELECT count(*) FROM grid`); got != 195 {
		t.Errorf("grids after re-load = %d, want 195", got)
	}
}
