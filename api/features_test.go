package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/internal/fixture"
	qry "github.com/onegrid/onegrid/query"
)

type featurePage struct {
	Type     string
	Features []struct {
		ID         any
		Geometry   map[string]any
		Properties map[string]any
	}
	NumberReturned int     `json:"numberReturned"`
	NextCursor     *string `json:"next_cursor"`
}

func TestFeaturesPaging(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	box := orb.Bound{Min: orb.Point{114.005, 22.505}, Max: orb.Point{114.03, 22.518}}
	cases := []struct {
		name, collection, query, body string
		want                          map[string]bool
	}{
		{name: "events in a bbox", collection: "events", query: fmt.Sprintf("bbox=%g,%g,%g,%g", box.Min[0], box.Min[1], box.Max[0], box.Max[1]),
			want: idsOf(city.Events, func(e fixture.Event) bool { return covers(box, e.Point) }, func(e fixture.Event) int64 { return e.ID })},
		{name: "urgent closed events of a street", collection: "events", query: "admin=440304002&severity=urgent&status=closed",
			want: idsOf(city.Events, func(e fixture.Event) bool {
				return strings.HasPrefix(e.AdminCode, "440304002") && e.Severity == "urgent" && e.Status == "closed"
			}, func(e fixture.Event) int64 { return e.ID })},
		{name: "category subtree", collection: "events", query: "category=0101&from=2026-01-01&to=2026-07-01T00:00:00Z",
			want: idsOf(city.Events, func(e fixture.Event) bool {
				return strings.HasPrefix(e.Category, "0101") && !e.ReportedAt.Before(mustTime("2025-12-31T16:00:00Z")) && e.ReportedAt.Before(mustTime("2026-07-01T00:00:00Z"))
			}, func(e fixture.Event) int64 { return e.ID })},
		{name: "addresses of a grid", collection: "addresses", query: "grid=440304001001001",
			want: idsOf(city.Addresses, func(a fixture.Address) bool { return strings.HasPrefix(a.GridCode, "440304001001001") }, func(a fixture.Address) int64 { return a.ID })},
		{name: "buildings in a polygon", collection: "buildings", body: `{"type":"Polygon","coordinates":[[[114.0,22.5],[114.02,22.5],[114.02,22.51],[114.0,22.51],[114.0,22.5]]]}`,
			want: idsOf(city.Buildings, func(b fixture.Building) bool {
				return b.Bound.Intersects(orb.Bound{Min: orb.Point{114.0, 22.5}, Max: orb.Point{114.02, 22.51}})
			}, func(b fixture.Building) int64 { return b.ID })},
		{name: "commercial buildings", collection: "buildings", query: "use=commercial",
			want: idsOf(city.Buildings, func(b fixture.Building) bool { return b.Use == "commercial" }, func(b fixture.Building) int64 { return b.ID })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) == 0 {
				t.Fatal("the case selects nothing; fix the test")
			}
			seen := map[string]bool{}
			path := "/api/v1/features/" + tc.collection + "?limit=7&" + tc.query
			for pages := 0; ; pages++ {
				if pages > 1000 {
					t.Fatal("too many pages")
				}
				var p featurePage
				var code int
				if tc.body != "" {
					code = post(t, ts, path, tc.body, &p)
				} else {
					code = get(t, ts, path, &p)
				}
				if code != 200 {
					t.Fatalf("status %d", code)
				}
				for _, f := range p.Features {
					id := fmt.Sprint(f.ID)
					if seen[id] {
						t.Errorf("feature %s returned twice", id)
					}
					seen[id] = true
					if f.Geometry == nil {
						t.Errorf("feature %s has no geometry", id)
					}
				}
				if p.NextCursor == nil {
					break
				}
				path = "/api/v1/features/" + tc.collection + "?limit=7&" + tc.query + "&cursor=" + url.QueryEscape(*p.NextCursor)
			}
			for id := range tc.want {
				if !seen[id] {
					t.Errorf("feature %s missing", id)
				}
			}
			for id := range seen {
				if !tc.want[id] {
					t.Errorf("feature %s should not be there", id)
				}
			}
		})
	}
}

func idsOf[T any](rows []T, keep func(T) bool, id func(T) int64) map[string]bool {
	out := map[string]bool{}
	for _, r := range rows {
		if keep(r) {
			out[fmt.Sprint(id(r))] = true
		}
	}
	return out
}

func TestFeaturesGridVersions(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	for _, at := range []string{"", fixture.Redrawn.AddDate(0, 0, -1).Format("2006-01-02T15:04:05Z")} {
		var p featurePage
		if code := get(t, ts, "/api/v1/features/grids?level=micro_grid&limit=1000&at="+at, &p); code != 200 {
			t.Fatal(code)
		}
		want := 0
		for _, g := range city.Grids {
			if g.Level == "micro_grid" && (at == "" && g.ValidTo == nil || at != "" && g.ValidAt(mustTime(at))) {
				want++
			}
		}
		if len(p.Features) != want {
			t.Errorf("at %q: %d micro-grids, want %d", at, len(p.Features), want)
		}
	}
}

func TestFeaturesBadInput(t *testing.T) {
	t.Parallel()
	ts, _ := fixtureServer(t, qry.Config{})
	var p featurePage
	get(t, ts, "/api/v1/features/events?limit=2", &p)
	cases := []struct{ method, path, body, param string }{
		{"GET", "/api/v1/features/events?bbox=1,2,3", "", "bbox"},
		{"GET", "/api/v1/features/events?bbox=114,22,113,23", "", "bbox"},
		{"GET", "/api/v1/features/events?bbox=114,95,115,96", "", "bbox"},
		{"GET", "/api/v1/features/events?limit=0", "", "limit"},
		{"GET", "/api/v1/features/events?limit=100001", "", "limit"},
		{"GET", "/api/v1/features/events?cursor=!!!", "", "cursor"},
		{"GET", "/api/v1/features/events?severity=urgent&cursor=" + url.QueryEscape(*p.NextCursor), "", "cursor"},
		{"GET", "/api/v1/features/events?from=2026-05-01&to=2026-04-01", "", "to"},
		{"GET", "/api/v1/features/events?status=lost", "", "status"},
		{"GET", "/api/v1/features/grids?level=planet", "", "level"},
		{"GET", "/api/v1/features/buildings?severity=urgent", "", "severity"},
		{"GET", "/api/v1/features/events?grid=44%25", "", "grid"},
		{"POST", "/api/v1/features/events", `{"type":"Point","coordinates":[114,22]}`, "body"},
		{"POST", "/api/v1/features/events", `{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.5],[114.01,22.51]]]}`, "body"},
		{"POST", "/api/v1/features/events", `{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.51],[114.01,22.5],[114,22.51],[114,22.5]]]}`, "body"},
		{"POST", "/api/v1/features/events", `{"type":"Polygon","coordinates":[[[100,10],[130,10],[130,40],[100,10]]]}`, "body"},
		{"POST", "/api/v1/features/events", `{"type":"Polygon",`, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.path+tc.body, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e apiError
			if code := decode(t, resp, &e); code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
			if !strings.HasPrefix(e.Error.Message, tc.param+":") {
				t.Errorf("message %q does not name %s", e.Error.Message, tc.param)
			}
		})
	}
	if code := get(t, ts, "/api/v1/features/households", nil); code != 404 {
		t.Errorf("households as a feature collection: status %d, want 404", code)
	}
}
