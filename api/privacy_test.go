package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/privacy"
	"github.com/onegrid/onegrid/seal"
)

// Grids of the fixture's 南园 community: A (south half) and B (north half).
const (
	gridA = "440304002001001"
	gridB = "440304002001002"
)

// privacyWorld is the fixture city served with one user per role.
type privacyWorld struct {
	ts     *httptest.Server
	city   *fixture.City
	owner  *pgxpool.Pool
	tokens map[string]string // role name → API token
	log    *syncBuffer       // the server's log
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newPrivacyWorld serves the fixture with its data key (nil: none) and users:
// grid workers of grids A and B, an officer of the 南园 street whose duty is
// the infectious-disease category, a planner and a command-centre operator of
// the district, an analyst and an auditor.
func newPrivacyWorld(t *testing.T, key *seal.Key) *privacyWorld {
	t.Helper()
	owner, app := pgtest.Pair(t)
	city := fixture.New().AddSensitive()
	if err := city.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	now := city.Now
	w := &privacyWorld{city: city, owner: owner, tokens: map[string]string{}, log: &syncBuffer{}}
	for _, u := range []struct {
		name          string
		role          auth.Role
		units, duties []string
	}{
		{"workera", auth.GridWorker, []string{gridA}, nil},
		{"workerb", auth.GridWorker, []string{gridB}, nil},
		{"officer", auth.Officer, []string{"440304002000"}, []string{"0501"}},
		{"planner", auth.Planner, []string{"440304000000"}, nil},
		{"command", auth.Command, []string{"*"}, nil},
		{"analyst", auth.Analyst, []string{"*"}, nil},
		{"auditor", auth.Auditor, []string{"*"}, nil},
		{"tester", auth.Admin, []string{"*"}, nil},
	} {
		w.tokens[u.name] = testUser(t, owner, now, u.name, []auth.Role{u.role}, u.units, u.duties)
	}
	cfg := Config{Now: clock.Fixed(now), DataKey: key}
	cfg.Auth = auth.NewAuthenticator(app, auth.Config{Now: cfg.Now})
	s := New(cfg, app, slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	w.ts = httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); w.ts.Close() })
	return w
}

// do makes a request as a user and decodes a JSON answer into v.
func (w *privacyWorld) do(t *testing.T, who, method, path, body string, v any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.tokens[who])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp, v)
}

func (w *privacyWorld) get(t *testing.T, who, path string, v any) int {
	t.Helper()
	return w.do(t, who, http.MethodGet, path, "", v)
}

// geoFeature is a feature as the tests read it.
type geoFeature struct {
	ID       json.Number
	Geometry struct {
		Type        string
		Coordinates json.RawMessage
	}
	Properties map[string]any
}

type geoPage struct {
	Features []geoFeature
}

