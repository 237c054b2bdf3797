package api

// The four disclosure attacks of issue 13, replayed against the running API and
// tile service. Each sets up the situation the attack needs, carries it out as
// an outside reviewer would (only public requests, the fixture's layout known),
// and requires that it recovers no count between 0 and the threshold: with the
// disclosure-control rule every released count is a multiple of the base, so
// every sum or difference of them is too. Before the rule (exact counts, small
// groups suppressed or left out) each attack recovered the small count exactly.
//
// The attacks run on the authenticated server as onegrid serve runs it (the
// application role, row-level security), once for each of two people of
// fixture.People(): the administrator and the ministry analyst, who may ask for
// disclosure-controlled aggregates only. Every released value an attack uses is
// also compared with what internal/sdctest computes from the fixture's
// households and their record keys, independently of the code under test.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/tiles"
)

// threshold is k, the default --min-count.
const threshold = 5

// smallCount reports whether n is a count the rule must never let out: 1..k-1.
func smallCount(n int64) bool { return n > 0 && n < threshold }

// disclosureCity is the fixture city with three extra groups of households at
// P0, P1 and P2: P0 and P1 share an H3 res-11 cell but not their res-12 cells,
// P2 shares P0's res-10 cell but not its res-11 one. P0 holds 7 households, P1 3
// and P2 2, so that:
//   - the res-11 cell (10 households) is shown and so is P0's res-12 cell (7),
//     while P1's (3) is suppressed: parent minus child gives P1's 3;
//   - the res-10 cell (12) is shown at z14 and the res-11 cell of P0 and P1 (10)
//     at z15, while P2's (2) is left out: parent minus child gives P2's 2.
type disclosureCity struct {
	*fixture.City
	db         *pgxpool.Pool
	p          [3]orb.Point
	households [3]int64
	// extra are the households added at P0, P1 and P2 (members 2, no tags).
	extra []fixture.Household
	// keys are the record keys of every household, by id, read from the
	// database (the rule's input, not what the tests check).
	keys map[int64]uint64
}

// all returns the fixture's households and the extra ones.
func (c *disclosureCity) all() []fixture.Household {
	return append(slices.Clone(c.Households), c.extra...)
}

// release is the value the rule must release for the households that match
// (nil: suppressed), computed by internal/sdctest: their count, or with people
// their members' sum.
func (c *disclosureCity) release(metric string, match func(h fixture.Household) bool) *int64 {
	var set sdctest.Set
	var people int64
	for _, h := range c.all() {
		if match(h) {
			set.Add(c.keys[h.ID])
			people += int64(h.Members)
		}
	}
	switch metric {
	case "households":
		return sdctest.Count(threshold, set, sdctest.Households)
	case "people":
		return sdctest.Sum(threshold, people, set, sdctest.People)
	case "tagged":
		return sdctest.Count(threshold, set, sdctest.Tagged)
	}
	panic(metric)
}

// inCell returns a matcher of the households in H3 cell key (any resolution).
func inCell(key string) func(h fixture.Household) bool {
	cell, _ := geo.ParseCell(key)
	res := geo.CellRes(cell)
	return func(h fixture.Household) bool {
		c, _ := geo.CellAt(h.Point[0], h.Point[1], geo.StorageRes)
		return geo.ParentBits(c, res) == cell
	}
}

// checkReleased fails the test unless got (ok false: suppressed or absent) is
// what the rule releases, want.
func checkReleased(t *testing.T, what string, got int64, ok bool, want *int64) {
	t.Helper()
	if ok != (want != nil) || ok && got != *want {
		t.Errorf("%s: released %d (%v), internal/sdctest says %s", what, got, ok, show(want))
	}
}

