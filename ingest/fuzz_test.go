package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// convertAll reads every record of rd and converts it, checking that each row
// is either loadable or rejected with a reason and a position.
func convertAll(t *testing.T, rd reader, conv *converter) {
	t.Helper()
	for i := 0; i < 10000; i++ {
		rec, err := rd.next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			if !strings.Contains(err.Error(), "feature") && !strings.Contains(err.Error(), "csv") {
				t.Fatalf("reader error names no position: %v", err)
			}
			return
		}
		row := conv.convert(rec)
		if row[0].(int64) < 1 {
			t.Fatalf("row without a position: %v", row)
		}
		if row[2] != nil {
			if row[2].(string) == "" {
				t.Fatalf("rejected without a reason: %v", row)
			}
			continue
		}
		if row[4] == nil {
			t.Fatalf("loadable row without an id: %v", row)
		}
	}
}

func seedFile(f *testing.F, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
}

func FuzzCSVRow(f *testing.F) {
	seedFile(f, "testdata/events.csv")
	seedFile(f, "testdata/grids.csv")
	seedFile(f, "testdata/categories.csv")
	seedFile(f, "testdata/boston/crime_incident_reports_2023_sample.csv")
	f.Add("id,category,reported_at,wkt\n1,C01,2023-01-01,\"POINT(1 2)\"\n")
	f.Add("id,category,reported_at,lon,lat\n\"a\"b,C01,x,1e400,NaN\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []string{"events", "grids", "households", "categories", "open311"} {
			rd, err := newCSVReader(strings.NewReader(s))
			if err != nil {
				continue
			}
			k, m := kinds[kind], Mapping{}
			if kind == "open311" {
				k, m = open311Kind, open311Mapping
			}
			conv, err := newConverter(k, m, &convCtx{loc: time.UTC, hashKey: []byte("k"), layout: "1/2/2006 15:04"}, "line", false, rd.hasColumn)
			if err != nil {
				continue
			}
			convertAll(t, rd, conv)
		}
	})
}

func FuzzGeoJSONFeature(f *testing.F) {
	f.Add(`{"type": "Feature", "id": 1, "properties": {"category": "C01", "reported_at": "2023-01-01"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}`)
	f.Add(`{"type": "Feature", "properties": {"a\"b": "\u00e9"}, "geometry": {"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,0]]]}}`)
	f.Add(`5, "x", [1], {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e999, -1]}}`)
	f.Add(`{"type":"Feature","geometry":{"type":"Point","coordinates":[ 1 , 2 , 3 ]},"properties":null}`)
	b, _ := os.ReadFile("testdata/events.geojson")
	if i, j := bytes.IndexByte(b, '['), bytes.LastIndexByte(b, ']'); i >= 0 && j > i {
		f.Add(string(b[i+1 : j]))
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []string{"events", "buildings"} {
			rd, err := newGeoJSONReader(strings.NewReader(`{"type": "FeatureCollection", "features": [` + s + `]}`))
			if err != nil {
				return
			}
			conv, err := newConverter(kinds[kind], Mapping{}, &convCtx{loc: time.UTC}, "feature", false, nil)
			if err != nil {
				t.Fatal(err)
			}
			convertAll(t, rd, conv)
		}
	})
}

func FuzzWKT(f *testing.F) {
	for _, s := range []string{"POINT(1 2)", "SRID=4326;POINT(1 2)", "POLYGON((0 0,1 0,1 1,0 0))", "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))",
		"GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))", "POINT(nan inf)", "POLYGON((", "MULTIPOINT((1 2),(3 4))", "POINT EMPTY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ParseWKT(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, rule := range []geomRule{pointRequired, areaRequired} {
			_, _, _ = shapeGeom(g, rule)
		}
	})
}