func (f geoFeature) id(t *testing.T) int64 {
	n, err := f.ID.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// point is the feature's point (nil for other geometries).
func (f geoFeature) point() []float64 {
	var p []float64
	if f.Geometry.Type != "Point" || json.Unmarshal(f.Geometry.Coordinates, &p) != nil {
		return nil
	}
	return p
}

// coarse is where a coarsened event shows: the centre of the res-9 parent of
// its res-12 cell (the cell the row stores), computed with the H3 library.
func coarse(t *testing.T, p orb.Point) (orb.Point, string) {
	t.Helper()
	c9 := h3.LatLngToCell(h3.LatLng{Lat: p[1], Lng: p[0]}, 12).Parent(9)
	ll := c9.LatLng()
	return orb.Point{ll.Lng, ll.Lat}, c9.String()
}

// near: the fixture stores points with 6 decimals; answers carry 7.
func near(a []float64, b orb.Point) bool {
	return len(a) == 2 && math.Abs(a[0]-b[0]) < 1e-6 && math.Abs(a[1]-b[1]) < 1e-6
}

func (w *privacyWorld) flats() map[int64]bool {
	out := map[int64]bool{}
	for _, a := range w.city.Addresses {
		if privacy.IsFlat(a.Level) {
			out[a.ID] = true
		}
	}
	return out
}

// TestEventsByRole: the same events, per role: the planner and the command
// centre see no personal field and no flat; those who serve households see
// titles; sensitive events outside the duty sit at their H3 res-9 cell's
// centre without address or title; inside it (the officer, the admin) exactly;
// the analyst gets no row. OGC items answer as /features does.
func TestEventsByRole(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, fixture.DataKey())
	flats := w.flats()
	events := map[int64]fixture.Event{}
	var inA, sensitiveInA, sensitiveElsewhere int
	for _, e := range w.city.Events {
		events[e.ID] = e
		if strings.HasPrefix(e.GridCode, gridA) {
			inA++
			if w.city.Sensitive(e.Category) {
				sensitiveInA++
			}
		} else if w.city.Sensitive(e.Category) {
			sensitiveElsewhere++
		}
	}
	if sensitiveInA == 0 || sensitiveElsewhere == 0 {
		t.Fatalf("the fixture has %d sensitive events in grid A and %d elsewhere; the test needs both", sensitiveInA, sensitiveElsewhere)
	}
	type want struct {
		n            int  // events answered
		titles       bool // titles of ordinary events
		exactOfDuty  bool // sensitive events exact
		flatsAllowed bool
	}
	for _, tc := range []struct {
		who  string
		path string
		want want
	}{
		{"planner", "/api/v1/features/events?limit=10000", want{n: len(w.city.Events)}},
		{"command", "/api/v1/features/events?limit=10000", want{n: len(w.city.Events)}},
		{"planner", "/ogc/collections/events/items?limit=10000", want{n: len(w.city.Events)}},
		{"workera", "/api/v1/features/events?limit=10000", want{n: inA, titles: true, flatsAllowed: true}},
		{"officer", "/api/v1/features/events?limit=10000&admin=440304002", want{n: -1, titles: true, exactOfDuty: true, flatsAllowed: true}},
		{"tester", "/api/v1/features/events?limit=10000", want{n: len(w.city.Events), titles: true, exactOfDuty: true, flatsAllowed: true}},
	} {
		t.Run(tc.who+" "+tc.path, func(t *testing.T) {
			var p geoPage
			if code := w.get(t, tc.who, tc.path, &p); code != 200 {
				t.Fatalf("status %d", code)
			}
			if tc.want.n >= 0 && len(p.Features) != tc.want.n {
				t.Errorf("%d events, want %d", len(p.Features), tc.want.n)
			}
			if len(p.Features) == 0 {
				t.Fatal("no events")
			}
			sensitiveSeen := 0
			for _, f := range p.Features {
				e, ok := events[f.id(t)]
				if !ok {
					t.Fatalf("unknown event %s", f.ID)
				}
				title, hasTitle := f.Properties["title"]
				aid, _ := f.Properties["address_id"].(float64)
				if !w.city.Sensitive(e.Category) {
					if hasTitle != tc.want.titles || (hasTitle && title != e.Title) {
						t.Errorf("event %d: title %v (%v), want shown %v", e.ID, title, hasTitle, tc.want.titles)
					}
					if !near(f.point(), e.Point) || f.Properties["coarsened"] != false {
						t.Errorf("event %d: at %v, want %v", e.ID, f.point(), e.Point)
					}
					continue
				}
				sensitiveSeen++
				if tc.want.exactOfDuty {
					if !near(f.point(), e.Point) || int64(aid) != e.AddressID || title != e.Title || f.Properties["coarsened"] != false {
						t.Errorf("sensitive event %d of the duty: at %v address %v title %v, want exact", e.ID, f.point(), aid, title)
					}
					continue
				}
				ctr, cell := coarse(t, e.Point)
				if !near(f.point(), ctr) || f.Properties["h3"] != cell || f.Properties["coarsened"] != true {
					t.Errorf("sensitive event %d: at %v cell %v, want the res-9 centre %v of %s", e.ID, f.point(), f.Properties["h3"], ctr, cell)
				}
				if f.Properties["address_id"] != nil || f.Properties["title"] != nil {
					t.Errorf("sensitive event %d outside the duty shows address %v, title %v", e.ID, f.Properties["address_id"], f.Properties["title"])
				}
			}
			if sensitiveSeen == 0 {
				t.Error("no sensitive event in the answer: the case tests nothing")
			}
			for _, f := range p.Features {
				if aid, ok := f.Properties["address_id"].(float64); ok && flats[int64(aid)] && !tc.want.flatsAllowed {
					t.Errorf("event %s shows flat %d", f.ID, int64(aid))
				}
			}
		})
	}
	// The planner: no personal or sensitive field in any collection, and no flat.
	for _, c := range []string{"events", "addresses", "buildings", "grids", "admin_areas"} {
		var p geoPage
		if code := w.get(t, "planner", "/ogc/collections/"+c+"/items?limit=10000", &p); code != 200 {
			t.Fatalf("%s: status %d", c, code)
		}
		kind := map[string]string{"events": "event", "addresses": "address", "buildings": "building", "grids": "grid", "admin_areas": "admin_area"}[c]
		rec, _ := privacy.Lookup(kind)
		for _, f := range p.Features {
			for name := range f.Properties {
				fd, ok := rec.Field(name)
				if !ok || (fd.Class >= privacy.Personal && fd.Others == "") {
					t.Errorf("the planner sees %s.%s (%v)", c, name, fd.Class)
				}
			}
			if c == "addresses" && flats[f.id(t)] {
				t.Errorf("the planner sees flat %s", f.ID)
			}
		}
	}
	// The analyst gets no row.
	for _, path := range []string{"/api/v1/features/events", "/ogc/collections/events/items", "/api/v1/addresses/near?lon=114.03&lat=22.505"} {
		if code := w.get(t, "analyst", path, nil); code != 403 {
			t.Errorf("analyst %s: status %d, want 403", path, code)
		}
	}
	// A box or polygon leaves coarsened events out (their exact point must not
	// decide the answer); ordinary events in it are there.
	box := "114.00,22.50,114.04,22.52"
	for _, who := range []string{"planner", "workera"} {
		var p geoPage
		if code := w.get(t, who, "/api/v1/features/events?limit=10000&bbox="+box, &p); code != 200 {
			t.Fatalf("status %d", code)
		}
		ordinary := 0
		for _, f := range p.Features {
			e := events[f.id(t)]
			if w.city.Sensitive(e.Category) {
				t.Errorf("%s: sensitive event %d in a bbox answer", who, e.ID)
			} else {
				ordinary++
			}
		}
		if ordinary == 0 {
			t.Errorf("%s: no event in the bbox", who)
		}
	}
	// One OGC item of a sensitive event.
	for _, e := range w.city.Events {
		if !w.city.Sensitive(e.Category) {
			continue
		}
		var f geoFeature
		if code := w.get(t, "command", fmt.Sprintf("/ogc/collections/events/items/%d", e.ID), &f); code != 200 {
			t.Fatalf("item: status %d", code)
		}
		if ctr, _ := coarse(t, e.Point); !near(f.point(), ctr) || f.Properties["address_id"] != nil {
			t.Errorf("OGC item %d: at %v, address %v, want coarsened", e.ID, f.point(), f.Properties["address_id"])
		}
		break
	}
}

