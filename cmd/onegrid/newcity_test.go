package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
)

// bostonExport is a real incident export of a city onegrid had not seen
// (ingest/testdata/boston/README.md says where it comes from).
const bostonExport = "../../ingest/testdata/boston/crime_incident_reports_2023_sample.csv"

// bostonLoad is the documented command line (README, "A new city's own
// data"), global flags first.
var bostonLoad = []string{"ingest", "--map", "id=INCIDENT_NUMBER,reported_at=OCCURRED_ON_DATE,category=OFFENSE_DESCRIPTION",
	"--create-categories", "--category-prefix", "BPD", "--area-code", "BOS", "--area-name", "Boston", "events"}

// TestNewCityIncidentExport loads the Boston export with one command line,
// computes its hotspots with `onegrid hotspots` right after, and serves them:
// GET /api/v1/hotspots and the event tile layers show the city. An event
// outside every area is kept unassigned, listed by the features API and OGC
// items with assigned=false, drawn on the map, and linked by a later grids load.
func TestNewCityIncidentExport(t *testing.T) {
	url := pgtest.ConnString(t)
	bin := buildOnegrid(t)
	export, err := filepath.Abs(bostonExport)
	if err != nil {
		t.Fatal(err)
	}
	// What the file holds, read here with encoding/csv, independently of the loader.
	f, err := os.Open(export)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rows := records[1:]
	offences := map[string]bool{}
	perCell := map[h3.Cell]int{}
	perPoint := map[[2]string]int{}
	for _, r := range rows {
		offences[r[3]] = true
		lat, _ := strconv.ParseFloat(r[14], 64)
		lon, _ := strconv.ParseFloat(r[15], 64)
		perCell[h3.LatLngToCell(h3.NewLatLng(lat, lon), 9)]++
		perPoint[[2]string{r[15], r[14]}]++
	}
	var topCell h3.Cell
	for c, n := range perCell {
		if n > perCell[topCell] {
			topCell = c
		}
	}
	var topPoint [2]string
	for p, n := range perPoint {
		if n > perPoint[topPoint] {
			topPoint = p
		}
	}

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--database-url", url, "--log-level", "warn"}, args...)...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("onegrid %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run(append(bostonLoad, export)...)
	if want := fmt.Sprintf("read %d, loaded %d (0 outside every grid, stored unassigned), unchanged 0, rejected 0", len(rows), len(rows)); !strings.Contains(out, want) {
		t.Fatalf("load: %s\nwant %q", out, want)
	}
	// Again: nothing new, nothing renumbered.
	out = run(append(bostonLoad, export)...)
	if want := fmt.Sprintf("loaded 0 (0 outside every grid, stored unassigned), unchanged %d, rejected 0", len(rows)); !strings.Contains(out, want) {
		t.Fatalf("second load: %s\nwant %q", out, want)
	}

	// Hotspots right after, from the command line.
	var hs struct {
		Status  string
		Summary struct{ Events, Dropped int }
		Cells   []struct {
			Cell   int64 `json:"cell"`
			Count  int   `json:"count"`
			BinFDR int   `json:"bin_fdr"`
		}
	}
	out = run("hotspots", "--from", "2023-01-01", "--to", "2023-01-21", "--res", "9", "--json")
	if err := json.Unmarshal([]byte(out), &hs); err != nil {
		t.Fatalf("hotspots --json: %v\n%s", err, out)
	}
	// Hotspot counts are released by the disclosure-control rule (threshold 5):
	// the expected values by internal/sdctest from the events' record keys.
	ctx := t.Context()
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	keys, err := sdctest.Keys(ctx, owner, "event")
	if err != nil {
		t.Fatal(err)
	}
	var all, top sdctest.Set
	cells, err := owner.Query(ctx, `SELECT id, h3 FROM event`)
	if err != nil {
		t.Fatal(err)
	}
	var id, cell int64
	if _, err := pgx.ForEachRow(cells, []any{&id, &cell}, func() error {
		all.Add(keys[id])
		if h3.Cell(geo.ParentBits(cell, 9)) == topCell {
			top.Add(keys[id])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if all.N != int64(len(rows)) || top.N != int64(perCell[topCell]) {
		t.Fatalf("the database holds %d events, %d in the busiest cell; the file %d, %d", all.N, top.N, len(rows), perCell[topCell])
	}
	wantEvents, wantTop := sdctest.Count(5, all, sdctest.Events), sdctest.Count(5, top, sdctest.Events)
	val := func(p *int64) string {
		if p == nil {
			return "suppressed"
		}
		return strconv.FormatInt(*p, 10)
	}
	if hs.Status != "ok" || wantEvents == nil || int64(hs.Summary.Events) != *wantEvents || hs.Summary.Dropped != 0 {
		t.Fatalf("hotspots: status %s, %d events (%d outside the study area); want ok, %d (released %s), 0", hs.Status, hs.Summary.Events, hs.Summary.Dropped, len(rows), val(wantEvents))
	}
	found := false
	for _, c := range hs.Cells {
		if h3.Cell(c.Cell) == topCell {
			found = true
			if wantTop == nil || int64(c.Count) != *wantTop || c.BinFDR != 3 {
				t.Errorf("busiest cell %s: count %d, FDR bin %d; want %d events released as %s and a 99 %% hot spot", topCell, c.Count, c.BinFDR, perCell[topCell], val(wantTop))
			}
		}
	}
	if !found {
		t.Errorf("busiest cell %s (%d events) not in the study area", topCell, perCell[topCell])
	}

	// An event far outside the city's area: kept, unassigned.
	far := filepath.Join(t.TempDir(), "far.csv")
	if err := os.WriteFile(far, []byte(records0(records)+"X1,3115,,INVESTIGATE PERSON,,,0,2023-01-05 10:00:00+00,2023,1,Thursday,10,,MAIN ST,42.2626,-71.8023,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run("ingest", "--map", "id=INCIDENT_NUMBER,reported_at=OCCURRED_ON_DATE,category=OFFENSE_DESCRIPTION",
		"--create-categories", "--category-prefix", "BPD", "--dataset", "far", "events", far)
	if !strings.Contains(out, "loaded 1 (1 outside every grid, stored unassigned)") {
		t.Fatalf("far event: %s", out)
	}

	// Served as the application role, to a city-wide user: row-level
	// security shows events outside every area to the whole city's scope.
	users := auth.NewUsers(owner)
	if _, err := users.Add(ctx, auth.NewUser{Name: "analyst", Roles: []auth.Role{auth.Admin}, Units: []string{"*"}, Password: "a long test password"}); err != nil {
		t.Fatal(err)
	}
	token, err := users.CreateToken(ctx, "analyst", "test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, stop := startServe(t, "serve", "--database-url", url, "--app-database-url", pgtest.AppConnString(t, url), "--hotspot-interval", "0")
	defer stop()
	base := "http://" + addr
	getJSON := func(t *testing.T, url string, v any) int { t.Helper(); return getJSONAs(t, token, url, v) }
	tileFeatures := func(t *testing.T, base, layer string, lon, lat float64, z int, sumProp string) int {
		t.Helper()
		return tileFeaturesAs(t, token, base, layer, lon, lat, z, sumProp)
	}
	var fc struct {
		Type     string
		Features []struct {
			Properties struct {
				Cell   string
				Count  int
				BinFDR int `json:"bin_fdr"`
			}
		}
		Status string
	}
	if code := getJSON(t, base+"/api/v1/hotspots?from=2023-01-01T00:00:00Z&to=2023-01-21T00:00:00Z&format=geojson", &fc); code != 200 || fc.Status != "ok" {
		t.Fatalf("GET /api/v1/hotspots: %d %s", code, fc.Status)
	}
	hot := 0
	for _, f := range fc.Features {
		if f.Properties.BinFDR == 3 {
			hot++
		}
		if f.Properties.Cell == topCell.String() && f.Properties.BinFDR != 3 {
			t.Errorf("GET /api/v1/hotspots: busiest cell %s has FDR bin %d, want 3", topCell, f.Properties.BinFDR)
		}
	}
	if hot == 0 {
		t.Errorf("GET /api/v1/hotspots: no 99 %% hot spot")
	}

	// The map: the busiest point's event tile and H3 tile show its events.
	lon, _ := strconv.ParseFloat(topPoint[0], 64)
	lat, _ := strconv.ParseFloat(topPoint[1], 64)
	if n := tileFeatures(t, base, "events", lon, lat, 15, ""); n < perPoint[topPoint] {
		t.Errorf("events tile at the busiest point has %d features, want >= %d", n, perPoint[topPoint])
	}
	if n := tileFeatures(t, base, "events_h3", lon, lat, 10, "events"); n < perPoint[topPoint] {
		t.Errorf("events_h3 tile at the busiest point counts %d events, want >= %d", n, perPoint[topPoint])
	}
	// The unassigned event: listed and drawn.
	var page struct {
		NumberReturned int `json:"numberReturned"`
		NumberMatched  int `json:"numberMatched"`
		Features       []struct {
			Geometry   struct{ Coordinates []float64 }
			Properties map[string]any
		}
	}
	if code := getJSON(t, base+"/api/v1/features/events?assigned=false", &page); code != 200 || page.NumberReturned != 1 ||
		page.Features[0].Properties["grid_code"] != nil || math.Abs(page.Features[0].Geometry.Coordinates[0]+71.8023) > 1e-6 {
		t.Fatalf("GET /api/v1/features/events?assigned=false: %d %+v", code, page)
	}
	if code := getJSON(t, base+"/api/v1/features/events?assigned=true&limit=1000", &page); code != 200 || page.NumberReturned != len(rows) {
		t.Errorf("assigned=true: %d, %d events, want %d", code, page.NumberReturned, len(rows))
	}
	if code := getJSON(t, base+"/ogc/collections/events/items?assigned=false", &page); code != 200 || page.NumberMatched != 1 {
		t.Errorf("OGC items assigned=false: %d, numberMatched %d, want 1", code, page.NumberMatched)
	}
	if code := getJSON(t, base+"/api/v1/features/events?assigned=maybe", &page); code != 400 {
		t.Errorf("assigned=maybe: %d, want 400", code)
	}
	if n := tileFeatures(t, base, "events", -71.8023, 42.2626, 15, ""); n != 1 {
		t.Errorf("events tile at the unassigned event: %d features, want 1", n)
	}
	if n := tileFeatures(t, base, "events_h3", -71.8023, 42.2626, 10, "events"); n != 1 {
		t.Errorf("events_h3 tile at the unassigned event counts %d, want 1", n)
	}

	// Grids that cover it, loaded later, link it.
	grids := filepath.Join(t.TempDir(), "worcester.csv")
	if err := os.WriteFile(grids, []byte("code,level,wkt\nWOR001,grid,\"POLYGON((-71.9 42.2,-71.7 42.2,-71.7 42.3,-71.9 42.3,-71.9 42.2))\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("ingest", "grids", grids)
	if code := getJSON(t, base+"/api/v1/features/events?assigned=false", &page); code != 200 || page.NumberReturned != 0 {
		t.Errorf("after the grids load, assigned=false: %d, %d events, want 0", code, page.NumberReturned)
	}
	if code := getJSON(t, base+"/api/v1/features/events?grid=WOR001", &page); code != 200 || page.NumberReturned != 1 {
		t.Errorf("after the grids load, grid=WOR001: %d, %d events, want 1", code, page.NumberReturned)
	}
}

// records0 is the header line of an export.
func records0(records [][]string) string { return strings.Join(records[0], ",") + "\n" }

// tileFeaturesAs fetches layer's tile at zoom z holding lon/lat with an API
// token and returns its feature count, or with sumProp the sum of that property.
func tileFeaturesAs(t *testing.T, token, base, layer string, lon, lat float64, z int, sumProp string) int {
	t.Helper()
	n := math.Exp2(float64(z))
	x := int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y := int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/tiles/%s/%d/%d/%d.pbf", base, layer, z, x, y), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("tile %s/%d/%d/%d: %d %v", layer, z, x, y, resp.StatusCode, err)
	}
	layers, err := mvt.Unmarshal(b)
	if err != nil {
		t.Fatalf("tile %s: %v", layer, err)
	}
	total := 0
	for _, l := range layers {
		if l.Name != layer {
			continue
		}
		for _, f := range l.Features {
			if sumProp == "" {
				total++
				continue
			}
			if v, ok := f.Properties[sumProp].(float64); ok {
				total += int(v)
			}
		}
	}
	return total
}
