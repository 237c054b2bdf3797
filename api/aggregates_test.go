package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

// groupKey computes, in Go from the fixture's values, the group a row falls in.
func groupKey(city *fixture.City, groupBy string, adminCode, gridCode string, p orb.Point) string {
	switch groupBy {
	case "district":
		return adminCode[:6] + "000000"
	case "street":
		return adminCode[:9] + "000"
	case "community":
		return adminCode
	case "micro_grid":
		return gridCode
	case "grid":
		for _, g := range city.Grids {
			if g.Code == gridCode && g.ValidTo == nil && g.Level == "micro_grid" {
				return g.Parent
			}
		}
		return gridCode
	}
	if r, ok := strings.CutPrefix(groupBy, "h3:"); ok {
		var res int
		fmt.Sscan(r, &res)
		c, _ := geo.CellAt(p[0], p[1], geo.StorageRes)
		return geo.CellString(geo.ParentBits(c, res))
	}
	panic(groupBy)
}

type expectCounts struct {
	households, tagged, events, closed, due, onTime sdctest.Set
	people                                          int64
	hours                                           []float64
}

// expect computes every group's value independently of the code under test: the
// groups and counts from the fixture's Go values, the released values by
// internal/sdctest from the record keys in the database. A group is listed when
// it has households or its value is released; nil means suppressed.
func expect(city *fixture.City, keys keyring, req qry.AggregateRequest, k int64) map[string]*float64 {
	groups := map[string]*expectCounts{}
	get := func(key string) *expectCounts {
		if groups[key] == nil {
			groups[key] = &expectCounts{}
		}
		return groups[key]
	}
	var from, to time.Time
	if req.From != "" {
		from, _ = time.Parse(time.RFC3339, req.From)
	}
	if req.To != "" {
		to, _ = time.Parse(time.RFC3339, req.To)
	}
	for _, h := range city.Households {
		g := get(groupKey(city, req.GroupBy, h.AdminCode, h.GridCode, h.Point))
		g.households.Add(keys.hh[h.ID])
		g.people += int64(h.Members)
		if req.Tag != "" && containsStr(h.Tags, req.Tag) {
			g.tagged.Add(keys.hh[h.ID])
		}
	}
	if req.Metric == "events" || strings.Contains(req.Metric, "close") || req.Metric == "events_per_1000_households" {
		for _, e := range city.Events {
			if !from.IsZero() && e.ReportedAt.Before(from) || !to.IsZero() && !e.ReportedAt.Before(to) {
				continue
			}
			if req.Category != "" && !strings.HasPrefix(e.Category, req.Category) { // fixture codes are hierarchical
				continue
			}
			if req.Severity != nil && !containsStr(req.Severity, e.Severity) || req.Status != nil && !containsStr(req.Status, e.Status) || req.Source != nil && !containsStr(req.Source, e.Source) {
				continue
			}
			g := get(groupKey(city, req.GroupBy, e.AdminCode, e.GridCode, e.Point))
			key := keys.ev[e.ID]
			g.events.Add(key)
			if e.ClosedAt != nil {
				g.closed.Add(key)
				g.hours = append(g.hours, e.ClosedAt.Sub(e.ReportedAt).Hours())
				g.due.Add(key)
				if !e.ClosedAt.After(e.Deadline) {
					g.onTime.Add(key)
				}
			}
		}
	}
	out := map[string]*float64{}
	for key, g := range groups {
		var v *int64
		var x float64
		switch req.Metric {
		case "households":
			v = sdctest.Count(k, g.households, sdctest.Households)
		case "people":
			v = sdctest.Sum(k, g.people, g.households, sdctest.People)
		case "tagged_people":
			v = sdctest.Count(k, g.tagged, sdctest.Tagged)
		case "events":
			v = sdctest.Count(k, g.events, sdctest.Events)
		case "events_per_1000_households":
			ev, hh := sdctest.Count(k, g.events, sdctest.Events), sdctest.Count(k, g.households, sdctest.Households)
			if ev != nil && hh != nil {
				x, v = float64(*ev)*1000/float64(*hh), ev
			}
		case "median_close_hours":
			if g.closed.N >= k {
				sort.Float64s(g.hours)
				n := len(g.hours)
				x = g.hours[n/2]
				if n%2 == 0 {
					x = (g.hours[n/2-1] + g.hours[n/2]) / 2
				}
				v = &g.closed.N
			}
		case "closed_on_time_share":
			if due := sdctest.Count(k, g.due, sdctest.Due); due != nil {
				x = min(float64(sdctest.Round(k, g.onTime.N, g.onTime, sdctest.OnTime))/float64(*due), 1)
				v = due
			}
		}
		switch {
		case v == nil && g.households.N == 0:
			// no households and nothing released: not listed
		case v == nil:
			out[key] = nil
		default:
			switch req.Metric {
			case "events_per_1000_households", "median_close_hours", "closed_on_time_share":
			default:
				x = float64(*v)
			}
			out[key] = &x
		}
	}
	return out
}