// TestAddressFlats: a flat's address (unit, floor, room) is answered only to
// those who serve households; the others see addresses down to the building.
func TestAddressFlats(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, nil)
	var roomA, roomB, building fixture.Address
	for _, a := range w.city.Addresses {
		switch {
		case a.Level == "room" && roomA.ID == 0 && strings.HasPrefix(a.GridCode, gridA):
			roomA = a
		case a.Level == "room" && roomB.ID == 0 && strings.HasPrefix(a.GridCode, gridB):
			roomB = a
		}
	}
	for _, a := range w.city.Addresses {
		if a.ID == roomA.ParentID {
			building = a
		}
	}
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"planner", fmt.Sprintf("/api/v1/addresses/%d", roomA.ID), 404},
		{"command", fmt.Sprintf("/api/v1/addresses/%d", roomA.ID), 404},
		{"workera", fmt.Sprintf("/api/v1/addresses/%d", roomA.ID), 200},
		{"workera", fmt.Sprintf("/api/v1/addresses/%d", roomB.ID), 404},
		{"planner", fmt.Sprintf("/api/v1/addresses/%d", building.ID), 200},
	} {
		if code := w.get(t, tc.who, tc.path, nil); code != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.who, tc.path, code, tc.want)
		}
	}
	var d struct {
		Children   []struct{ Level string }
		ChildCount int64 `json:"child_count"`
	}
	w.get(t, "planner", fmt.Sprintf("/api/v1/addresses/%d", building.ID), &d)
	if len(d.Children) != 0 || d.ChildCount != 0 {
		t.Errorf("the planner sees %d of %d children of a building (its rooms)", len(d.Children), d.ChildCount)
	}
	w.get(t, "workera", fmt.Sprintf("/api/v1/addresses/%d", building.ID), &d)
	if d.ChildCount == 0 || d.Children[0].Level != "room" {
		t.Errorf("the grid worker sees %d children of a building in the grid", d.ChildCount)
	}
	// Search and near: the room's text matches, but only the worker gets rooms.
	for _, who := range []string{"planner", "workera"} {
		var s struct{ Addresses []struct{ Level string } }
		if code := w.get(t, who, "/api/v1/addresses"+qs("q", roomA.Text, "limit", "100"), &s); code != 200 {
			t.Fatalf("search: %d", code)
		}
		var n struct{ Addresses []struct{ Level string } }
		if code := w.get(t, who, "/api/v1/addresses/near"+qs("lon", fmt.Sprint(roomA.Point[0]), "lat", fmt.Sprint(roomA.Point[1]), "limit", "1000"), &n); code != 200 {
			t.Fatalf("near: %d", code)
		}
		for _, l := range [][]struct{ Level string }{s.Addresses, n.Addresses} {
			rooms := 0
			for _, a := range l {
				if privacy.IsFlat(a.Level) {
					rooms++
				}
			}
			if (rooms > 0) != (who == "workera") {
				t.Errorf("%s: %d flats among %d addresses", who, rooms, len(l))
			}
		}
	}
}

