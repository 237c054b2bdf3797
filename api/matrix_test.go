package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb/encoding/mvt"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// The isolation matrix: every route of the route table and every layer of the
// tile registry, called as every person of the fixture city (one per role, in
// the jurisdictions roles have in practice). A route or layer the matrix does
// not know fails the test, so a new one must state how to call it and the
// checks below then hold it to its scope rule:
//   - a caller whose roles lack the route's capability gets 403 and nothing else;
//   - no answer carries a unit code outside the caller's jurisdiction, except
//     the units above it (the breadcrumb's district, street, community);
//   - a caller without the households capability gets no household field;
//   - nothing answers with a server error.

// matrixCall is one request of the matrix.
type matrixCall struct {
	method, path, body string
}

// matrixCalls says how to call every route, given the fixture city.
func matrixCalls(city *fixture.City) map[string][]matrixCall {
	inGrid := func(prefix string) (b fixture.Building, a fixture.Address) {
		for _, x := range city.Buildings {
			if strings.HasPrefix(x.GridCode, prefix) {
				b = x
				break
			}
		}
		for _, x := range city.Addresses {
			if x.Level == "room" && strings.HasPrefix(x.GridCode, prefix) {
				a = x
				break
			}
		}
		return b, a
	}
	bA, aA := inGrid(fixture.GridA)
	bB, aB := inGrid(fixture.GridB)
	var hA fixture.Household
	for _, h := range city.Households {
		if strings.HasPrefix(h.GridCode, fixture.GridA) {
			hA = h
			break
		}
	}
	var eB fixture.Event
	for _, e := range city.Events {
		if strings.HasPrefix(e.GridCode, fixture.GridB) {
			eB = e
			break
		}
	}
	get := func(paths ...string) []matrixCall {
		out := make([]matrixCall, len(paths))
		for i, p := range paths {
			out[i] = matrixCall{method: "GET", path: p}
		}
		return out
	}
	pB := fmt.Sprintf("lon=%f&lat=%f", aB.Point[0], aB.Point[1])
	from, to := city.Now.AddDate(-1, 0, 0).Format(time.RFC3339), city.Now.Format(time.RFC3339)
	everywhere := `{"type":"Polygon","coordinates":[[[113.99,22.49],[114.05,22.49],[114.05,22.53],[113.99,22.53],[113.99,22.49]]]}`
	return map[string][]matrixCall{
		"GET /healthz":                  get("/healthz"),
		"GET /api/v1/stats":             get("/api/v1/stats"),
		"GET /api/v1/stream":            get("/api/v1/stream"),
		"GET /api/v1/overview":          get("/api/v1/overview"),
		"GET /api/v1/buildings/{id}":    get(fmt.Sprintf("/api/v1/buildings/%d", bA.ID), fmt.Sprintf("/api/v1/buildings/%d", bB.ID)),
		"GET /api/v1/events/summary":    get("/api/v1/events/summary", "/api/v1/events/summary?unit="+fixture.GridB),
		"GET /api/v1/openapi.json":      get("/api/v1/openapi.json"),
		"POST /api/v1/session":          {{method: "POST", path: "/api/v1/session", body: `{"name":"nobody","password":"wrong password"}`}},
		"GET /api/v1/session":           get("/api/v1/session"),
		"DELETE /api/v1/session":        {{method: "DELETE", path: "/api/v1/session"}},
		"POST /api/v1/session/password": {{method: "POST", path: "/api/v1/session/password", body: `{"old":"wrong password","new":"another password"}`}},
		"GET /api/v1/audit":             get("/api/v1/audit"),
		"GET /api/v1/households":        get("/api/v1/households?unit="+fixture.GridA, "/api/v1/households?unit="+fixture.GridB),
		"POST /api/v1/households/{id}/unmask": {{method: "POST", path: fmt.Sprintf("/api/v1/households/%d/unmask", hA.ID),
			body: `{"fields":["phone"],"reason":"isolation matrix"}`}},
		"GET /api/v1/locate":         get("/api/v1/locate?" + pB),
		"GET /api/v1/addresses":      get("/api/v1/addresses?q=" + "南园路"),
		"GET /api/v1/addresses/near": get("/api/v1/addresses/near?radius=2000&limit=1000&" + pB),
		"GET /api/v1/addresses/{id}": get(fmt.Sprintf("/api/v1/addresses/%d", aA.ID), fmt.Sprintf("/api/v1/addresses/%d", aB.ID), fmt.Sprintf("/api/v1/addresses/%d", aB.ParentID)),
		"GET /api/v1/features/{collection}": get("/api/v1/features/buildings?limit=10000", "/api/v1/features/addresses?limit=10000",
			"/api/v1/features/events?limit=10000", "/api/v1/features/grids?limit=10000", "/api/v1/features/events?grid="+fixture.GridB),
		"POST /api/v1/features/{collection}": {{method: "POST", path: "/api/v1/features/events?limit=10000", body: everywhere},
			{method: "POST", path: "/api/v1/features/addresses?limit=10000", body: everywhere}},
		"POST /api/v1/aggregates": {
			{method: "POST", path: "/api/v1/aggregates", body: `{"group_by":"micro_grid","metric":"households"}`},
			{method: "POST", path: "/api/v1/aggregates", body: `{"group_by":"grid","metric":"events"}`},
			{method: "POST", path: "/api/v1/aggregates", body: `{"group_by":"community","metric":"tagged_people","tag":"残疾人"}`},
			{method: "POST", path: "/api/v1/aggregates", body: `{"group_by":"h3:9","metric":"people"}`},
			{method: "POST", path: "/api/v1/aggregates?format=geojson", body: `{"group_by":"street","metric":"events"}`},
		},
		"GET /api/v1/grids/out-of-band": get("/api/v1/grids/out-of-band"),
		"GET /api/v1/grids/{code}/load": get("/api/v1/grids/"+fixture.GridA+"/load", "/api/v1/grids/"+fixture.GridB+"/load"),
		"GET /api/v1/hotspots":          get("/api/v1/hotspots?res=10&from=" + from + "&to=" + to),
		"GET /api/v1/hotspots/emerging": get("/api/v1/hotspots/emerging?res=9&slices=4&slice_days=30&to=" + to),
		"GET /api/v1/hotspots/latest":   get("/api/v1/hotspots/latest"),
		"GET /api/v1/hotspots/alerts":   get("/api/v1/hotspots/alerts?since=" + from),
		// Tile paths are checked layer by layer in TestIsolationMatrixTiles; here
		// the composite and the descriptions.
		"GET /tiles/{layer}/{z}/{x}/{y}":  get(cityTile(tiles.All, 14)),
		"GET /tiles/{file}":               get("/tiles/events.json", "/tiles/households_h3.json"),
		"GET /tiles.json":                 get("/tiles.json"),
		"GET /styles/command-center.json": get("/styles/command-center.json"),
		"GET /ogc":                        get("/ogc"),
		"GET /ogc/{$}":                    get("/ogc/"),
		"GET /ogc/conformance":            get("/ogc/conformance"),
		"GET /ogc/collections":            get("/ogc/collections"),
		"GET /ogc/collections/{id}":       get("/ogc/collections/events", "/ogc/collections/addresses"),
		"GET /ogc/collections/{id}/items": get("/ogc/collections/events/items?limit=10000", "/ogc/collections/buildings/items?limit=10000",
			"/ogc/collections/addresses/items?limit=10000", "/ogc/collections/grids/items?limit=10000", "/ogc/collections/admin_areas/items"),
		"GET /ogc/collections/{id}/items/{featureId}": get(fmt.Sprintf("/ogc/collections/events/items/%d", eB.ID)),
		"GET /{$}":           get("/"),
		"GET /assets/{file}": get("/assets/none.js"),
	}
}