func disclosureServer(t *testing.T) (*httptest.Server, *disclosureCity) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.ConnString(t)
	db, err := pgxpool.New(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	city := &disclosureCity{City: fixture.New(), db: db, households: [3]int64{7, 3, 2}}
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	// P0 lies in a micro-grid well away from the fixture's buildings; P1 and P2
	// are searched for around it.
	p0 := orb.Point{114.0040, 22.5180}
	parent := func(p orb.Point, res int) int64 {
		c, _ := geo.CellAt(p[0], p[1], geo.StorageRes)
		return geo.ParentBits(c, res)
	}
	var p1, p2 orb.Point
	for dx := -60; dx <= 60 && (p1 == orb.Point{} || p2 == orb.Point{}); dx++ {
		for dy := -60; dy <= 60; dy++ {
			p := orb.Point{p0[0] + float64(dx)*0.00002, p0[1] + float64(dy)*0.00002}
			switch {
			case p1 == orb.Point{} && parent(p, 11) == parent(p0, 11) && parent(p, 12) != parent(p0, 12):
				p1 = p
			case p2 == orb.Point{} && parent(p, 10) == parent(p0, 10) && parent(p, 11) != parent(p0, 11):
				p2 = p
			}
		}
	}
	if p1 == (orb.Point{}) || p2 == (orb.Point{}) {
		t.Fatal("no points P1, P2 near P0 with the cells the attacks need")
	}
	city.p = [3]orb.Point{p0, p1, p2}
	for i, p := range city.p {
		var admin, grid string
		g, ok := city.GridAt(p, city.Now, "micro_grid")
		if !ok {
			t.Fatalf("P%d %v lies in no micro-grid", i, p)
		}
		admin, grid = g.AdminCode, g.Code
		cell, _ := geo.CellAt(p[0], p[1], geo.StorageRes)
		rows, err := db.Query(ctx, `WITH b AS (
			INSERT INTO address (level, full_text, admin_code, grid_code, geom, h3, valid_from)
			VALUES ('building', $1, $2, $3, ST_Point($4, $5, 4326), $6, $7) RETURNING id
		), r AS (
			INSERT INTO address (parent_id, level, full_text, admin_code, grid_code, geom, h3, valid_from)
			SELECT b.id, 'room', $1 || n || '室', $2, $3, ST_Point($4, $5, 4326), $6, $7 FROM b, generate_series(1, $8::int) n
			RETURNING id
		)
		INSERT INTO household (address_id, members, h3, admin_code, grid_code)
		SELECT r.id, 2, $6, $2, $3 FROM r RETURNING id`,
			fmt.Sprintf("测试楼P%d", i), g.AdminCode, g.Code, p[0], p[1], cell, city.Start, city.households[i])
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			city.extra = append(city.extra, fixture.Household{ID: id, Members: 2, AdminCode: admin, GridCode: grid, Point: p})
		}
	}
	if city.keys, err = sdctest.Keys(ctx, db, "household"); err != nil {
		t.Fatal(err)
	}
	// Served as onegrid serve does: as the application role, under row-level
	// security, to an administrator of everything (serveAuthed's token).
	now := clock.Fixed(city.Now)
	ts, err := tiles.Open(ctx, pgtest.AppConnString(t, conn), tiles.Config{Now: now}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	app := pgtest.NewApp(t, conn)
	return serveAuthed(t, Config{Query: qry.Config{}, Tiles: ts, Now: now}, db, app), city
}

// caller is a server address and whom its requests authenticate as.
type caller struct {
	fixture.Person
	srv *httptest.Server
}

// callers are the administrator and the ministry analyst of fixture.People()
// (everything; the analyst may ask only for disclosure-controlled aggregates),
// each on an address of its own in front of the same server.
func callers(t *testing.T, srv *httptest.Server, city *disclosureCity) []caller {
	t.Helper()
	var out []caller
	for _, p := range fixture.People() {
		if p.Name == "admin" || p.Name == "analyst" {
			out = append(out, caller{p, as(t, srv, city, p)})
		}
	}
	if len(out) != 2 {
		t.Fatalf("fixture.People() has no admin or no analyst: %v", out)
	}
	return out
}

// as returns a second address in front of srv's handler whose requests carry
// the token of a user made for person p.
func as(t *testing.T, srv *httptest.Server, city *disclosureCity, p fixture.Person) *httptest.Server {
	t.Helper()
	var roles []auth.Role
	for _, r := range p.Roles {
		roles = append(roles, auth.Role(r))
	}
	tok := testUser(t, city.db, city.Now, "d_"+p.Name, roles, p.Units, p.Duties)
	a := httptest.NewServer(srv.Config.Handler)
	testTokens.Store(a.Listener.Addr().String(), tok)
	t.Cleanup(func() { a.Close(); testTokens.Delete(a.Listener.Addr().String()) })
	return a
}