// TestHouseholds: grid workers and officers list the households of a unit in
// their jurisdiction, masked, page by page; nobody else does.
func TestHouseholds(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, fixture.DataKey())
	want := map[int64]fixture.Household{}
	for _, h := range w.city.Households {
		if strings.HasPrefix(h.GridCode, gridA) {
			want[h.ID] = h
		}
	}
	addr := map[int64]string{}
	for _, a := range w.city.Addresses {
		addr[a.ID] = a.Text
	}
	for _, unit := range []string{gridA, "440304002001", "440304002000"} {
		seen := map[int64]bool{}
		path := "/api/v1/households?limit=4&unit=" + unit
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("too many pages")
			}
			var p struct {
				Households []struct {
					ID        int64
					AddressID int64 `json:"address_id"`
					Address   string
					Members   int
					Tags      []string
					HeadName  string `json:"head_name"`
					Phone     string
					IDNo      *string `json:"id_no"`
					Sealed    bool
					GridCode  string `json:"grid_code"`
				}
				NextCursor *string `json:"next_cursor"`
			}
			if code := w.get(t, "workera", path, &p); code != 200 {
				t.Fatalf("%s: status %d", path, code)
			}
			for _, h := range p.Households {
				f, ok := want[h.ID]
				if !ok || seen[h.ID] {
					t.Fatalf("household %d: in grid A %v, seen before %v", h.ID, ok, seen[h.ID])
				}
				seen[h.ID] = true
				if h.AddressID != f.AddressID || h.Address != addr[f.AddressID] || h.Members != f.Members || !slices.Equal(h.Tags, nonNil(f.Tags)) ||
					h.HeadName != f.HeadNameMasked || h.Phone != f.PhoneMasked || h.IDNo != nil || !h.Sealed || h.GridCode != f.GridCode {
					t.Errorf("household %d: %+v, want %+v", h.ID, h, f)
				}
				if strings.Contains(h.Phone, f.Phone) || strings.Contains(h.HeadName, f.HeadName) {
					t.Errorf("household %d: a clear value in the list", h.ID)
				}
			}
			if p.NextCursor == nil {
				break
			}
			path = "/api/v1/households?limit=4&unit=" + unit + "&cursor=" + *p.NextCursor
		}
		if len(seen) != len(want) {
			t.Errorf("unit %s: %d households, want grid A's %d", unit, len(seen), len(want))
		}
	}
	for _, tc := range []struct {
		who, path string
		want      int
	}{
		{"workera", "/api/v1/households?unit=" + gridB, 404},
		{"workerb", "/api/v1/households?unit=" + gridA, 404},
		{"planner", "/api/v1/households?unit=" + gridA, 403},
		{"command", "/api/v1/households?unit=" + gridA, 403},
		{"analyst", "/api/v1/households?unit=" + gridA, 403},
		{"workera", "/api/v1/households", 400},
		{"workera", "/api/v1/households?unit=" + gridA + "&cursor=AAAAAAAx", 400},
		{"workera", "/api/v1/households?unit=" + gridA + "&limit=0", 400},
		{"workera", "/api/v1/households?unit=" + gridA + "&bbox=1,2,3,4", 400},
		{"officer", "/api/v1/households?unit=440304002001&tag=残疾人", 200},
	} {
		if code := w.get(t, tc.who, tc.path, nil); code != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.who, tc.path, code, tc.want)
		}
	}
	// A cursor is bound to its query.
	var p struct {
		NextCursor *string `json:"next_cursor"`
	}
	w.get(t, "workera", "/api/v1/households?limit=1&unit="+gridA, &p)
	if p.NextCursor == nil {
		t.Fatal("no next page")
	}
	if code := w.get(t, "workera", "/api/v1/households?limit=1&unit=440304002001&cursor="+*p.NextCursor, nil); code != 400 {
		t.Errorf("a cursor of another unit: status %d, want 400", code)
	}
	// The tag filter, computed from the fixture.
	var tagged struct{ Households []struct{ ID int64 } }
	w.get(t, "officer", "/api/v1/households?limit=1000&unit=440304002001&tag="+fixture.Tags[0], &tagged)
	n := 0
	for _, h := range w.city.Households {
		if strings.HasPrefix(h.GridCode, "440304002001") && slices.Contains(h.Tags, fixture.Tags[0]) {
			n++
		}
	}
	if len(tagged.Households) != n || n == 0 {
		t.Errorf("households tagged %s: %d, want %d", fixture.Tags[0], len(tagged.Households), n)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type auditRow struct {
	User, Action, RecordKind, RecordID, Reason, RequestID string
	Fields                                                []string
}

func auditRows(t *testing.T, owner *pgxpool.Pool) []auditRow {
	t.Helper()
	rows, err := owner.Query(context.Background(), `SELECT user_name, action, record_kind, record_id, reason, request_id, fields FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var a auditRow
		if err := rows.Scan(&a.User, &a.Action, &a.RecordKind, &a.RecordID, &a.Reason, &a.RequestID, &a.Fields); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// TestUnmask: a grid worker unmasks a household of their grid with a reason
// (the clear values are the fixture's; the audit row is written, read back as
// the owner and by the auditor); not one of another grid; a planner not at
// all; never without a reason; the values are never logged; the audit log is
// append-only even for its owner.
func TestUnmask(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, fixture.DataKey())
	var hA, hB fixture.Household
	for _, h := range w.city.Households {
		if hA.ID == 0 && strings.HasPrefix(h.GridCode, gridA) {
			hA = h
		}
		if hB.ID == 0 && strings.HasPrefix(h.GridCode, gridB) {
			hB = h
		}
	}
	path := func(h fixture.Household) string { return fmt.Sprintf("/api/v1/households/%d/unmask", h.ID) }
	const reason = "上门走访核实联系电话"
	var got struct {
		HouseholdID int64              `json:"household_id"`
		Values      map[string]*string `json:"values"`
		OnRecord    bool               `json:"on_record"`
	}
	if code := w.do(t, "workera", "POST", path(hA), `{"fields": ["phone", "head_name"], "reason": "  `+reason+`  "}`, &got); code != 200 {
		t.Fatalf("unmask: status %d", code)
	}
	if got.HouseholdID != hA.ID || !got.OnRecord || len(got.Values) != 2 || got.Values["phone"] == nil || *got.Values["phone"] != hA.Phone ||
		got.Values["head_name"] == nil || *got.Values["head_name"] != hA.HeadName {
		t.Errorf("unmasked %+v, want %s %s", got, hA.HeadName, hA.Phone)
	}
	entries := auditRows(t, w.owner)
	want := auditRow{User: "workera", Action: "unmask", RecordKind: "household", RecordID: fmt.Sprint(hA.ID), Reason: reason, Fields: []string{"head_name", "phone"}}
	if len(entries) != 1 || entries[0].RequestID == "" {
		t.Fatalf("audit log: %+v, want one entry", entries)
	}
	entries[0].RequestID = ""
	if !equalAudit(entries[0], want) {
		t.Errorf("audit entry %+v, want %+v", entries[0], want)
	}
	for _, tc := range []struct {
		who, path, body string
		want            int
	}{
		{"workera", path(hB), `{"fields": ["phone"], "reason": "` + reason + `"}`, 404},
		{"workerb", path(hA), `{"fields": ["phone"], "reason": "` + reason + `"}`, 404},
		{"planner", path(hA), `{"fields": ["phone"], "reason": "` + reason + `"}`, 403},
		{"command", path(hA), `{"fields": ["phone"], "reason": "` + reason + `"}`, 403},
		{"tester", path(hA), `{"fields": ["phone"], "reason": "` + reason + `"}`, 403}, // an administrator may not unmask
		{"workera", path(hA), `{"fields": ["phone"]}`, 400},
		{"workera", path(hA), `{"fields": ["phone"], "reason": "   "}`, 400},
		{"workera", path(hA), `{"fields": ["phone"], "reason": "why"}`, 400},
		{"workera", path(hA), `{"fields": [], "reason": "` + reason + `"}`, 400},
		{"workera", path(hA), `{"fields": ["members"], "reason": "` + reason + `"}`, 400},
		{"workera", path(hA), `{"fields": ["phone"], "reason": "` + reason + `", "x": 1}`, 400},
		{"workera", path(hA), `not json`, 400},
		{"workera", "/api/v1/households/x/unmask", `{"fields": ["phone"], "reason": "` + reason + `"}`, 400},
		{"workera", "/api/v1/households/999999999/unmask", `{"fields": ["phone"], "reason": "` + reason + `"}`, 404},
	} {
		if code := w.do(t, tc.who, "POST", tc.path, tc.body, nil); code != tc.want {
			t.Errorf("%s %s %s: status %d, want %d", tc.who, tc.path, tc.body, code, tc.want)
		}
	}
	if n := len(auditRows(t, w.owner)); n != 1 {
		t.Errorf("%d audit entries after refused unmaskings, want the one", n)
	}
	// The auditor reads the entry; an officer may not read the log.
	var log struct {
		Entries []struct {
			User, Action, Reason string
			RecordKind           string `json:"record_kind"`
			RecordID             string `json:"record_id"`
			Fields               []string
		}
	}
	if code := w.get(t, "auditor", "/api/v1/audit", &log); code != 200 {
		t.Fatalf("audit: status %d", code)
	}
	if len(log.Entries) != 1 || log.Entries[0].User != "workera" || log.Entries[0].RecordID != fmt.Sprint(hA.ID) ||
		log.Entries[0].Reason != reason || !slices.Equal(log.Entries[0].Fields, []string{"head_name", "phone"}) {
		t.Errorf("the auditor reads %+v", log.Entries)
	}
	for _, who := range []string{"officer", "workera", "tester"} {
		if code := w.get(t, who, "/api/v1/audit", nil); code != 403 {
			t.Errorf("%s reads the audit log: status %d", who, code)
		}
	}
	// Nothing clear in the server's log.
	if l := w.log.String(); strings.Contains(l, hA.Phone) || strings.Contains(l, hA.HeadName) || strings.Contains(l, reason) {
		t.Errorf("the server's log holds a clear value or the reason:\n%s", l)
	}
	// Append-only, even for the owner.
	for _, sql := range []string{`UPDATE audit_log SET reason = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := w.owner.Exec(context.Background(), sql); err == nil {
			t.Errorf("%s as the owner succeeded", sql)
		}
	}
	if n := len(auditRows(t, w.owner)); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func equalAudit(a, b auditRow) bool {
	return a.User == b.User && a.Action == b.Action && a.RecordKind == b.RecordKind && a.RecordID == b.RecordID &&
		a.Reason == b.Reason && slices.Equal(a.Fields, b.Fields)
}

// TestUnmaskWithoutKey: a server without a data key says so, and writes no
// audit row; one with another key cannot open the seals.
func TestUnmaskWithoutKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  *seal.Key
		code string
	}{{"no key", nil, "no_data_key"}, {"another key", mustKey(t), "data_key"}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPrivacyWorld(t, tc.key)
			var h fixture.Household
			for _, x := range w.city.Households {
				if strings.HasPrefix(x.GridCode, gridA) {
					h = x
					break
				}
			}
			req, _ := http.NewRequest("POST", w.ts.URL+fmt.Sprintf("/api/v1/households/%d/unmask", h.ID), strings.NewReader(`{"fields": ["phone"], "reason": "核实联系方式"}`))
			req.Header.Set("Authorization", "Bearer "+w.tokens["workera"])
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e apiError
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 503 || e.Error.Code != tc.code {
				t.Errorf("status %d %+v (%v), want 503 %s", resp.StatusCode, e, err, tc.code)
			}
			if n := len(auditRows(t, w.owner)); n != 0 {
				t.Errorf("%d audit entries for values not disclosed", n)
			}
		})
	}
}

func mustKey(t *testing.T) *seal.Key {
	k, err := seal.NewKey(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