// cityTile is the tile at zoom z over the fixture city's grids A and B.
func cityTile(layer string, z int) string { return tilePath(layer, [2]float64{114.03, 22.51}, z) }

// matrixPerson is a person of the fixture with a token and a scope to judge by.
type matrixPerson struct {
	fixture.Person
	token    string
	prefixes []string // unit prefixes, "" for everything
	caps     []string
}

// inside reports whether a unit code may appear in the person's answers: inside
// the jurisdiction, or a unit containing part of it (an ancestor).
func (p matrixPerson) allows(code string) bool {
	for _, u := range p.prefixes {
		if strings.HasPrefix(code, u) || strings.HasPrefix(u, unitPrefix(code)) {
			return true
		}
	}
	return false
}

// unitPrefix strips an admin code's padding (computed here independently of the
// SQL function unit_prefix it mirrors).
func unitPrefix(code string) string {
	if len(code) == 12 {
		switch {
		case strings.HasSuffix(code, "000000"):
			return code[:6]
		case strings.HasSuffix(code, "000"):
			return code[:9]
		}
	}
	return code
}

// fixtureCode matches the fixture's admin and grid codes.
var fixtureCode = regexp.MustCompile(`^4403\d{2,}$`)

// householdKeys are fields only a caller with the households capability may see.
var householdKeys = []string{"head_name_masked", "phone_masked", "id_no_masked", "head_name", "phone", "id_no", "members"}