// isCount reports whether a metric's values are released counts (multiples of
// the base), not figures derived from them.
func isCount(metric string) bool {
	switch metric {
	case "households", "people", "tagged_people", "events":
		return true
	}
	return false
}

// asFloat is a released count as an aggregate's value (nil: suppressed).
func asFloat(v *int64) *float64 {
	if v == nil {
		return nil
	}
	f := float64(*v)
	return &f
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	cst := time.FixedZone("CST", 8*3600)
	window := [2]string{time.Date(2026, 3, 3, 5, 17, 0, 0, cst).Format(time.RFC3339), time.Date(2026, 4, 2, 19, 0, 0, 0, time.UTC).Format(time.RFC3339)}
	groupBys := []string{"district", "street", "community", "grid", "micro_grid", "h3:7", "h3:9", "h3:10", "h3:11"}
	var cases []qry.AggregateRequest
	for _, gb := range groupBys {
		for _, m := range qry.Metrics {
			r := qry.AggregateRequest{GroupBy: gb, Metric: m}
			if m == "tagged_people" {
				r.Tag = fixture.Tags[0]
			}
			cases = append(cases, r)
		}
		cases = append(cases,
			qry.AggregateRequest{GroupBy: gb, Metric: "events", From: window[0], To: window[1]},
			qry.AggregateRequest{GroupBy: gb, Metric: "events", From: window[0], To: window[1], Category: "01"},
			qry.AggregateRequest{GroupBy: gb, Metric: "closed_on_time_share", From: window[0], Category: "0101", Severity: []string{"general", "urgent"}},
			qry.AggregateRequest{GroupBy: gb, Metric: "events", To: window[1], Status: []string{"closed"}, Source: []string{"patrol", "qr"}},
			qry.AggregateRequest{GroupBy: gb, Metric: "median_close_hours", From: window[0], To: window[1]},
			qry.AggregateRequest{GroupBy: gb, Metric: "events_per_1000_households", From: "2025-12-01T00:00:00+08:00", To: "2026-11-01T00:00:00+08:00"},
			// Whole months from the roll-up plus partial months raw at both ends.
			qry.AggregateRequest{GroupBy: gb, Metric: "events", From: "2026-01-15T10:00:00+08:00", To: "2026-05-20T00:00:00Z", Category: "01"},
			qry.AggregateRequest{GroupBy: gb, Metric: "closed_on_time_share", From: "2025-12-31T16:00:00Z", To: "2026-05-20T00:00:00Z"},
			// Less than one whole day: raw rows only.
			qry.AggregateRequest{GroupBy: gb, Metric: "events", From: "2026-03-03T01:00:00+08:00", To: "2026-03-03T23:00:00+08:00"},
		)
	}
	for _, req := range cases {
		name := fmt.Sprintf("%s/%s/%s-%s/%s%v%v%v", req.GroupBy, req.Metric, req.From, req.To, req.Category, req.Severity, req.Status, req.Source)
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(req)
			var res qry.AggregateResult
			if code := postJSON(t, ts, "/api/v1/aggregates", string(body), &res); code != 200 {
				t.Fatalf("status %d", code)
			}
			want := expect(city, keysOf(t, city), req, 5)
			got := map[string]qry.Group{}
			for _, g := range res.Groups {
				got[g.Key] = g
			}
			for key, w := range want {
				g, ok := got[key]
				if !ok {
					t.Errorf("group %s missing", key)
					continue
				}
				switch {
				case w == nil && !g.Suppressed:
					t.Errorf("group %s = %v, want suppressed", key, *g.Value)
				case w != nil && g.Suppressed:
					t.Errorf("group %s suppressed, want %v", key, *w)
				case w != nil && math.Abs(*g.Value-*w) > 0.01:
					t.Errorf("group %s = %v, want %v", key, *g.Value, *w)
				}
				if g.Suppressed && g.Value != nil {
					t.Errorf("group %s suppressed with a value", key)
				}
				if isCount(req.Metric) && g.Value != nil && int64(*g.Value)%5 != 0 {
					t.Errorf("group %s = %v: a released count that is no multiple of 5", key, *g.Value)
				}
			}
			for key := range got {
				if _, ok := want[key]; !ok {
					t.Errorf("unexpected group %s", key)
				}
			}
			if strings.HasPrefix(req.GroupBy, "h3") {
				return
			}
			for _, g := range res.Groups {
				if g.Name == nil || *g.Name == "" {
					t.Errorf("group %s has no name", g.Key)
				}
			}
		})
	}
}

