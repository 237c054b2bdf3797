package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	qry "github.com/onegrid/onegrid/query"
	"github.com/paulmach/orb"
)

func TestOGCDocuments(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	var landing struct{ Links []link }
	if code := getJSON(t, ts, "/ogc", &landing); code != 200 {
		t.Fatal(code)
	}
	rels := map[string]bool{}
	for _, l := range landing.Links {
		rels[l.Rel] = true
	}
	for _, r := range []string{"self", "service-desc", "conformance", "data"} {
		if !rels[r] {
			t.Errorf("landing page lacks a %s link", r)
		}
	}
	var conf struct{ ConformsTo []string }
	getJSON(t, ts, "/ogc/conformance", &conf)
	if len(conf.ConformsTo) != 3 {
		t.Errorf("conformsTo %v", conf.ConformsTo)
	}
	var cols struct {
		Collections []struct {
			ID     string
			Extent struct {
				Spatial  struct{ BBox [][]float64 }
				Temporal *struct{ Interval [][]*string }
			}
		}
	}
	getJSON(t, ts, "/ogc/collections", &cols)
	if len(cols.Collections) != 5 {
		t.Fatalf("%d collections", len(cols.Collections))
	}
	for _, c := range cols.Collections {
		if len(c.Extent.Spatial.BBox) != 1 || c.Extent.Spatial.BBox[0][0] < 113.99 || c.Extent.Spatial.BBox[0][2] > 114.05 {
			t.Errorf("%s: extent %v", c.ID, c.Extent.Spatial.BBox)
		}
		if c.ID == "events" && (c.Extent.Temporal == nil || c.Extent.Temporal.Interval[0][0] == nil) {
			t.Errorf("events without a temporal extent")
		}
	}
	// Paging with offset and property filters, datetime intervals.
	closed := 0
	for _, e := range city.Events {
		if e.Status == "closed" && !e.ReportedAt.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			closed++
		}
	}
	var page struct {
		NumberMatched  int `json:"numberMatched"`
		NumberReturned int `json:"numberReturned"`
		Features       []struct{ ID any }
		Links          []link
	}
	path := "/ogc/collections/events/items?status=closed&datetime=2026-01-01T00:00:00Z/..&limit=50"
	seen := 0
	for path != "" {
		page.Links = nil
		if code := getJSON(t, ts, strings.TrimPrefix(path, ts.URL), &page); code != 200 {
			t.Fatal(code)
		}
		if page.NumberMatched != closed {
			t.Fatalf("numberMatched %d, want %d", page.NumberMatched, closed)
		}
		seen += page.NumberReturned
		path = ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				path = l.Href
			}
		}
	}
	if seen != closed {
		t.Errorf("paged through %d features, want %d", seen, closed)
	}
	var item struct {
		Type string
		ID   any
	}
	if code := getJSON(t, ts, fmt.Sprintf("/ogc/collections/events/items/%d", city.Events[0].ID), &item); code != 200 || item.Type != "Feature" {
		t.Errorf("item: %d %+v", code, item)
	}
	if code := getJSON(t, ts, "/ogc/collections/admin_areas/items/440304001000", &item); code != 200 || item.ID != "440304001000" {
		t.Errorf("admin area item: %d %+v", code, item)
	}
	for _, bad := range []string{"/ogc/collections/events/items?limit=10001", "/ogc/collections/events/items?datetime=2026-05-01T00:00:00Z/2026-01-01T00:00:00Z", "/ogc/collections/events/items?colour=red"} {
		if code := getJSON(t, ts, bad, nil); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if code := getJSON(t, ts, "/ogc/collections/households/items", nil); code != 404 {
		t.Errorf("households: %d, want 404", code)
	}
}

