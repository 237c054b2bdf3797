package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/tiles"
)

// tileServer serves the api over the test city.
func tileServer(t *testing.T, cfg tiles.Config) *httptest.Server {
	t.Helper()
	srv, _ := tileServerOwner(t, Config{}, cfg)
	return srv
}

// tileServerOwner serves the api with cfg and tiles opened with tcfg over the
// test city, and returns the owner's pool (to add users).
func tileServerOwner(t *testing.T, cfg Config, tcfg tiles.Config) (*httptest.Server, *pgxpool.Pool) {
	t.Helper()
	conn := pgtest.ConnString(t)
	owner, err := pgxpool.New(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	if err := testcity.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	ts, err := tiles.Open(context.Background(), pgtest.AppConnString(t, conn), tcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	cfg.Tiles = ts
	return serveAuthed(t, cfg, owner, pgtest.NewApp(t, conn)), owner
}

// client does not decompress, so the tests see exactly what was sent.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func getTile(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func tilePath(layer string, p [2]float64, z int) string {
	tl := geo.TileAt(p[0], p[1], z)
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.pbf", layer, tl.Z, tl.X, tl.Y)
}

func TestTileBadRequests(t *testing.T) {
	srv := tileServer(t, tiles.Config{})
	for _, tc := range []struct {
		name, path string
		status     int
		msg        string
	}{
		{"unknown layer", "/tiles/people/10/1/1.pbf", 404, `tile layer "people" not found`},
		{"unknown tilejson", "/tiles/people.json", 404, "not found"},
		{"not json", "/tiles/admin.xml", 404, "not found"},
		{"z too big", "/tiles/admin/25/1/1.pbf", 400, "z: z must be an integer 0..24"},
		{"z not a number", "/tiles/admin/a/1/1.pbf", 400, "z: "},
		{"x out of range", "/tiles/admin/2/4/1.pbf", 400, "x: x out of range 0..3 at z=2"},
		{"y out of range", "/tiles/admin/2/1/9.mvt", 400, "y: y out of range"},
		{"y bad suffix", "/tiles/admin/2/1/1.png", 400, "y: "},
		{"negative x", "/tiles/admin/2/-1/1.pbf", 400, "x: "},
		{"bad status", "/tiles/events/14/1/1.pbf?status=open", 400, `status: unknown status "open"`},
		{"bad from", "/tiles/events_h3/10/1/1.pbf?from=yesterday", 400, "from: must be an RFC 3339 time or a YYYY-MM-DD date"},
		{"bad to", "/tiles/events_h3/10/1/1.pbf?to=2025-13-01", 400, "to: "},
		{"to before from", "/tiles/events_h3/10/1/1.pbf?from=2025-02-01&to=2025-01-01", 400, "to: must be after from"},
		{"bad category", "/tiles/events_h3/10/1/1.pbf?category=01%25", 400, "category: "},
		{"bad filter on tilejson", "/tiles/events.json?status=x", 400, "status: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := getTile(t, srv.URL+tc.path)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			var e struct{ Error Error }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("message %q, want it to contain %q", e.Error.Message, tc.msg)
			}
		})
	}
}

