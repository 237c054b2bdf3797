package query

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/paulmach/orb/geojson"
)

func TestParseBBox(t *testing.T) {
	cases := []struct {
		in   string
		ok   bool
		want BBox
	}{
		{"114,22.5,114.1,22.6", true, BBox{114, 22.5, 114.1, 22.6}},
		{" 114 , 22.5 , 114.1 , 22.6 ", true, BBox{114, 22.5, 114.1, 22.6}},
		{"114,22.5,114,22.5", true, BBox{114, 22.5, 114, 22.5}},
		{"114,22.5,114.1", false, BBox{}},
		{"114,22.5,0,114.1,22.6,0", false, BBox{}},
		{"115,22.5,114,22.6", false, BBox{}},
		{"114,23,115,22", false, BBox{}},
		{"181,0,182,1", false, BBox{}},
		{"a,b,c,d", false, BBox{}},
		{"NaN,0,1,1", false, BBox{}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseBBox("bbox", c.in)
			if (err == nil) != c.ok || c.ok && got != c.want {
				t.Fatalf("ParseBBox(%q) = %v, %v", c.in, got, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "bbox: ") {
				t.Errorf("error %q does not name bbox", err)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"", "", true},
		{"2026-01-01", "", true},
		{"2026-01-01T00:00:00Z", "2026-02-01T00:00:00+08:00", true},
		{"2026-02-01", "2026-01-01", false},
		{"2026-01-01", "2026-01-01", false},
		{"yesterday", "", false},
		{"", "0001-01-01T00:00:00Z", false},
	}
	for _, c := range cases {
		_, err := ParseWindow("from", c.from, "to", c.to)
		if (err == nil) != c.ok {
			t.Errorf("ParseWindow(%q, %q): %v", c.from, c.to, err)
		}
	}
}

func TestMonthSplit(t *testing.T) {
	cst := clock.China
	cases := []struct {
		name   string
		w      Window
		m1, m2 time.Time
		ok     bool
	}{
		{"aligned year", Window{time.Date(2025, 11, 1, 0, 0, 0, 0, cst), time.Date(2026, 11, 1, 0, 0, 0, 0, cst)}, time.Date(2025, 11, 1, 0, 0, 0, 0, cst), time.Date(2026, 11, 1, 0, 0, 0, 0, cst), true},
		{"ragged", Window{time.Date(2026, 1, 15, 10, 0, 0, 0, cst), time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)}, time.Date(2026, 2, 1, 0, 0, 0, 0, cst), time.Date(2026, 5, 1, 0, 0, 0, 0, cst), true},
		{"midnight UTC is 08:00 in China", Window{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Time{}}, time.Date(2026, 3, 1, 0, 0, 0, 0, cst), time.Time{}, true},
		{"within a month", Window{time.Date(2026, 3, 3, 0, 0, 0, 0, cst), time.Date(2026, 4, 2, 0, 0, 0, 0, cst)}, time.Time{}, time.Time{}, false},
		{"open", Window{}, time.Time{}, time.Time{}, true},
	}
	for _, c := range cases {
		m1, m2, ok := monthSplit(c.w)
		if ok != c.ok || !m1.Equal(c.m1) || !m2.Equal(c.m2) {
			t.Errorf("%s: %v %v %v, want %v %v %v", c.name, m1, m2, ok, c.m1, c.m2, c.ok)
		}
	}
}

func FuzzLonLat(f *testing.F) {
	for _, s := range []string{"114.05", "-180", "180", "90.0000001", "1e308", "NaN", "-Inf", "0x1p-2", " 22 ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if lon, err := ParseLon("lon", s); err == nil && !(lon >= -180 && lon <= 180) {
			t.Fatalf("ParseLon(%q) = %v", s, lon)
		} else if err != nil && !isParam(err, "lon") {
			t.Fatalf("ParseLon(%q): %v", s, err)
		}
		if lat, err := ParseLat("lat", s); err == nil && !(lat >= -90 && lat <= 90) {
			t.Fatalf("ParseLat(%q) = %v", s, lat)
		}
	})
}

func FuzzBBox(f *testing.F) {
	for _, s := range []string{"114,22.5,114.1,22.6", "1,2,3", "-180,-90,180,90", "1,2,3,4,5,6", ",,,", "114,22,113,23"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox("bbox", s)
		if err != nil {
			if !isParam(err, "bbox") {
				t.Fatalf("ParseBBox(%q): %v", s, err)
			}
			return
		}
		if b.MinLon > b.MaxLon || b.MinLat > b.MaxLat || b.MinLon < -180 || b.MaxLon > 180 || b.MinLat < -90 || b.MaxLat > 90 {
			t.Fatalf("ParseBBox(%q) = %v", s, b)
		}
	})
}

func FuzzWindow(f *testing.F) {
	f.Add("2026-01-01", "2026-02-01")
	f.Add("2026-01-01T00:00:00Z", "2025-01-01T00:00:00+08:00")
	f.Add("", "9999-12-31T23:59:59Z")
	f.Add("2026-13-01", "")
	f.Fuzz(func(t *testing.T, from, to string) {
		w, err := ParseWindow("from", from, "to", to)
		if err != nil {
			if !isParam(err, "from") && !isParam(err, "to") {
				t.Fatalf("ParseWindow(%q, %q): %v", from, to, err)
			}
			return
		}
		if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
			t.Fatalf("ParseWindow(%q, %q) = %v: not ordered", from, to, w)
		}
		monthSplit(w) // must not panic
		_, _, _ = ParseDatetime("datetime", from+"/"+to)
	})
}

