package api_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/api"
	"github.com/onegrid/onegrid/geo"
	stats "github.com/onegrid/onegrid/geo/hotspot"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
)

// hotspotServer serves the fixture city with the clock at fixture.Now.
func hotspotServer(t *testing.T) (*httptest.Server, *hotspot.Service) {
	t.Helper()
	owner, app := pgtest.Pair(t)
	if err := fixture.New().Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	// The service the test drives directly runs as the owner (as the CLI does);
	// the server's runs as the application role, under row-level security.
	hot := hotspot.New(owner, hotspot.Config{Now: func() time.Time { return fixture.Now }})
	srv := api.ServeAuthed(t, api.Config{Hotspots: hotspot.New(app, hotspot.Config{Now: func() time.Time { return fixture.Now }})}, owner, app)
	hotspotDBMu.Lock()
	hotspotDB[srv] = owner
	hotspotDBMu.Unlock()
	return srv, hot
}

// hotspotDB is the database behind each hotspotServer.
var (
	hotspotDBMu sync.Mutex
	hotspotDB   = map[*httptest.Server]*pgxpool.Pool{}
)

func get(t *testing.T, srv *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %d %s: %v", path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type hotspotBody struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	RunID   int64  `json:"run_id"`
	Summary struct {
		Cells       int            `json:"cells"`
		Events      int64          `json:"events"`
		Significant map[string]int `json:"significant_hot"`
		Note        string         `json:"note"`
	} `json:"summary"`
	Cells []struct {
		Cell   string  `json:"cell"`
		Count  int     `json:"count"`
		Z      float64 `json:"z"`
		P      float64 `json:"p"`
		Bin    int8    `json:"bin"`
		BinFDR int8    `json:"bin_fdr"`
	} `json:"cells"`
	Error struct {
		Code, Message string
	} `json:"error"`
}