func TestTileGzipETag(t *testing.T) {
	srv := tileServer(t, tiles.Config{CacheBytes: 1 << 20})
	url := srv.URL + tilePath("admin", testcity.Centre, 13)

	resp, gz := getTile(t, url, "Accept-Encoding", "gzip, deflate, br")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.mapbox-vector-tile" {
		t.Errorf("content type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
		t.Errorf("admin Cache-Control %q", cc)
	}
	layers, err := mvt.UnmarshalGzipped(gz)
	if err != nil || len(layers) != 2 {
		t.Fatalf("gzipped tile: %v, %d layers", err, len(layers))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("ETag %q, Vary %q", etag, resp.Header.Get("Vary"))
	}

	for _, ae := range []string{"", "identity", "gzip;q=0", "br"} {
		resp, raw := getTile(t, url, "Accept-Encoding", ae)
		if resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("Accept-Encoding %q: got Content-Encoding %q", ae, resp.Header.Get("Content-Encoding"))
		}
		if l, err := mvt.Unmarshal(raw); err != nil || len(l) != 2 {
			t.Errorf("Accept-Encoding %q: plain tile: %v, %d layers", ae, err, len(l))
		}
		if resp.Header.Get("ETag") != etag {
			t.Errorf("ETag differs by encoding")
		}
	}

	resp, body := getTile(t, url, "If-None-Match", etag, "Accept-Encoding", "gzip")
	if resp.StatusCode != 304 || len(body) != 0 {
		t.Errorf("If-None-Match: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = getTile(t, url, "If-None-Match", `"other", W/`+etag)
	if resp.StatusCode != 304 {
		t.Errorf("weak If-None-Match in a list: status %d", resp.StatusCode)
	}
	resp, _ = getTile(t, url, "If-None-Match", `"other"`)
	if resp.StatusCode != 200 {
		t.Errorf("stale If-None-Match: status %d", resp.StatusCode)
	}
	resp, _ = getTile(t, srv.URL+tilePath("events", testcity.Centre, 15))
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "must-revalidate") || !strings.Contains(cc, "max-age=10") {
		t.Errorf("events Cache-Control %q", cc)
	}
}

func TestTileTimeout(t *testing.T) {
	srv := tileServer(t, tiles.Config{Timeout: time.Microsecond})
	resp, body := getTile(t, srv.URL+tilePath("admin", testcity.Centre, 13))
	if resp.StatusCode != 503 || !strings.Contains(string(body), "timeout") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "context") {
		t.Errorf("internal error leaked: %s", body)
	}
}

func TestTileJSONAndStyle(t *testing.T) {
	srv := tileServer(t, tiles.Config{})
	var tj tiles.TileJSON
	resp, body := getTile(t, srv.URL+"/tiles/grids.json")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	if tj.TileJSON != "3.0.0" || tj.Tiles[0] != srv.URL+"/tiles/grids/{z}/{x}/{y}.pbf" || tj.MinZoom != 12 {
		t.Errorf("tilejson: %+v", tj)
	}
	if tj.Bounds != [4]float64{114.00, 22.52, 114.06, 22.56} {
		t.Errorf("bounds %v, want the test city's", tj.Bounds)
	}
	if len(tj.VectorLayers) != 2 || tj.VectorLayers[1].ID != "grid_label" || tj.VectorLayers[0].Fields["households"] != "Number" {
		t.Errorf("vector_layers %+v", tj.VectorLayers)
	}

	_, body = getTile(t, srv.URL+"/tiles/events_h3.json?status=reported&from=2025-01-01")
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(tj.Tiles[0], "?from=2024-12-31T16:00:00Z&status=reported") {
		t.Errorf("filtered tile url %q", tj.Tiles[0])
	}

	_, body = getTile(t, srv.URL+"/tiles.json")
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, vl := range tj.VectorLayers {
		ids[vl.ID] = true
	}
	for _, l := range tiles.Layers() {
		if !ids[l.Name] {
			t.Errorf("tiles.json lacks %s", l.Name)
		}
	}

	resp, body = getTile(t, srv.URL+"/styles/command-center.json")
	if resp.StatusCode != 200 {
		t.Fatalf("style: %d", resp.StatusCode)
	}
	var style struct {
		Version int
		Sources map[string]struct{ Type, URL string }
		Layers  []map[string]any
		Glyphs  string
		Sprite  any
	}
	if err := json.Unmarshal(body, &style); err != nil {
		t.Fatal(err)
	}
	if style.Version != 8 || style.Glyphs != "" || style.Sprite != nil {
		t.Errorf("style version %d glyphs %q sprite %v", style.Version, style.Glyphs, style.Sprite)
	}
	for name, src := range style.Sources {
		if !strings.HasPrefix(src.URL, srv.URL+"/") {
			t.Errorf("source %s from outside: %s", name, src.URL)
		}
	}
	drawn := map[string]bool{}
	for _, l := range style.Layers {
		if l["type"] == "symbol" {
			t.Errorf("layer %v needs glyphs", l["id"])
		}
		if sl, ok := l["source-layer"].(string); ok {
			drawn[sl] = true
		}
	}
	for _, l := range tiles.Layers() {
		if !drawn[l.Name] {
			t.Errorf("style does not draw %s", l.Name)
		}
	}
}

