package hotspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/sdctest"
)

func TestStandardRunsAndAlerts(t *testing.T) {
	db, svc, city := fixtureDB(t)
	ctx := context.Background()

	if _, err := svc.Latest(ctx, "", ""); !errors.Is(err, hotspot.ErrNoRun) {
		t.Fatalf("latest before any run: %v, want ErrNoRun", err)
	}
	// 1 city + 2 streets, each for all categories and the 3 top-level ones.
	const wantRuns = 3 * 4
	rep, err := svc.RunStandard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Runs != wantRuns || len(rep.Alerts) != 0 {
		t.Fatalf("first pass: %d runs, %d alerts; want %d runs and no alerts (nothing to compare with)", rep.Runs, len(rep.Alerts), wantRuns)
	}
	t.Logf("first pass: %d runs (%d nothing to find) in %v", rep.Runs, rep.Nothing, rep.Took)

	// The stored latest run equals a fresh analysis with the same parameters.
	latest, err := svc.Latest(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := svc.Analyze(ctx, latest.Params)
	if err != nil {
		t.Fatal(err)
	}
	if latest.Status != fresh.Status || len(latest.Cells) != len(fresh.Cells) || latest.Summary.Events != fresh.Summary.Events {
		t.Fatalf("latest %s %d cells %d events, fresh %s %d cells %d events", latest.Status, len(latest.Cells), latest.Summary.Events, fresh.Status, len(fresh.Cells), fresh.Summary.Events)
	}
	for i := range fresh.Cells {
		if latest.Cells[i] != fresh.Cells[i] {
			t.Fatalf("cell %d: stored %+v, fresh %+v", i, latest.Cells[i], fresh.Cells[i])
		}
	}

	// An unchanged repeat raises nothing.
	rep, err = svc.RunStandard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Alerts) != 0 {
		t.Fatalf("unchanged repeat raised %d alerts: %+v", len(rep.Alerts), rep.Alerts)
	}

	// A burst of events in one cell raises an alert for it, announced on onegrid_alert.
	listener, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Release()
	if _, err := listener.Exec(ctx, "LISTEN onegrid_alert"); err != nil {
		t.Fatal(err)
	}
	// The burst: a planted cluster of 7 res-9 cells (a cell and its ring), 8
	// events each in the last day, inside street 440304001000.
	c0, _ := geo.CellAt(114.0075, 22.51, hotspot.StandardRes)
	burst := c0
	for _, c := range h3.Cell(c0).GridDisk(1) {
		ll := c.LatLng()
		cell12, _ := geo.CellAt(ll.Lng, ll.Lat, geo.StorageRes)
		g, ok := city.GridAt(orb.Point{ll.Lng, ll.Lat}, fixture.Now, "micro_grid")
		if !ok || geo.ParentBits(cell12, hotspot.StandardRes) != int64(c) {
			t.Fatalf("cell %s: no micro-grid, or its centre's res-12 cell is not its child", c)
		}
		for i := range 8 {
			_, err := db.Exec(ctx, `INSERT INTO event (category_code, source, status, reported_at, geom, h3, admin_code, grid_code, grid_version)
				VALUES ('010101', 'hotline', 'reported', $1, ST_Point($2, $3, 4326), $4, $5, $6, $7)`,
				fixture.Now.Add(-time.Duration(i+1)*time.Hour), ll.Lng, ll.Lat, cell12, g.AdminCode, g.Code, g.Version)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err = svc.RunStandard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The tile function serves the latest run's cells with hexagons.
	latest, err = svc.Latest(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var area float64
	if err := db.QueryRow(ctx, `SELECT count(*), coalesce(sum(ST_Area(geom::geography)), 0) FROM hotspot_latest_cells('', '')`).Scan(&n, &area); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != len(latest.Cells) || area < 0.9*float64(n)*105e3 || area > 1.1*float64(n)*105e3 {
		t.Fatalf("hotspot_latest_cells: %d cells of %.0f m², want %d res-9 hexagons", n, area, len(latest.Cells))
	}
	for _, c := range latest.Cells {
		if c.Count%5 != 0 {
			t.Errorf("stored cell %x: count %d, no multiple of 5", c.Cell, c.Count)
		}
	}
	found := map[string]string{}
	for _, a := range rep.Alerts {
		if a.Cell == burst {
			found[a.Area+"/"+a.Category] = a.Kind
		}
	}
	for _, k := range []string{"/", "/01", "440304001000/", "440304001000/01"} {
		if found[k] == "" {
			t.Errorf("no alert for the burst cell in run %s; alerts %+v", k, rep.Alerts)
		}
	}
	if t.Failed() {
		return
	}
	ctxN, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	note, err := listener.Conn().WaitForNotification(ctxN)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(note.Payload), &payload); err != nil {
		t.Fatalf("payload %q: %v", note.Payload, err)
	}
	if payload["type"] != "hotspot" || payload["kind"] == nil || payload["cell"] == nil {
		t.Errorf("payload %s", note.Payload)
	}
	t.Logf("alerts: %v; notification %s", found, note.Payload)

	listed, err := svc.Alerts(ctx, fixture.Now.Add(-time.Hour), "440304001", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 {
		t.Error("Alerts lists nothing for street 440304001")
	}

	// Only the latest KeepRuns runs of a parameter set are kept.
	small := hotspot.New(db, hotspot.Config{KeepRuns: 2, Now: func() time.Time { return fixture.Now }})
	if _, err := small.RunStandard(ctx); err != nil {
		t.Fatal(err)
	}
	var maxRuns int
	if err := db.QueryRow(ctx, `SELECT max(n) FROM (SELECT count(*) AS n FROM hotspot_run GROUP BY param_key) s`).Scan(&maxRuns); err != nil {
		t.Fatal(err)
	}
	if maxRuns != 2 {
		t.Errorf("kept %d runs per parameter set, want 2", maxRuns)
	}
}

// TestStandardMixedTaxonomies: datasets number their taxonomies differently (the
// generator's "01", the San Francisco loader's "SF01"); the standard set must still
// run every top-level category and count each event under its own root.
func TestStandardMixedTaxonomies(t *testing.T) {
	db, svc, city := fixtureDB(t)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO event_category (code, level, name) VALUES ('SF01', 1, 'Street and Sidewalk Cleaning')`,
		`INSERT INTO event_category (code, level, parent_code, name) VALUES ('SF01001', 2, 'SF01', 'Bulky Items')`,
		`UPDATE event SET category_code = 'SF01001' WHERE category_code LIKE '03%'`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	from := fixture.Now.Add(-hotspot.StandardWindow)
	raw := 0
	for _, e := range city.Events {
		if strings.HasPrefix(e.Category, "03") && !e.ReportedAt.Before(from) && e.ReportedAt.Before(fixture.Now) {
			raw++
		}
	}
	if raw == 0 {
		t.Fatal("the fixture has no 03 events in the standard window; the test would prove nothing")
	}
	// Enough more of them that the stored count passes the threshold.
	if _, err := db.Exec(ctx, `INSERT INTO event (category_code, source, status, reported_at, geom, h3, admin_code, grid_code, grid_version)
		SELECT 'SF01001', 'app', 'reported', $1::timestamptz - interval '1 hour', geom, h3, admin_code, grid_code, grid_version
		FROM event WHERE category_code = 'SF01001' AND reported_at >= $2 ORDER BY id LIMIT 1`, fixture.Now, from); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := db.Exec(ctx, `INSERT INTO event (category_code, source, status, reported_at, geom, h3, admin_code, grid_code, grid_version)
			SELECT category_code, source, status, reported_at, geom, h3, admin_code, grid_code, grid_version FROM event WHERE id = (SELECT max(id) FROM event)`); err != nil {
			t.Fatal(err)
		}
	}
	// The stored run's total is the count of those events as internal/sdctest
	// releases it, from their record keys.
	keys := eventKeys(t, db, "event")
	rows, err := db.Query(ctx, `SELECT id FROM event WHERE category_code = 'SF01001' AND reported_at >= $1 AND reported_at < $2`, from, fixture.Now)
	if err != nil {
		t.Fatal(err)
	}
	var set sdctest.Set
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { set.Add(keys[id]); return nil }); err != nil {
		t.Fatal(err)
	}
	if set.N != int64(raw)+4 || set.N < 5 {
		t.Fatalf("%d SF01 events in the window, want %d", set.N, raw+4)
	}
	want := int(released(set, sdctest.Events))
	rep, err := svc.RunStandard(ctx)
	if err != nil {
		t.Fatalf("standard set over mixed taxonomies: %v", err)
	}
	// 1 city + 2 streets, each for all categories and the 4 top-level ones.
	if rep.Runs != 3*5 {
		t.Fatalf("%d runs, want 15", rep.Runs)
	}
	for cat, n := range map[string]int{"SF01": want, "03": 0} {
		r, err := svc.Latest(ctx, "", cat)
		if err != nil {
			t.Fatalf("latest for %s: %v", cat, err)
		}
		if int(r.Summary.Events) != n {
			t.Errorf("category %s: %d events in the stored run, want %d", cat, r.Summary.Events, n)
		}
	}
}