func TestHotspotsMatchesGo(t *testing.T) {
	srv, _ := hotspotServer(t)
	city := fixture.New()
	hotspotDBMu.Lock()
	db := hotspotDB[srv]
	hotspotDBMu.Unlock()
	keys, err := sdctest.Keys(context.Background(), db, "event")
	if err != nil {
		t.Fatal(err)
	}
	from, to := fixture.Now.AddDate(0, -6, 0), fixture.Now
	for _, tc := range []struct {
		name, area, category string
		res, k               int
	}{
		{"city res10 k1", "", "", 10, 1},
		{"street res10 k2 category 01", "440304002000", "01", 10, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Independent of the SQL: counts from the fixture's Go values.
			var g = city.Area("440304000000").Bound
			prefix := ""
			if tc.area != "" {
				g, prefix = city.Area(tc.area).Bound, tc.area[:9]
			}
			raw, _ := geo.CellsInPolygon(g, tc.res)
			cells := make([]h3.Cell, len(raw))
			for i, c := range raw {
				cells[i] = h3.Cell(c)
			}
			w, err := stats.NewH3Weights(cells, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			// The analysis reads each cell's count as released (internal/sdctest
			// from the events' record keys), 0 when suppressed.
			sets := make([]sdctest.Set, w.N())
			for _, e := range city.Events {
				if e.ReportedAt.Before(from) || !e.ReportedAt.Before(to) || !strings.HasPrefix(e.Category, tc.category) || !strings.HasPrefix(e.GridCode, prefix) {
					continue
				}
				c12, _ := geo.CellAt(e.Point[0], e.Point[1], geo.StorageRes)
				if i, ok := w.Index(h3.Cell(geo.ParentBits(c12, tc.res))); ok {
					sets[i].Add(keys[e.ID])
				}
			}
			x := make([]float64, w.N())
			for i, set := range sets {
				if v := sdctest.Count(5, set, sdctest.Events); v != nil {
					x[i] = float64(*v)
				}
			}
			want, err := stats.Analyze(w, x, stats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := url.Values{"res": {strconv.Itoa(tc.res)}, "k": {strconv.Itoa(tc.k)}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
			if tc.area != "" {
				v.Set("area", tc.area)
			}
			if tc.category != "" {
				v.Set("category", tc.category)
			}
			var body hotspotBody
			if code := get(t, srv, "/api/v1/hotspots?"+v.Encode(), &body); code != 200 || body.Status != "ok" {
				t.Fatalf("%d %+v", code, body)
			}
			if len(body.Cells) != w.N() {
				t.Fatalf("%d cells, want %d", len(body.Cells), w.N())
			}
			hot := 0
			for i, c := range body.Cells {
				if c.Cell != w.Cells()[i].String() || float64(c.Count) != x[i] || math.Abs(c.Z-want.Z[i]) > 1e-9 || c.BinFDR != want.BinFDR[i] || c.Bin != want.Bin[i] {
					t.Fatalf("cell %d: %+v, want %s count %v z %v bins %d/%d", i, c, w.Cells()[i], x[i], want.Z[i], want.Bin[i], want.BinFDR[i])
				}
				if want.BinFDR[i] == 3 {
					hot++
				}
			}
			if body.Summary.Significant["99"] != hot {
				t.Errorf("summary 99%% hot %d, want %d", body.Summary.Significant["99"], hot)
			}
		})
	}
}

func TestHotspotsGeoJSON(t *testing.T) {
	srv, _ := hotspotServer(t)
	var fc struct {
		Type     string `json:"type"`
		Status   string `json:"status"`
		Features []struct {
			Geometry struct {
				Type        string        `json:"type"`
				Coordinates [][][]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if code := get(t, srv, "/api/v1/hotspots?res=9&from=2026-01-01&format=geojson", &fc); code != 200 {
		t.Fatalf("status %d", code)
	}
	if fc.Type != "FeatureCollection" || fc.Status != "ok" || len(fc.Features) == 0 {
		t.Fatalf("%s %s %d features", fc.Type, fc.Status, len(fc.Features))
	}
	f := fc.Features[0]
	if f.Geometry.Type != "Polygon" || len(f.Geometry.Coordinates[0]) != 7 || f.Properties["cell"] == nil || f.Properties["bin_fdr"] == nil {
		t.Fatalf("feature %+v", f)
	}
}

func TestHotspotsDegenerate(t *testing.T) {
	srv, _ := hotspotServer(t)
	for _, tc := range []struct{ name, query, reason string }{
		{"no events", "from=2020-01-01&to=2020-02-01", "only 0 events"},
		{"too few events", "from=2026-10-31&to=2026-11-01&category=020101", "at least"},
		{"area without cells", "area=440304001001&res=5", "no cell centre"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body hotspotBody
			code := get(t, srv, "/api/v1/hotspots?"+tc.query, &body)
			if code != 200 || body.Status != "nothing_to_find" || !strings.Contains(body.Reason, tc.reason) {
				t.Fatalf("%d %+v, want 200 nothing_to_find with %q", code, body, tc.reason)
			}
		})
	}
}

func TestHotspotsBadParams(t *testing.T) {
	srv, _ := hotspotServer(t)
	for _, tc := range []struct{ path, param string }{
		{"/api/v1/hotspots?res=4", "res"},
		{"/api/v1/hotspots?res=12", "res"},
		{"/api/v1/hotspots?res=x", "res"},
		{"/api/v1/hotspots?k=0", "k"},
		{"/api/v1/hotspots?k=6", "k"},
		{"/api/v1/hotspots?from=2024-01-01&to=2026-01-01", "from"},
		{"/api/v1/hotspots?from=2026-02-01&to=2026-01-01", "from"},
		{"/api/v1/hotspots?to=yesterday", "to"},
		{"/api/v1/hotspots?category=77", "category"},
		{"/api/v1/hotspots?category=01%27--", "category"},
		{"/api/v1/hotspots?area=440399000000", "area"},
		{"/api/v1/hotspots?by=density", "by"},
		{"/api/v1/hotspots?smooth=eb", "smooth"},
		{"/api/v1/hotspots?by=rate&smooth=kriging", "smooth"},
		{"/api/v1/hotspots?fdr=maybe", "fdr"},
		{"/api/v1/hotspots?format=kml", "format"},
		{"/api/v1/hotspots?radius=3", "radius"},
		{"/api/v1/hotspots?res=9&res=10", "res"},
		{"/api/v1/hotspots/emerging?slice=year", "slice"},
		{"/api/v1/hotspots/emerging?slices=2", "slices"},
		{"/api/v1/hotspots/emerging?slice=month&slices=60", "slices"},
		{"/api/v1/hotspots/emerging?area=nowhere", "area"},
		{"/api/v1/hotspots/latest?format=csv", "format"},
		{"/api/v1/hotspots/alerts?limit=0", "limit"},
		{"/api/v1/hotspots/alerts?since=soon", "since"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var body hotspotBody
			code := get(t, srv, tc.path, &body)
			if code != 400 || body.Error.Code != "invalid_parameter" || !strings.HasPrefix(body.Error.Message, tc.param+":") {
				t.Fatalf("%d %+v, want 400 naming %s", code, body.Error, tc.param)
			}
		})
	}
}

func TestHotspotsLatestAndAlerts(t *testing.T) {
	srv, hot := hotspotServer(t)
	var body hotspotBody
	if code := get(t, srv, "/api/v1/hotspots/latest", &body); code != 404 {
		t.Fatalf("latest before any run: %d, want 404", code)
	}
	if _, err := hot.RunStandard(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := get(t, srv, "/api/v1/hotspots/latest", &body); code != 200 || body.RunID == 0 || body.Summary.Cells == 0 {
		t.Fatalf("latest: %d %+v", code, body)
	}
	var fresh hotspotBody
	get(t, srv, "/api/v1/hotspots?res=9&k=1", &fresh)
	if fresh.Status != body.Status || len(fresh.Cells) != len(body.Cells) {
		t.Fatalf("latest %s %d cells, fresh %s %d cells", body.Status, len(body.Cells), fresh.Status, len(fresh.Cells))
	}
	if code := get(t, srv, "/api/v1/hotspots/latest?area=440304001000&category=01", &body); code != 200 {
		t.Fatalf("latest street: %d", code)
	}
	var alerts struct {
		Alerts []hotspot.Alert `json:"alerts"`
	}
	if code := get(t, srv, "/api/v1/hotspots/alerts?since=2026-10-01", &alerts); code != 200 || alerts.Alerts == nil {
		t.Fatalf("alerts: %d %+v", code, alerts)
	}
}

func TestHotspotsEmerging(t *testing.T) {
	srv, _ := hotspotServer(t)
	var body struct {
		Status      string         `json:"status"`
		Reason      string         `json:"reason"`
		SliceEvents []int64        `json:"slice_events"`
		CellsTotal  int            `json:"cells_total"`
		Patterns    map[string]int `json:"patterns"`
		Cells       []struct {
			Cell, Category string
			Counts         []int
		} `json:"cells"`
	}
	code := get(t, srv, "/api/v1/hotspots/emerging?res=9&slice=month&slices=12&all=true", &body)
	if code != 200 || body.Status != "ok" || len(body.SliceEvents) != 12 || len(body.Cells) != body.CellsTotal {
		t.Fatalf("%d %+v", code, body)
	}
	var sum int64
	for _, n := range body.SliceEvents {
		sum += n
	}
	// The fixture's events are uniform over its 17 months: 12 months hold some 280.
	if sum < 200 || sum > 360 {
		t.Errorf("%d events in 12 monthly slices", sum)
	}
	t.Logf("patterns %v", body.Patterns)
}