// aggregate posts an aggregate request and returns its groups by key.
func aggregate(t *testing.T, srv *httptest.Server, body string) map[string]qry.Group {
	t.Helper()
	var res struct{ Groups []qry.Group }
	if code := postJSON(t, srv, "/api/v1/aggregates", body, &res); code != 200 {
		t.Fatalf("POST %s: status %d", body, code)
	}
	out := make(map[string]qry.Group, len(res.Groups))
	for _, g := range res.Groups {
		out[g.Key] = g
	}
	return out
}

// show formats an answer's groups by value, for comparing two answers.
func showGroups(groups map[string]qry.Group) string {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v, ok := value(groups[k])
		fmt.Fprintf(&b, "%s=%d/%v ", k, v, ok)
	}
	return b.String()
}

func value(g qry.Group) (int64, bool) {
	if g.Suppressed || g.Value == nil {
		return 0, false
	}
	return int64(*g.Value), true
}

// ring is a closed GeoJSON ring around bound b.
func ring(b orb.Bound) string {
	return fmt.Sprintf("[[%[1]g,%[2]g],[%[3]g,%[2]g],[%[3]g,%[4]g],[%[1]g,%[4]g],[%[1]g,%[2]g]]", b.Min[0], b.Min[1], b.Max[0], b.Max[1])
}

// TestAttackPolygonHole: two uploaded polygons that differ by a tiny hole around
// a stairwell. The fixture's rooms share their building's point: the hole takes
// out exactly one building's households (2..4 of them).
func TestAttackPolygonHole(t *testing.T) {
	t.Parallel()
	srv0, city := disclosureServer(t)
	for _, who := range callers(t, srv0, city) {
		t.Run(who.Name, func(t *testing.T) { attackPolygonHole(t, who.srv, city) })
	}
}

func attackPolygonHole(t *testing.T, srv *httptest.Server, city *disclosureCity) {
	tried := 0
	for _, b := range city.Buildings {
		var bp orb.Point
		for _, a := range city.Addresses {
			if a.ID == b.AddressID {
				bp = a.Point
			}
		}
		var n, people, outer int64
		var grid fixture.Grid
		for _, g := range city.Grids {
			if g.Code == b.GridCode && g.ValidTo == nil {
				grid = g
			}
		}
		for _, h := range city.Households {
			if h.GridCode == b.GridCode {
				outer++
			}
			if h.Point == bp {
				n++
				people += int64(h.Members)
			}
		}
		if !smallCount(n) || outer-n < threshold {
			continue // the attack needs a small stairwell in a shown polygon
		}
		tried++
		hole := orb.Bound{Min: orb.Point{bp[0] - 0.00005, bp[1] - 0.00005}, Max: orb.Point{bp[0] + 0.00005, bp[1] + 0.00005}}
		fc := fmt.Sprintf(`{"type":"FeatureCollection","features":[
			{"type":"Feature","id":"whole","properties":{},"geometry":{"type":"Polygon","coordinates":[%s]}},
			{"type":"Feature","id":"holed","properties":{},"geometry":{"type":"Polygon","coordinates":[%s,%s]}}]}`,
			ring(grid.Bound), ring(grid.Bound), ring(hole))
		for _, metric := range []string{"households", "people"} {
			g := aggregate(t, srv, `{"group_by":"polygons","metric":"`+metric+`","polygons":`+fc+`}`)
			whole, ok1 := value(g["whole"])
			holed, ok2 := value(g["holed"])
			if !ok1 || !ok2 {
				t.Fatalf("building %d: %s suppressed for polygons of %d and %d households", b.ID, metric, outer, outer-n)
			}
			// The households inside each polygon (a point on an edge is inside,
			// as ST_Intersects has it; the building's point is inside the hole).
			inWhole := func(h fixture.Household) bool { return grid.Bound.Contains(h.Point) }
			checkReleased(t, fmt.Sprintf("building %d whole %s", b.ID, metric), whole, ok1, city.release(metric, inWhole))
			checkReleased(t, fmt.Sprintf("building %d holed %s", b.ID, metric), holed, ok2, city.release(metric, func(h fixture.Household) bool {
				return inWhole(h) && !hole.Contains(h.Point)
			}))
			diff := whole - holed
			want := n
			if metric == "people" {
				want = people
			}
			t.Logf("building %d (%d households, %d people): %s whole %d − holed %d = %d", b.ID, n, people, metric, whole, holed, diff)
			if diff%threshold != 0 || smallCount(diff) || diff == want && want%threshold != 0 {
				t.Errorf("building %d: %s %d − %d = %d recovers the stairwell's %d", b.ID, metric, whole, holed, diff, want)
			}
		}
		// Asked again, or as two separate requests, the same polygons give the
		// same values: the rounding cannot be averaged out.
		again := aggregate(t, srv, `{"group_by":"polygons","metric":"households","polygons":`+fc+`}`)
		first := aggregate(t, srv, `{"group_by":"polygons","metric":"households","polygons":`+fc+`}`)
		if showGroups(again) != showGroups(first) {
			t.Errorf("building %d: repeated query %s, then %s", b.ID, showGroups(first), showGroups(again))
		}
	}
	if tried == 0 {
		t.Fatal("the fixture has no building with 1..4 households in a micro-grid of 5 or more: the test proves nothing")
	}
}

