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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
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
	keys     map[int64]uint64 // the households' record keys, for released figures (internal/sdctest)
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
// the city's today, in public mode for 南园街道, and returns its people with
// their tokens, and the anonymous public (no token).
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
	// The anonymous public of a server started with --public-units 南园街道.
	public := matrixPerson{Person: fixture.Person{Name: "public", Roles: []string{string(auth.Public)}, Units: []string{fixture.StreetNY}},
		caps: auth.Capabilities([]auth.Role{auth.Public})}
	if err := owner.QueryRow(ctx, `SELECT unit_prefixes($1)`, public.Units).Scan(&public.prefixes); err != nil {
		t.Fatal(err)
	}
	srv := serveAuthed(t, Config{Tiles: ts, Now: now, Hotspots: hotspot.New(app, hotspot.Config{Now: now}), DataKey: fixture.DataKey(),
		Public: auth.PublicPrincipal(public.prefixes)}, owner, app)
	keys, err := sdctest.Keys(ctx, owner, "household")
	if err != nil {
		t.Fatal(err)
	}
	public.keys = keys
	people := []matrixPerson{public}
	for _, p := range fixture.People() {
		var roles []auth.Role
		for _, r := range p.Roles {
			roles = append(roles, auth.Role(r))
		}
		mp := matrixPerson{Person: p, token: testUser(t, owner, city.Now, "m_"+p.Name, roles, p.Units, p.Duties), caps: auth.Capabilities(roles), keys: keys}
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

// matrixDo makes one call as a person, the public without credentials (a
// stream is read until it opens).
func matrixDo(t *testing.T, srv *httptest.Server, p matrixPerson, c matrixCall) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, c.method, srv.URL+c.path, strings.NewReader(c.body))
	client := http.DefaultClient
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	} else {
		client = &http.Client{Transport: http.DefaultTransport} // no test token either: the anonymous public
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
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

// matrixTilePoints are where the tile matrix asks for tiles: the middle of grid
// A (the south half of 南园社区), of grid B (its north half) and the line
// between them, so that every zoom band has tiles holding both grids.
var matrixTilePoints = [][2]float64{{114.03, 22.505}, {114.03, 22.515}, {114.03, 22.51}}

// TestIsolationMatrixTiles: every layer of the registry, at every zoom band it
// has data, as every person of the fixture (all have a jurisdiction) and the
// anonymous public: a layer the person's capabilities allow answers 200 and
// holds only what lies inside the person's jurisdiction — outlines of its units
// and the units above them, rows whose unit is inside it, H3 cells whose counts
// are exactly those of the jurisdiction's households and events (computed here
// from the fixture's values), hotspot cells over or next to its units — and a layer
// they do not allow answers 403. So a grid worker of grid A gets grid A's
// buildings and events and none of grid B's.
func TestIsolationMatrixTiles(t *testing.T) {
	t.Parallel()
	srv, city, people := matrixServer(t)
	var mu sync.Mutex
	seen := map[string]map[string]int{} // person → MVT layer → features inside the jurisdiction
	for _, l := range tiles.Layers() {
		for _, z := range []int{l.MinZoom, 9, 12, 14, 15, 16} {
			if z < l.MinZoom || z > l.MaxZoom {
				continue
			}
			for _, p := range people {
				allowed := l.Need == tiles.Anyone || slices.Contains(p.caps, l.Need)
				for _, pt := range matrixTilePoints {
					path := tilePath(l.Name, pt, z)
					t.Run(fmt.Sprintf("%s %s", p.Name, path), func(t *testing.T) {
						status, body := matrixDo(t, srv, p, matrixCall{method: "GET", path: path})
						switch {
						case !allowed:
							if status != http.StatusForbidden {
								t.Fatalf("%d, want 403: the roles %v lack %s, which layer %s needs: %s", status, p.Roles, l.Need, l.Name, truncateBody(body))
							}
							return
						case status != http.StatusOK:
							t.Fatalf("%d, want 200: %s", status, truncateBody(body))
						}
						layers, err := mvt.UnmarshalGzipped(body)
						if err != nil {
							if layers, err = mvt.Unmarshal(body); err != nil {
								t.Fatalf("decode: %v", err)
							}
						}
						var bad []string
						for _, ml := range layers {
							for _, f := range ml.Features {
								if why := p.tileForeign(city, ml.Name, f); why != "" {
									bad = append(bad, why)
								}
							}
							mu.Lock()
							if seen[p.Name] == nil {
								seen[p.Name] = map[string]int{}
							}
							seen[p.Name][ml.Name] += len(ml.Features)
							mu.Unlock()
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
	// The checks above must have had something to check: every person sees the
	// outlines of their jurisdiction, the grid workers the rows of their grid.
	for _, p := range people {
		if seen[p.Name]["admin"] == 0 {
			t.Errorf("%s saw no admin outline", p.Name)
		}
		if p.Name == "worker_a" || p.Name == "worker_b" {
			for _, name := range []string{"grids", "buildings", "events", "addresses", "events_h3", "households_h3"} {
				if seen[p.Name][name] == 0 {
					t.Errorf("%s saw no feature of %s in its own grid", p.Name, name)
				}
			}
		}
	}
}

// inside reports whether a unit code lies inside the person's jurisdiction (the
// rule of row-level security for a row's unit: a prefix of the code).
func (p matrixPerson) inside(code string) bool {
	for _, u := range p.prefixes {
		if strings.HasPrefix(code, u) {
			return true
		}
	}
	return false
}

// rowUnit is the unit a row is judged by: its grid, else its admin area.
func rowUnit(grid, admin string) string {
	if grid != "" {
		return grid
	}
	return admin
}

// storageCell is the cell at res of a point's storage cell (coarser cells are
// the storage cell's ancestors, as the database keeps them).
func storageCell(pt orb.Point, res int) h3.Cell {
	return h3.LatLngToCell(h3.NewLatLng(pt[1], pt[0]), geo.StorageRes).Parent(res)
}

// tileForeign says what is wrong with a decoded tile feature for the person, ""
// when nothing: computed from the fixture's values, not from the tile service.
func (p matrixPerson) tileForeign(city *fixture.City, layer string, f *geojson.Feature) string {
	props := f.Properties
	str := func(k string) string { s, _ := props[k].(string); return s }
	num := func(k string) int { n, _ := props[k].(float64); return int(n) }
	var bad []string
	p.foreign(map[string]any(props), &bad)
	if len(bad) > 0 {
		return layer + ": " + strings.Join(bad, ", ")
	}
	switch layer {
	case "admin", "admin_label", "grids", "grid_label":
		if str("code") == "" {
			return layer + ": a feature without a code"
		}
	case "buildings", "addresses":
		if code := str("grid_code"); !p.inside(code) {
			return fmt.Sprintf("%s: feature %v of unit %q", layer, f.ID, code)
		}
	case "events":
		for _, e := range city.Events {
			if fmt.Sprint(e.ID) == fmt.Sprint(f.ID) {
				if u := rowUnit(e.GridCode, e.AdminCode); !p.inside(u) {
					return fmt.Sprintf("events: event %d of unit %s", e.ID, u)
				}
				return ""
			}
		}
		return fmt.Sprintf("events: event %v is not the fixture's", f.ID)
	case "events_h3":
		cell := h3.Cell(h3.IndexFromString(str("cell")))
		res := cell.Resolution()
		events, open := 0, 0
		for _, e := range city.Events {
			if !p.inside(rowUnit(e.GridCode, e.AdminCode)) {
				continue
			}
			c := storageCell(e.Point, res)
			if res > tiles.CoarseRes && city.Sensitive(e.Category) && !slices.Contains(p.caps, scope.CanSensitive) {
				c = storageCell(e.Point, tiles.CoarseRes).CenterChild(res)
			}
			if c == cell {
				events++
				if e.Open() {
					open++
				}
			}
		}
		if num("events") != events || num("open") != open {
			return fmt.Sprintf("events_h3: cell %s counts %d/%d events, the jurisdiction's are %d/%d", cell, num("events"), num("open"), events, open)
		}
	case "households_h3":
		cell := h3.Cell(h3.IndexFromString(str("cell")))
		var set sdctest.Set
		var people int64
		tags := map[string]*sdctest.Set{}
		for _, h := range city.Households {
			if p.inside(rowUnit(h.GridCode, h.AdminCode)) && storageCell(h.Point, cell.Resolution()) == cell {
				set.Add(p.keys[h.ID])
				people += int64(h.Members)
				for _, tag := range h.Tags {
					if tags[tag] == nil {
						tags[tag] = &sdctest.Set{}
					}
					tags[tag].Add(p.keys[h.ID])
				}
			}
		}
		k := int64(tiles.DefaultMinCount)
		hh := sdctest.Count(k, set, sdctest.Households)
		if hh == nil || int64(num("households")) != *hh || int64(num("people")) != *sdctest.Sum(k, people, set, sdctest.People) {
			return fmt.Sprintf("households_h3: cell %s shows %d households, %d people; the jurisdiction's are %d, %d before release", cell, num("households"), num("people"), set.N, people)
		}
		for key := range props {
			if tag, ok := strings.CutPrefix(key, "tag_"); ok {
				if tags[tag] == nil {
					return fmt.Sprintf("households_h3: cell %s shows %s, which no household of the jurisdiction there has", cell, key)
				}
				if n := sdctest.Count(k, *tags[tag], sdctest.Tagged); n == nil || int64(num(key)) != *n {
					return fmt.Sprintf("households_h3: cell %s: %s %d, the jurisdiction's %d before release", cell, key, num(key), tags[tag].N)
				}
			}
		}
	case "hotspots":
		// A cell of an analysis of an area inside the jurisdiction: its centre
		// lies in the jurisdiction's units, or next to them (a hot spot's
		// neighbours count in Gi*), by a res-9 cell's width.
		if p.inside("") {
			return ""
		}
		cell := h3.Cell(h3.IndexFromString(str("cell")))
		ll := cell.LatLng()
		centre := orb.Point{ll.Lng, ll.Lat}
		for _, a := range city.Areas {
			if p.inside(a.Code) && a.Bound.Pad(0.004).Contains(centre) {
				return ""
			}
		}
		for _, g := range city.Grids {
			if g.ValidTo == nil && p.inside(g.Code) && g.Bound.Pad(0.004).Contains(centre) {
				return ""
			}
		}
		return fmt.Sprintf("hotspots: cell %s lies outside the jurisdiction", cell)
	default:
		return "layer " + layer + " is new: say in api/matrix_test.go what its features may hold"
	}
	return ""
}