// foreign walks a JSON value and returns the unit codes the person may not see
// and the household fields it carries.
func (p matrixPerson) foreign(v any, bad *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if slices.Contains(householdKeys, k) && !slices.Contains(p.caps, scope.CanHouseholds) {
				*bad = append(*bad, "household field "+k)
			}
			p.foreign(e, bad)
		}
	case []any:
		for _, e := range x {
			p.foreign(e, bad)
		}
	case string:
		if fixtureCode.MatchString(x) && !p.allows(x) {
			*bad = append(*bad, "unit "+x)
		}
	}
}

// matrixServer serves the fixture city with tiles and hotspots, its clock at
// the city's today, and returns its people with their tokens.
func matrixServer(t *testing.T) (*httptest.Server, *fixture.City, []matrixPerson) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.ConnString(t)
	owner, err := pgxpool.New(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	app := pgtest.NewApp(t, conn)
	city := fixture.New()
	if err := city.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	now := clock.Fixed(city.Now)
	// A stored standard hotspot run, so that latest/alerts and the hotspot layer have data.
	if _, err := hotspot.New(owner, hotspot.Config{Now: now}).RunStandard(ctx); err != nil {
		t.Fatal(err)
	}
	ts, err := tiles.Open(ctx, pgtest.AppConnString(t, conn), tiles.Config{CacheBytes: 8 << 20, Now: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	srv := serveAuthed(t, Config{Tiles: ts, Now: now, Hotspots: hotspot.New(app, hotspot.Config{Now: now}), DataKey: fixture.DataKey()}, owner, app)
	var people []matrixPerson
	for _, p := range fixture.People() {
		var roles []auth.Role
		for _, r := range p.Roles {
			roles = append(roles, auth.Role(r))
		}
		mp := matrixPerson{Person: p, token: testUser(t, owner, city.Now, "m_"+p.Name, roles, p.Units, p.Duties), caps: auth.Capabilities(roles)}
		if err := owner.QueryRow(ctx, `SELECT unit_prefixes($1)`, p.Units).Scan(&mp.prefixes); err != nil {
			t.Fatal(err)
		}
		people = append(people, mp)
	}
	return srv, city, people
}

func TestIsolationMatrix(t *testing.T) {
	t.Parallel()
	srv, city, people := matrixServer(t)
	calls := matrixCalls(city)
	for _, rt := range apiRoutes {
		if _, ok := calls[rt.pattern]; !ok {
			t.Errorf("route %s has no calls in the isolation matrix (api/matrix_test.go): say how to call it", rt.pattern)
		}
	}
	for pattern := range calls {
		if !slices.ContainsFunc(apiRoutes, func(r route) bool { return r.pattern == pattern }) {
			t.Errorf("the matrix calls %s, which is no route", pattern)
		}
	}
	for _, rt := range apiRoutes {
		for _, c := range calls[rt.pattern] {
			for _, p := range people {
				t.Run(p.Name+" "+c.method+" "+c.path, func(t *testing.T) {
					status, body := matrixDo(t, srv, p, c)
					switch {
					case status == http.StatusServiceUnavailable && rt.pattern == "GET /{$}":
						return // the page is not built in this test binary; web/e2e_test.go serves it
					case status >= 500:
						t.Fatalf("%d: %s", status, body)
					case !rt.access.open && !rt.access.session && rt.access.need != "" && !slices.Contains(p.caps, rt.access.need):
						if status != http.StatusForbidden {
							t.Fatalf("%d, want 403: the roles %v lack %s: %s", status, p.Roles, rt.access.need, truncateBody(body))
						}
						return
					}
					var v any
					if json.Unmarshal(body, &v) != nil || rt.pattern == "GET /api/v1/openapi.json" {
						return // not JSON (the page, a stream, a tile), or the API's own description
					}
					var bad []string
					p.foreign(v, &bad)
					if len(bad) > 0 {
						slices.Sort(bad)
						t.Errorf("%d answer carries what %s (units %v) may not see: %v", status, p.Name, p.Units, slices.Compact(bad))
					}
				})
			}
		}
	}
}

// matrixDo makes one call as a person (a stream is read until it opens).
func matrixDo(t *testing.T, srv *httptest.Server, p matrixPerson, c matrixCall) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, c.method, srv.URL+c.path, strings.NewReader(c.body))
	req.Header.Set("Authorization", "Bearer "+p.token)
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp.StatusCode, nil
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func truncateBody(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// TestIsolationMatrixTiles: every layer of the registry, at every zoom band it
// has data, as every person: features carry no unit outside the jurisdiction,
// and a person without the capability a layer needs gets none of it.
func TestIsolationMatrixTiles(t *testing.T) {
	t.Parallel()
	srv, _, people := matrixServer(t)
	for _, l := range tiles.Layers() {
		for _, z := range []int{l.MinZoom, 9, 12, 14, 15, 16} {
			if z < l.MinZoom || z > l.MaxZoom {
				continue
			}
			for _, p := range people {
				t.Run(fmt.Sprintf("%s %s z%d", p.Name, l.Name, z), func(t *testing.T) {
					status, body := matrixDo(t, srv, p, matrixCall{method: "GET", path: cityTile(l.Name, z)})
					if status >= 500 {
						t.Fatalf("%d: %s", status, body)
					}
					if status != 200 {
						return
					}
					layers, err := mvt.UnmarshalGzipped(body)
					if err != nil {
						if layers, err = mvt.Unmarshal(body); err != nil {
							t.Fatalf("decode: %v", err)
						}
					}
					var bad []string
					rowLayer := slices.Contains([]string{"buildings", "addresses", "events"}, l.Name)
					for _, ml := range layers {
						if rowLayer && len(ml.Features) > 0 && !slices.Contains(p.caps, scope.CanRows) {
							bad = append(bad, fmt.Sprintf("%d row features of %s", len(ml.Features), ml.Name))
						}
						for _, f := range ml.Features {
							p.foreign(map[string]any(f.Properties), &bad)
						}
					}
					if len(bad) > 0 {
						slices.Sort(bad)
						t.Errorf("tile carries what %s (units %v) may not see: %v", p.Name, p.Units, slices.Compact(bad))
					}
				})
			}
		}
	}
}