// TestAttackH3ParentMinusChildren: an h3:12 aggregate subtracted from its h3:11
// parent, for every parent: the parent's value minus its shown children's never
// gives a count between 0 and k (at P0/P1 it gave P1's 3 households).
func TestAttackH3ParentMinusChildren(t *testing.T) {
	t.Parallel()
	srv0, city := disclosureServer(t)
	for _, who := range callers(t, srv0, city) {
		t.Run(who.Name, func(t *testing.T) { attackH3ParentMinusChildren(t, who.srv, city) })
	}
}

func attackH3ParentMinusChildren(t *testing.T, srv *httptest.Server, city *disclosureCity) {
	for _, metric := range []string{"households", "people"} {
		parents := aggregate(t, srv, `{"group_by":"h3:11","metric":"`+metric+`"}`)
		children := aggregate(t, srv, `{"group_by":"h3:12","metric":"`+metric+`"}`)
		for key, g := range parents {
			v, ok := value(g)
			checkReleased(t, metric+" h3:11 "+key, v, ok, city.release(metric, inCell(key)))
		}
		for key, g := range children {
			v, ok := value(g)
			checkReleased(t, metric+" h3:12 "+key, v, ok, city.release(metric, inCell(key)))
		}
		checked := 0
		for key, p := range parents {
			pv, ok := value(p)
			if !ok {
				continue
			}
			parent, _ := geo.ParseCell(key)
			var shown int64
			hidden := 0
			for ck, c := range children {
				cell, _ := geo.ParseCell(ck)
				if geo.ParentBits(cell, 11) != parent {
					continue
				}
				if v, ok := value(c); ok {
					shown += v
				} else {
					hidden++
				}
			}
			if hidden == 0 {
				continue
			}
			checked++
			if d := pv - shown; d%threshold != 0 || smallCount(d) {
				t.Errorf("%s: cell %s %d − shown children %d = %d, the %d suppressed children's count", metric, key, pv, shown, d, hidden)
			}
		}
		c11, _ := geo.CellAt(city.p[0][0], city.p[0][1], 11)
		if _, ok := value(parents[geo.CellString(c11)]); !ok || checked == 0 {
			t.Fatalf("%s: P0's res-11 cell shown %v, %d parents with suppressed children: the test proves nothing", metric, ok, checked)
		}
	}
}

// tileCells decodes a households_h3 tile into its cells' households.
func tileCells(t *testing.T, srv *httptest.Server, p orb.Point, z int) map[string]int64 {
	t.Helper()
	resp, body := getTile(t, srv.URL+tilePath("households_h3", [2]float64(p), z), "Accept-Encoding", "identity")
	if resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if resp.StatusCode != 200 {
		t.Fatalf("tile z%d: status %d", z, resp.StatusCode)
	}
	layers, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, l := range layers {
		for _, f := range l.Features {
			out[f.Properties["cell"].(string)] = int64(f.Properties["households"].(float64))
		}
	}
	return out
}

// TestAttackTileZooms: households_h3 tiles at two zooms, a parent (z14, res 10)
// minus its visible children (z15, res 11): never a count between 0 and k (at
// P2 it gave P2's 2 households).
func TestAttackTileZooms(t *testing.T) {
	t.Parallel()
	srv0, city := disclosureServer(t)
	for _, who := range callers(t, srv0, city) {
		t.Run(who.Name, func(t *testing.T) { attackTileZooms(t, who.srv, city) })
	}
}