// TestOGCWithGDAL opens the OGC API with GDAL's OAPIF driver, as QGIS would.
func TestOGCWithGDAL(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ogrinfo (gdal-bin) is required under CI")
		}
		t.Skip("ogrinfo not found: install gdal-bin to check the OGC API with GDAL's OAPIF driver")
	}
	ts, city := fixtureServer(t, qry.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// GDAL sends the API token as a GIS user's client would (GDAL_HTTP_HEADERS).
	tok, _ := testTokens.Load(ts.Listener.Addr().String())
	ogrinfo := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, "ogrinfo", args...)
		cmd.Env = append(os.Environ(), "GDAL_HTTP_HEADERS=Authorization: Bearer "+tok.(string))
		return cmd.CombinedOutput()
	}
	out, err := ogrinfo("-ro", "-al", "-so", "OAPIF:"+ts.URL+"/ogc")
	if err != nil {
		t.Fatalf("ogrinfo: %v\n%s", err, out)
	}
	counts := map[string]int{}
	layer := ""
	for _, line := range strings.Split(string(out), "\n") {
		if l, ok := strings.CutPrefix(line, "Layer name: "); ok {
			layer = strings.TrimSpace(l)
		}
		if m := regexp.MustCompile(`^Feature Count: (\d+)`).FindStringSubmatch(line); m != nil {
			counts[layer], _ = strconv.Atoi(m[1])
		}
	}
	want := map[string]int{"addresses": len(city.Addresses), "buildings": len(city.Buildings), "events": len(city.Events), "admin_areas": len(city.Areas)}
	for l, n := range want {
		if counts[l] != n {
			t.Errorf("layer %s: feature count %d, want %d\n%s", l, counts[l], n, out)
		}
	}
	// Read every feature of a layer through the driver's paging.
	out, err = ogrinfo("-ro", "-q", "OAPIF:"+ts.URL+"/ogc", "buildings")
	if err != nil {
		t.Fatalf("ogrinfo buildings: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "OGRFeature(buildings)"); n != len(city.Buildings) {
		t.Errorf("read %d buildings, want %d", n, len(city.Buildings))
	}
}

// TestOGCExtentOfTheJurisdiction: a collection's extent is the caller's — a
// grid worker's buildings span grid A, not the district the table holds.
func TestOGCExtentOfTheJurisdiction(t *testing.T) {
	t.Parallel()
	owner, app := pgtest.Pair(t)
	city := fixture.New()
	if err := city.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	ts := serveAuthed(t, Config{Now: clock.Fixed(city.Now)}, owner, app)
	tok := testUser(t, owner, city.Now, "worker_a", []auth.Role{auth.GridWorker}, []string{fixture.GridA}, nil)
	// The reference: grid A's own outline, and the whole fixture's buildings.
	var gridA, all orb.Bound
	for _, g := range city.Grids {
		if g.Code == fixture.GridA && g.ValidTo == nil {
			gridA = g.Bound
		}
	}
	first := true
	for _, b := range city.Buildings {
		if first {
			all, first = b.Bound, false
		}
		all = all.Union(b.Bound)
	}
	if gridA.IsZero() || gridA.Pad(1e-6).Contains(all.Min) && gridA.Pad(1e-6).Contains(all.Max) {
		t.Fatalf("grid A %v, all buildings %v: the test needs buildings outside grid A", gridA, all)
	}
	for _, who := range []struct {
		token  string
		within orb.Bound
	}{{tok, gridA}, {"", all}} {
		req, _ := http.NewRequest("GET", ts.URL+"/ogc/collections/buildings", nil)
		if who.token != "" {
			req.Header.Set("Authorization", "Bearer "+who.token)
		}
		resp, err := http.DefaultClient.Do(req) // as getJSON: the admin's token unless one is set
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Extent struct{ Spatial struct{ BBox [][]float64 } }
		}
		err = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(c.Extent.Spatial.BBox) != 1 {
			t.Fatalf("buildings collection: %d, %v, %+v", resp.StatusCode, err, c)
		}
		b := c.Extent.Spatial.BBox[0]
		got := orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}
		if w := who.within.Pad(1e-4); !w.Contains(got.Min) || !w.Contains(got.Max) {
			t.Errorf("extent %v lies outside %v", got, who.within)
		}
		if who.token != "" && got.Max[1]-got.Min[1] >= (all.Max[1]-all.Min[1])*0.9 && got.Max[0]-got.Min[0] >= (all.Max[0]-all.Min[0])*0.9 {
			t.Errorf("a grid worker's extent %v spans nearly all buildings %v", got, all)
		}
	}
}