func FuzzGroupBy(f *testing.F) {
	for _, s := range []string{"district", "h3:9", "h3:", "h3:-1", "h3:012", "h3:99999999999999999999", "polygons", "H3:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, res, err := ParseGroupBy("group_by", s)
		if err != nil {
			if !isParam(err, "group_by") {
				t.Fatal(err)
			}
			return
		}
		if g == "h3" && (res < 0 || res > MaxH3Res) {
			t.Fatalf("ParseGroupBy(%q) = h3 res %d", s, res)
		}
		a := &Aggregate{GroupBy: g, H3Res: res, Metric: "events"}
		if g != "polygons" {
			eventSQL(a, nil, 0) // builds for every accepted group_by
		}
	})
}

func FuzzCursor(f *testing.F) {
	f.Add(Cursor{After: "12345", Query: 7}.Encode(), uint32(7))
	f.Add("", uint32(0))
	f.Add("!!!", uint32(1))
	f.Add(strings.Repeat("A", 300), uint32(1))
	f.Fuzz(func(t *testing.T, s string, fp uint32) {
		c, err := ParseCursor("cursor", s, fp)
		if err != nil {
			if !isParam(err, "cursor") {
				t.Fatal(err)
			}
			return
		}
		if s != "" && c.Query != fp {
			t.Fatalf("cursor of query %d accepted for %d", c.Query, fp)
		}
		if s != "" {
			back, err := ParseCursor("cursor", c.Encode(), fp)
			if err != nil || back != c {
				t.Fatalf("round trip %+v: %+v, %v", c, back, err)
			}
		}
	})
}

func FuzzPolygon(f *testing.F) {
	for _, s := range []string{
		`{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.5],[114.01,22.51],[114,22.51],[114,22.5]]]}`,
		`{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[114,22.5],[114.01,22.5],[114.01,22.51],[114,22.5]]]]},"properties":{}}`,
		`{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.5]]]}`,
		`{"type":"Polygon","coordinates":[[[1e400,0],[0,0],[0,1],[1e400,0]]]}`,
		`{"type":"Point","coordinates":[114,22]}`,
		`{"type":"Feature","geometry":null}`,
		`[]`, `null`, `{"type":"Polygon","coordinates":[]}`,
	} {
		f.Add([]byte(s))
	}
	lim := PolygonLimits{MaxVertices: 1000, MaxAreaKm2: 1000}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParsePolygon("body", body, lim)
		if err != nil {
			if !isParam(err, "body") {
				t.Fatalf("ParsePolygon: %v", err)
			}
			return
		}
		g, err := geojson.UnmarshalGeometry([]byte(a.GeoJSON))
		if err != nil {
			t.Fatalf("normalised polygon does not parse: %v: %s", err, a.GeoJSON)
		}
		if g.Type != "MultiPolygon" || countVertices(g.Geometry()) > lim.MaxVertices {
			t.Fatalf("normalised polygon %s", a.GeoJSON)
		}
		for _, v := range []float64{a.Bound.Min[0], a.Bound.Max[0], a.Bound.Min[1], a.Bound.Max[1]} {
			if math.IsNaN(v) || math.Abs(v) > 180 {
				t.Fatalf("bound %v", a.Bound)
			}
		}
	})
}

func FuzzAggregateRequest(f *testing.F) {
	for _, s := range []string{
		`{"group_by":"street","metric":"events","from":"2026-01-01","to":"2026-02-01","category":"01","severity":["urgent"],"status":"closed,resolved"}`,
		`{"group_by":"h3:9","metric":"tagged_people","tag":"低保"}`,
		`{"group_by":"polygons","metric":"households","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","properties":{},"geometry":{"type":"Polygon","coordinates":[[[114,22.5],[114.01,22.5],[114.01,22.51],[114,22.5]]]}}]}}`,
		`{"group_by":"street","metric":"events"} {}`,
		`{"group_by":"street","metric":"events","format":"csv","extra":1}`,
		`{"group_by":1}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	lim := PolygonLimits{MaxVertices: 1000, MaxAreaKm2: 1000}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseAggregate(body, lim, 10)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param == "" {
				t.Fatalf("ParseAggregate(%q): %v", body, err)
			}
			return
		}
		if !contains(Metrics, a.Metric) || a.Format != "" && !contains(Formats, a.Format) || (a.Metric == "tagged_people") != (a.Tag != "") {
			t.Fatalf("ParseAggregate(%q) = %+v", body, a)
		}
		if !a.Window.From.IsZero() && !a.Window.To.IsZero() && !a.Window.From.Before(a.Window.To) {
			t.Fatalf("window %+v", a.Window)
		}
		if a.GroupBy == "polygons" && (len(a.Polygons) == 0 || len(a.Polygons) > 10) {
			t.Fatalf("%d polygons", len(a.Polygons))
		}
		// Accepted free text is text the database takes (no NUL).
		for _, s := range append([]string{a.Tag}, keysOf(a.Polygons)...) {
			if CheckText("text", s) != nil {
				t.Fatalf("accepted %q", s)
			}
		}
		// Every accepted request builds SQL without panicking, with only placeholders for input.
		sql, args := eventSQL(a, nil, 0)
		for _, arg := range args {
			if s, ok := arg.(string); ok && len(s) > 3 && strings.Contains(sql, s) {
				t.Fatalf("input %q spliced into SQL", s)
			}
		}
		householdSQL(a)
		medianSQL(a, nil)
		_, _ = json.Marshal(a)
	})
}

func isParam(err error, param string) bool {
	var pe *ParamError
	return errors.As(err, &pe) && pe.Param == param
}

func keysOf(ps []KeyedArea) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}