func attackTileZooms(t *testing.T, srv *httptest.Server, city *disclosureCity) {
	parentCell, _ := geo.CellAt(city.p[0][0], city.p[0][1], 10)
	parent := tileCells(t, srv, city.p[0], 14)
	for key, v := range parent {
		checkReleased(t, "z14 cell "+key, v, true, city.release("households", inCell(key)))
	}
	pv, ok := parent[geo.CellString(parentCell)]
	if !ok {
		t.Fatalf("P0's res-10 cell is not in the z14 tile (%v): the test proves nothing", parent)
	}
	// The children may lie in several z15 tiles: fetch the tiles of P0, P1, P2.
	children := map[string]int64{}
	for _, p := range city.p {
		for k, v := range tileCells(t, srv, p, 15) {
			children[k] = v
		}
	}
	for key, v := range children {
		checkReleased(t, "z15 cell "+key, v, true, city.release("households", inCell(key)))
	}
	var shown int64
	visible := 0
	for k, v := range children {
		c, _ := geo.ParseCell(k)
		if geo.ParentBits(c, 10) == parentCell {
			shown += v
			visible++
		}
	}
	p2, _ := geo.CellAt(city.p[2][0], city.p[2][1], 11)
	if _, ok := children[geo.CellString(p2)]; ok {
		t.Fatalf("P2's res-11 cell (2 households) is shown at z15: %v", children)
	}
	d := pv - shown
	t.Logf("res-10 cell %d households at z14 − %d shown children (%d cells) at z15 = %d", pv, shown, visible, d)
	if d%threshold != 0 || smallCount(d) {
		t.Errorf("z14 parent %d − z15 children %d = %d recovers the left-out children's households", pv, shown, d)
	}
}

// TestAttackTagFilter: a tag filter lists a cell as suppressed for 1–4 tagged
// households and left it out for none, which told whether anyone with the tag
// lives there. Now every cell with households is listed whatever the tag, and
// a suppressed tagged count stands for 0 as much as for 1..k-1.
func TestAttackTagFilter(t *testing.T) {
	t.Parallel()
	srv0, city := disclosureServer(t)
	for _, who := range callers(t, srv0, city) {
		t.Run(who.Name, func(t *testing.T) { attackTagFilter(t, who.srv, city) })
	}
}

func attackTagFilter(t *testing.T, srv *httptest.Server, city *disclosureCity) {
	for _, gb := range []string{"h3:12", "h3:11", "h3:9", "micro_grid"} {
		base := aggregate(t, srv, `{"group_by":"`+gb+`","metric":"households"}`)
		for _, tag := range fixture.Tags {
			tagged := aggregate(t, srv, fmt.Sprintf(`{"group_by":%q,"metric":"tagged_people","tag":%q}`, gb, tag))
			var none, few int
			for key := range base {
				switch n := countTagged(city, gb, key, tag); {
				case n == 0:
					none++
				case smallCount(int64(n)):
					few++
				}
				g, ok := tagged[key]
				if !ok {
					t.Errorf("%s %s: group %s has households but is absent from the tag's listing", gb, tag, key)
					continue
				}
				v, shown := value(g)
				checkReleased(t, gb+" "+tag+" "+key, v, shown, city.release("tagged", func(h fixture.Household) bool {
					return slices.Contains(h.Tags, tag) && groupKey(city.City, gb, h.AdminCode, h.GridCode, h.Point) == key
				}))
				if v, ok := value(g); ok && smallCount(v) {
					t.Errorf("%s %s: group %s shows %d", gb, tag, key, v)
				}
			}
			for key := range tagged {
				if _, ok := base[key]; !ok {
					t.Errorf("%s %s: group %s listed for the tag but has no households", gb, tag, key)
				}
			}
			if gb == "h3:12" && (none == 0 || few == 0) {
				t.Fatalf("%s %s: %d cells without the tag and %d with 1..4: the test proves nothing", gb, tag, none, few)
			}
		}
	}
	// The grid load lists every tag in use for every grid too.
	for _, code := range []string{"44030400100100101", "44030400200100202"} {
		var l struct {
			TaggedPeople map[string]*int64 `json:"tagged_people"`
		}
		if code := getJSON(t, srv, "/api/v1/grids/"+code+"/load", &l); code != 200 {
			t.Fatal(code)
		}
		keys := make([]string, 0, len(l.TaggedPeople))
		for k, v := range l.TaggedPeople {
			keys = append(keys, k)
			if v != nil && smallCount(*v) {
				t.Errorf("grid %s tag %s: %d", code, k, *v)
			}
		}
		slices.Sort(keys)
		want := slices.Clone(fixture.Tags)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("grid %s lists tags %v, want every tag in use %v", code, keys, want)
		}
	}
}