func FuzzOSMXML(f *testing.F) {
	seedFile(f, "testdata/small.osm")
	f.Add(`<osm><way id="1"><nd ref="1"/><tag k="building" v="yes"/></way><relation id="2"><member type="way" ref="1" role="outer"/><tag k="type" v="multipolygon"/><tag k="building" v="yes"/></relation></osm>`)
	f.Add(`<osm><node id="1" lat="95" lon="200"><tag k="addr:housenumber" v="1"/></node></osm>`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := readOSM(context.Background(), strings.NewReader(s), false, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "element") {
				t.Fatalf("error names no element: %v", err)
			}
			return
		}
		b, a := d.stage(false)
		for _, row := range append(b, a...) {
			if row[2] == nil && row[len(row)-2] == nil {
				t.Fatalf("row neither rejected nor located: %v", row)
			}
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2012-12-04 15:21:00", "2023-01-01 00:00:00+00", "2023-01-01 00:00:00.5-05", "2023-06-01T10:00:00Z", "01/15/2013 07:15:14 AM", "2023/06/01 10:00", "1700000000", "0000-01-01", "9999-12-31 23:59:59", "2023-02-30"} {
		f.Add(s)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s, la)
		if err != nil {
			if !strings.Contains(err.Error(), "time") {
				t.Fatalf("error does not say it is about a time: %v", err)
			}
			return
		}
		if tm.Before(minTime) || !tm.Before(maxTime) {
			t.Fatalf("%q parsed to out-of-range %v", s, tm)
		}
	})
}

func FuzzParseMapping(f *testing.F) {
	for _, s := range []string{"id=CaseID,reported_at=Opened", "a=b=c", ",", "x=", "=y", "a=b,a=c", " id = x "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMapping(s)
		if err != nil {
			if !strings.Contains(err.Error(), "mapping item") {
				t.Fatalf("error names no item: %v", err)
			}
			return
		}
		for k, v := range m {
			if k == "" || v == "" {
				t.Fatalf("empty name in %v", m)
			}
		}
		if _, err := ReadMapping(strings.NewReader(s)); err != nil && !strings.Contains(err.Error(), "mapping") {
			t.Fatalf("ReadMapping error names nothing: %v", err)
		}
	})
}

// FuzzParseTimeLayout: a time read with a --time-format layout is in range or
// refused with a reason that says it is about a time, for any layout and value.
func FuzzParseTimeLayout(f *testing.F) {
	for _, c := range [][2]string{{"1/2/06 15:04", "1/1/06 0:00"}, {"1/2/2006 15:04", "12/31/2006 23:59"}, {"02.01.2006", "31.12.1899"}, {"", "2023-01-01"}, {"2006", "0"}} {
		f.Add(c[0], c[1])
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	f.Fuzz(func(t *testing.T, layout, s string) {
		tm, err := parseTimeLayout(s, layout, la)
		if err != nil {
			if !strings.Contains(err.Error(), "time") {
				t.Fatalf("error does not say it is about a time: %v", err)
			}
			return
		}
		if tm.Before(minTime) || !tm.Before(maxTime) {
			t.Fatalf("%q with layout %q parsed to out-of-range %v", s, layout, tm)
		}
	})
}

// FuzzReadAreas: an areas file either reads into (group, id, polygon) rows or
// fails with an error naming the file.
func FuzzReadAreas(f *testing.F) {
	seedFile(f, "testdata/areas.geojson")
	f.Add(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		p := t.TempDir() + "/a.geojson"
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, a := range []AreaOptions{{Path: p, Code: "X", Group: "district", ID: []string{"name", "id"}}, {Path: p, Code: "X"}} {
			rows, err := readAreas(a)
			if err != nil {
				if !strings.Contains(err.Error(), p) {
					t.Fatalf("error does not name the file: %v", err)
				}
				continue
			}
			for _, r := range rows {
				if r[0].(string) == "" && a.Group == "" || r[2] == nil {
					t.Fatalf("row without a group or polygon: %v", r)
				}
			}
		}
	})
}