// TestOgrinfo has GDAL, a client we did not write, read the tiles.
func TestOgrinfo(t *testing.T) {
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ogrinfo not installed (apt-get install gdal-bin)")
		}
		t.Skip("ogrinfo not installed (apt-get install gdal-bin); skipping the GDAL reading test")
	}
	srv := tileServer(t, tiles.Config{})
	dir := t.TempDir()
	for _, tc := range []struct {
		layer string
		z     int
		want  map[string]int
	}{
		{"admin", 13, map[string]int{"admin": 2, "admin_label": 2}},
		{"grids", 15, map[string]int{"grids": 2}},
		{"events", 15, map[string]int{"events": 4}},
		{"households_h3", 10, map[string]int{"households_h3": 1}},
	} {
		t.Run(tc.layer, func(t *testing.T) {
			tl := geo.TileAt(testcity.Centre[0], testcity.Centre[1], tc.z)
			_, body := getTile(t, srv.URL+tilePath(tc.layer, testcity.Centre, tc.z))
			// GDAL's MVT driver georeferences a file named .../z/x/y.pbf.
			path := filepath.Join(dir, tc.layer, fmt.Sprint(tl.Z), fmt.Sprint(tl.X), fmt.Sprint(tl.Y)+".pbf")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(ogrinfo, "-ro", "-so", "-al", "MVT:"+path).CombinedOutput()
			if err != nil {
				t.Fatalf("ogrinfo: %v\n%s", err, out)
			}
			for layer, n := range tc.want {
				want := fmt.Sprintf("Layer name: %s\n", layer)
				i := bytes.Index(out, []byte(want))
				if i < 0 {
					t.Errorf("ogrinfo did not list layer %s:\n%s", layer, out)
					continue
				}
				rest := out[i:]
				if !bytes.Contains(rest, []byte(fmt.Sprintf("Feature Count: %d\n", n))) {
					t.Errorf("layer %s: want Feature Count: %d in\n%s", layer, n, rest)
				}
			}
		})
	}
}