// countTagged counts, from the fixture, the households with tag in the group.
func countTagged(city *disclosureCity, groupBy, key, tag string) int {
	n := 0
	for _, h := range city.Households {
		if slices.Contains(h.Tags, tag) && groupKey(city.City, groupBy, h.AdminCode, h.GridCode, h.Point) == key {
			n++
		}
	}
	return n
}

// TestEventFilterPresence: an event category filter does not decide which
// groups are listed either: every group with households is listed, and a group
// without households only when its count is released.
func TestEventFilterPresence(t *testing.T) {
	t.Parallel()
	srv, _ := disclosureServer(t)
	for _, gb := range []string{"h3:12", "micro_grid", "community"} {
		base := aggregate(t, srv, `{"group_by":"`+gb+`","metric":"households"}`)
		for _, cat := range []string{"010101", "020101", "03"} {
			got := aggregate(t, srv, fmt.Sprintf(`{"group_by":%q,"metric":"events","category":%q,"from":"2026-10-01T00:00:00Z","to":"2026-11-01T00:00:00Z"}`, gb, cat))
			for key := range base {
				if _, ok := got[key]; !ok {
					t.Errorf("%s %s: group %s with households not listed", gb, cat, key)
				}
			}
			for key, g := range got {
				v, ok := value(g)
				if _, based := base[key]; !based && !ok {
					t.Errorf("%s %s: group %s without households listed as suppressed", gb, cat, key)
				}
				if ok && smallCount(v) {
					t.Errorf("%s %s: group %s shows %d events", gb, cat, key, v)
				}
			}
		}
	}
}