// TestAggregateThreshold checks suppression exactly at the threshold: a group
// with threshold-1 households is suppressed and one with threshold is shown.
func TestAggregateThreshold(t *testing.T) {
	t.Parallel()
	city := fixture.New()
	// Pick a threshold at which some H3 res-11 group sits exactly on it and another just below.
	perCell := map[string]int{}
	for _, h := range city.Households {
		perCell[groupKey(city, "h3:11", h.AdminCode, h.GridCode, h.Point)]++
	}
	sizes := map[int]string{}
	for k, n := range perCell {
		sizes[n] = k
	}
	k := 0
	for n := 2; n < 20; n++ {
		if sizes[n] != "" && sizes[n-1] != "" {
			k = n
			if n == 5 {
				break
			}
		}
	}
	if k == 0 {
		t.Fatalf("the fixture has no H3 cells of n-1 and n households: %v", perCell)
	}
	t.Logf("threshold %d: cell %s has %d households, cell %s has %d", k, sizes[k], k, sizes[k-1], k-1)
	ts, _ := fixtureServer(t, qry.Config{MinCount: k})
	var res qry.AggregateResult
	if code := postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"h3:11","metric":"households"}`, &res); code != 200 {
		t.Fatal(code)
	}
	if res.Threshold != k {
		t.Errorf("threshold %d, want %d", res.Threshold, k)
	}
	for _, g := range res.Groups {
		switch g.Key {
		case sizes[k]:
			if g.Suppressed || g.Value == nil || *g.Value != float64(k) {
				t.Errorf("cell %s with %d households (= threshold): %+v, want shown", g.Key, k, g)
			}
		case sizes[k-1]:
			if !g.Suppressed || g.Value != nil {
				t.Errorf("cell %s with %d households (threshold-1): %+v, want suppressed", g.Key, k-1, g)
			}
		}
	}
}

func TestAggregatePolygons(t *testing.T) {
	t.Parallel()
	ts, city := fixtureServer(t, qry.Config{})
	rects := map[string]orb.Bound{
		"west":  {Min: orb.Point{114.00, 22.50}, Max: orb.Point{114.015, 22.52}},
		"east":  {Min: orb.Point{114.015, 22.50}, Max: orb.Point{114.04, 22.515}},
		"empty": {Min: orb.Point{114.10, 22.60}, Max: orb.Point{114.11, 22.61}},
	}
	var feats []string
	for id, b := range rects {
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","id":%q,"properties":{},"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
			id, b.Min[0], b.Min[1], b.Max[0], b.Min[1], b.Max[0], b.Max[1], b.Min[0], b.Max[1], b.Min[0], b.Min[1]))
	}
	fc := `{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + `]}`
	for _, metric := range []string{"households", "people", "events", "median_close_hours"} {
		t.Run(metric, func(t *testing.T) {
			var res qry.AggregateResult
			if code := postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"polygons","metric":"`+metric+`","polygons":`+fc+`}`, &res); code != 200 {
				t.Fatal(code)
			}
			keys := keysOf(t, city)
			for _, g := range res.Groups {
				b := rects[g.Key]
				var hh, events sdctest.Set
				var people int64
				var hours []float64
				for _, h := range city.Households {
					if covers(b, h.Point) {
						hh.Add(keys.hh[h.ID])
						people += int64(h.Members)
					}
				}
				for _, e := range city.Events {
					if covers(b, e.Point) {
						events.Add(keys.ev[e.ID])
						if e.ClosedAt != nil {
							hours = append(hours, e.ClosedAt.Sub(e.ReportedAt).Hours())
						}
					}
				}
				var want *float64
				switch metric {
				case "people":
					want = asFloat(sdctest.Sum(5, people, hh, sdctest.People))
				case "households":
					want = asFloat(sdctest.Count(5, hh, sdctest.Households))
				case "events":
					want = asFloat(sdctest.Count(5, events, sdctest.Events))
				case "median_close_hours":
					if len(hours) >= 5 {
						sort.Float64s(hours)
						n := len(hours)
						m := hours[n/2]
						if n%2 == 0 {
							m = (hours[n/2-1] + hours[n/2]) / 2
						}
						want = &m
					}
				}
				if want == nil {
					if !g.Suppressed {
						t.Errorf("%s: %+v, want suppressed", g.Key, g)
					}
					continue
				}
				if g.Suppressed || math.Abs(*g.Value-*want) > 0.01 {
					t.Errorf("%s = %+v, want %v", g.Key, g, *want)
				}
			}
			if len(res.Groups) != len(rects) {
				t.Errorf("%d groups, want %d (every polygon)", len(res.Groups), len(rects))
			}
		})
	}
}

func TestAggregateFormats(t *testing.T) {
	t.Parallel()
	ts, _ := fixtureServer(t, qry.Config{})
	var res qry.AggregateResult
	postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"micro_grid","metric":"households"}`, &res)

	t.Run("csv", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/aggregates", strings.NewReader(`{"group_by":"micro_grid","metric":"households"}`))
		req.Header.Set("Accept", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("content type %q", ct)
		}
		recs, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(recs[0], ",") != "key,name,group_by,metric,value,suppressed" {
			t.Errorf("header %v", recs[0])
		}
		if len(recs)-1 != len(res.Groups) {
			t.Fatalf("%d rows, want %d", len(recs)-1, len(res.Groups))
		}
		for i, g := range res.Groups {
			r := recs[i+1]
			if r[0] != g.Key || r[1] != *g.Name || r[4] != formatValue(g.Value) || r[5] != fmt.Sprint(g.Suppressed) {
				t.Errorf("row %v, want %+v", r, g)
			}
		}
	})
	t.Run("geojson", func(t *testing.T) {
		var fc struct {
			Type     string
			Features []struct {
				ID         string
				Geometry   *struct{ Type string }
				Properties map[string]any
			}
		}
		if code := postJSON(t, ts, "/api/v1/aggregates?format=geojson", `{"group_by":"micro_grid","metric":"households"}`, &fc); code != 200 {
			t.Fatal(code)
		}
		if fc.Type != "FeatureCollection" || len(fc.Features) != len(res.Groups) {
			t.Fatalf("%s with %d features, want %d", fc.Type, len(fc.Features), len(res.Groups))
		}
		for _, f := range fc.Features {
			if f.Geometry == nil || f.Geometry.Type != "MultiPolygon" {
				t.Errorf("%s: geometry %+v", f.ID, f.Geometry)
			}
		}
		var h3fc struct {
			Features []struct{ Geometry *struct{ Type string } }
		}
		postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"h3:9","metric":"events","format":"geojson"}`, &h3fc)
		if len(h3fc.Features) == 0 || h3fc.Features[0].Geometry == nil || h3fc.Features[0].Geometry.Type != "Polygon" {
			t.Errorf("h3 groups as GeoJSON: %+v", h3fc)
		}
	})
	t.Run("no personal fields", func(t *testing.T) {
		resp, err := http.Post(ts.URL+"/api/v1/aggregates", "application/json", strings.NewReader(`{"group_by":"h3:11","metric":"people"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw map[string]any
		json.NewDecoder(resp.Body).Decode(&raw)
		b, _ := json.Marshal(raw)
		for _, f := range []string{"masked", "phone", "id_no", "head_name", "138****"} {
			if strings.Contains(string(b), f) {
				t.Errorf("answer contains %q", f)
			}
		}
	})
}