// TestScopedTilesHTTP: tiles, TileJSON and the style over HTTP as users of
// different scopes see them: the jurisdiction's features only, a layer the
// roles do not allow answered 403, responses kept private and varying with the
// credentials (the anonymous public's too), and ETags that never revalidate
// another scope's copy.
func TestScopedTilesHTTP(t *testing.T) {
	srv, owner := tileServerOwner(t, Config{Public: auth.PublicPrincipal([]string{""})}, tiles.Config{CacheBytes: 1 << 20})
	now := time.Now()
	// Every event of the test city lies in micro-grid M01; M02 holds buildings 2 and 3.
	m01 := "Bearer " + testUser(t, owner, now, "m01", []auth.Role{auth.GridWorker}, []string{"440304001002G01M01"}, nil)
	m02 := "Bearer " + testUser(t, owner, now, "m02", []auth.Role{auth.GridWorker}, []string{"440304001002G01M02"}, nil)
	analyst := "Bearer " + testUser(t, owner, now, "ana", []auth.Role{auth.Analyst}, []string{"*"}, nil)

	count := func(body []byte, layer string) int {
		t.Helper()
		ls, err := mvt.Unmarshal(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Name == layer {
				return len(l.Features)
			}
		}
		return 0
	}
	url := srv.URL + tilePath("events", testcity.Centre, 15)
	resp, adminBody := getTile(t, url)
	adminTag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || count(adminBody, "events") != 4 {
		t.Fatalf("admin: %d, %d events", resp.StatusCode, count(adminBody, "events"))
	}
	for _, tc := range []struct {
		who, auth string
		events    int
	}{{"m01", m01, 4}, {"m02", m02, 0}} {
		resp, body := getTile(t, url, "Authorization", tc.auth)
		if resp.StatusCode != 200 || count(body, "events") != tc.events {
			t.Errorf("%s: status %d, %d events, want %d", tc.who, resp.StatusCode, count(body, "events"), tc.events)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private, ") || !strings.Contains(cc, "max-age=10") {
			t.Errorf("%s: Cache-Control %q", tc.who, cc)
		}
		if v := strings.Join(resp.Header.Values("Vary"), ","); !strings.Contains(v, "Cookie") || !strings.Contains(v, "Authorization") || !strings.Contains(v, "Accept-Encoding") {
			t.Errorf("%s: Vary %q", tc.who, v)
		}
		tag := resp.Header.Get("ETag")
		if tag == adminTag {
			t.Errorf("%s shares the admin's ETag %s", tc.who, tag)
		}
		if resp, _ := getTile(t, url, "Authorization", tc.auth, "If-None-Match", adminTag); resp.StatusCode != 200 {
			t.Errorf("%s with the admin's ETag: %d, want 200", tc.who, resp.StatusCode)
		}
		if resp, _ := getTile(t, url, "Authorization", tc.auth, "If-None-Match", tag); resp.StatusCode != 304 ||
			!strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
			t.Errorf("%s with its own ETag: %d (Cache-Control %q), want 304, private", tc.who, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	// M02's worker sees the buildings of M02 only.
	resp, body := getTile(t, srv.URL+tilePath("buildings", testcity.Centre, 14), "Authorization", m02)
	if resp.StatusCode != 200 || count(body, "buildings") != 2 {
		t.Errorf("m02 buildings: %d, %d", resp.StatusCode, count(body, "buildings"))
	}

	// The analyst: no row layer, directly or listed.
	for _, path := range []string{tilePath("events", testcity.Centre, 15), tilePath("buildings", testcity.Centre, 14), "/tiles/addresses.json"} {
		resp, body := getTile(t, srv.URL+path, "Authorization", analyst)
		if resp.StatusCode != 403 || !strings.Contains(string(body), `needs the capability \"rows\"`) {
			t.Errorf("analyst %s: %d %s", path, resp.StatusCode, body)
		}
	}
	var tj tiles.TileJSON
	resp, body = getTile(t, srv.URL+"/tiles.json", "Authorization", analyst)
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	for _, vl := range tj.VectorLayers {
		if vl.ID == "events" || vl.ID == "buildings" || vl.ID == "addresses" {
			t.Errorf("analyst's tiles.json lists %s", vl.ID)
		}
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Authorization") {
		t.Errorf("tiles.json: Cache-Control %q, Vary %q", cc, resp.Header.Values("Vary"))
	}
	// M02's TileJSON bounds are M02's.
	_, body = getTile(t, srv.URL+"/tiles/grids.json", "Authorization", m02)
	if err := json.Unmarshal(body, &tj); err != nil {
		t.Fatal(err)
	}
	if tj.Bounds != [4]float64{114.0125, 22.535, 114.02, 22.545} {
		t.Errorf("m02 bounds %v, want M02's", tj.Bounds)
	}
	resp, body = getTile(t, srv.URL+"/styles/command-center.json", "Authorization", analyst)
	var style struct{ Sources map[string]any }
	if err := json.Unmarshal(body, &style); err != nil || resp.StatusCode != 200 {
		t.Fatalf("style: %d %v", resp.StatusCode, err)
	}
	if style.Sources["events"] != nil || style.Sources["households_h3"] == nil {
		t.Errorf("analyst's style sources %v", style.Sources)
	}

	// Anonymous visitors of a public server: aggregate layers only, private as
	// every answer that depends on who asks (main's privateCache).
	req, _ := http.NewRequest("GET", srv.URL+tilePath("households_h3", testcity.Centre, 10), nil)
	req.Header.Set("Authorization", "") // no token: the public principal
	anon := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	r, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Cache-Control"), "private, ") || !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Cookie") {
		t.Errorf("public households_h3: %d, Cache-Control %q, Vary %v", r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Values("Vary"))
	}
	req, _ = http.NewRequest("GET", srv.URL+tilePath("events", testcity.Centre, 15), nil)
	if r, err = anon.Do(req); err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 403 {
		t.Errorf("public events: %d, want 403", r.StatusCode)
	}
}