// TestSameRecordsSameValue: the same households reached by different routes (an
// aggregate by micro-grid, by polygon, by H3 cell, the grid load, a building,
// the admin, grids and households_h3 tiles) are released as the same value, and
// repeating a query changes nothing.
func TestSameRecordsSameValue(t *testing.T) {
	t.Parallel()
	srv, city := disclosureServer(t)
	byMicro := aggregate(t, srv, `{"group_by":"micro_grid","metric":"households"}`)
	byMicroPeople := aggregate(t, srv, `{"group_by":"micro_grid","metric":"people"}`)
	byCommunity := aggregate(t, srv, `{"group_by":"community","metric":"households"}`)
	checked := 0
	for _, g := range city.Grids {
		if g.Level != "micro_grid" || g.ValidTo != nil {
			continue
		}
		want, ok := value(byMicro[g.Code])
		if !ok {
			continue
		}
		checked++
		// The grid load of the micro-grid.
		var l struct{ Households, People *int64 }
		if code := getJSON(t, srv, "/api/v1/grids/"+g.Code+"/load", &l); code != 200 {
			t.Fatal(code)
		}
		wantPeople, _ := value(byMicroPeople[g.Code])
		if l.Households == nil || *l.Households != want || l.People == nil || *l.People != wantPeople {
			t.Errorf("micro-grid %s: aggregate %d households %d people, grid load %v %v", g.Code, want, wantPeople, l.Households, l.People)
		}
		// A polygon that is the micro-grid (its households lie inside it).
		fc := fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"m","properties":{},"geometry":{"type":"Polygon","coordinates":[%s]}}]}`, ring(g.Bound))
		if v, ok := value(aggregate(t, srv, `{"group_by":"polygons","metric":"households","polygons":`+fc+`}`)["m"]); !ok || v != want {
			t.Errorf("micro-grid %s: aggregate %d, polygon %d", g.Code, want, v)
		}
		// The grids tile at z15 carries the micro-grid's figures.
		if v, ok := unitTileHouseholds(t, srv, "grids", g.Code, g.Bound.Center(), 15); !ok || v != want {
			t.Errorf("micro-grid %s: aggregate %d, grids tile %d (%v)", g.Code, want, v, ok)
		}
	}
	if checked == 0 {
		t.Fatal("no micro-grid shown: the test proves nothing")
	}
	for _, a := range city.Areas {
		if a.Level != "community" {
			continue
		}
		want, ok := value(byCommunity[a.Code])
		if v, shown := unitTileHouseholds(t, srv, "admin", a.Code, a.Bound.Center(), 13); shown != ok || v != want {
			t.Errorf("community %s: aggregate %d (%v), admin tile %d (%v)", a.Code, want, ok, v, shown)
		}
	}
	// H3 cells: the aggregate by h3:10 and h3:11 equals the households_h3 tiles at z14 and z15.
	for _, zr := range []struct{ z, res int }{{14, 10}, {15, 11}} {
		agg := aggregate(t, srv, fmt.Sprintf(`{"group_by":"h3:%d","metric":"households"}`, zr.res))
		tile := tileCells(t, srv, city.p[0], zr.z)
		if len(tile) == 0 {
			t.Fatalf("z%d tile at P0 is empty", zr.z)
		}
		for cell, v := range tile {
			if a, ok := value(agg[cell]); !ok || a != v {
				t.Errorf("h3:%d cell %s: aggregate %d (%v), tile %d", zr.res, cell, a, ok, v)
			}
		}
	}
	// A building: its households by the building route, by a polygon around it
	// and by its H3 res-12 cell (the building's households share its point).
	for _, b := range city.Buildings[:6] {
		var got struct{ Households *int64 }
		if code := getJSON(t, srv, fmt.Sprintf("/api/v1/buildings/%d", b.ID), &got); code != 200 {
			t.Fatal(code)
		}
		var bp orb.Point
		for _, a := range city.Addresses {
			if a.ID == b.AddressID {
				bp = a.Point
			}
		}
		fc := fmt.Sprintf(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"b","properties":{},"geometry":{"type":"Polygon","coordinates":[%s]}}]}`,
			ring(orb.Bound{Min: orb.Point{bp[0] - 0.00005, bp[1] - 0.00005}, Max: orb.Point{bp[0] + 0.00005, bp[1] + 0.00005}}))
		poly, pok := value(aggregate(t, srv, `{"group_by":"polygons","metric":"households","polygons":`+fc+`}`)["b"])
		c, _ := geo.CellAt(bp[0], bp[1], 12)
		cell, cok := value(aggregate(t, srv, `{"group_by":"h3:12","metric":"households"}`)[geo.CellString(c)])
		if (got.Households != nil) != pok || pok != cok || pok && (*got.Households != poly || poly != cell) {
			t.Errorf("building %d: route %v, polygon %d (%v), h3:12 %d (%v)", b.ID, got.Households, poly, pok, cell, cok)
		}
	}
	// Repeated, the whole answer is the same.
	for range 3 {
		if again := aggregate(t, srv, `{"group_by":"micro_grid","metric":"households"}`); showGroups(again) != showGroups(byMicro) {
			t.Fatalf("repeated aggregate changed: %s, then %s", showGroups(byMicro), showGroups(again))
		}
	}
}

// unitTileHouseholds finds unit code in the z tile of layer (admin or grids)
// at p and returns its households (ok false when the unit carries none).
func unitTileHouseholds(t *testing.T, srv *httptest.Server, layer, code string, p orb.Point, z int) (int64, bool) {
	t.Helper()
	resp, body := getTile(t, srv.URL+tilePath(layer, [2]float64(p), z), "Accept-Encoding", "identity")
	if resp.StatusCode != 200 {
		t.Fatalf("%s tile z%d: status %d", layer, z, resp.StatusCode)
	}
	layers, err := mvt.Unmarshal(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if strings.HasSuffix(l.Name, "_label") {
			continue
		}
		for _, f := range l.Features {
			if f.Properties["code"] == code {
				v, ok := f.Properties["households"].(float64)
				return int64(v), ok
			}
		}
	}
	t.Fatalf("%s tile z%d at %v lacks unit %s", layer, z, p, code)
	return 0, false
}