func TestAggregateBadInput(t *testing.T) {
	t.Parallel()
	ts, _ := fixtureServer(t, qry.Config{})
	cases := []struct{ body, param string }{
		{``, "body"},
		{`[]`, "body"},
		{`{"group_by":"planet","metric":"events"}`, "group_by"},
		{`{"group_by":"h3:16","metric":"events"}`, "group_by"},
		{`{"metric":"events"}`, "group_by"},
		{`{"group_by":"street","metric":"happiness"}`, "metric"},
		{`{"group_by":"street","metric":"tagged_people"}`, "tag"},
		{`{"group_by":"street","metric":"events","from":"2026-05-01T00:00:00Z","to":"2026-04-01T00:00:00Z"}`, "to"},
		{`{"group_by":"street","metric":"events","from":"soon"}`, "from"},
		{`{"group_by":"street","metric":"events","severity":"apocalyptic"}`, "severity"},
		{`{"group_by":"street","metric":"events","category":"99"}`, "category"},
		{`{"group_by":"street","metric":"events","category":"0%"}`, "category"},
		{`{"group_by":"street","metric":"events","colour":"red"}`, "colour"},
		{`{"group_by":"street","metric":"households","status":"closed"}`, "metric"},
		{`{"group_by":"polygons","metric":"events"}`, "polygons"},
		{`{"group_by":"polygons","metric":"events","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.5],[114.01,22.51],[114,22.5]]]}}]}}`, "polygons.features[0].id"},
		{`{"group_by":"polygons","metric":"events","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.51],[114.01,22.5],[114,22.51],[114,22.5]]]}}]}}`, "polygons.features[0].geometry"},
		{`{"group_by":"polygons","metric":"events","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Polygon","coordinates":[[[100,10],[130,10],[130,40],[100,10]]]}}]}}`, "polygons.features[0].geometry"},
		{`{"group_by":"street","metric":"events","format":"xlsx"}`, "format"},
	}
	for _, tc := range cases {
		t.Run(tc.param, func(t *testing.T) {
			var e apiError
			if code := postJSON(t, ts, "/api/v1/aggregates", tc.body, &e); code != 400 {
				t.Fatalf("status %d, want 400: %+v", code, e)
			}
			if !strings.HasPrefix(e.Error.Message, tc.param+":") {
				t.Errorf("message %q does not name %s", e.Error.Message, tc.param)
			}
		})
	}
}

func TestAggregateMaxGroups(t *testing.T) {
	t.Parallel()
	ts, _ := fixtureServer(t, qry.Config{MaxGroups: 3})
	var e apiError
	if code := postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"h3:11","metric":"households"}`, &e); code != 400 || !strings.HasPrefix(e.Error.Message, "group_by:") {
		t.Errorf("status %d %q, want 400 naming group_by", code, e.Error.Message)
	}
	if code := postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"street","metric":"households"}`, nil); code != 200 {
		t.Errorf("2 streets: status %d", code)
	}
}
