package ingest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestLoadGCJ02 converts GCJ-02 input to WGS-84 on ingest.
func TestLoadGCJ02(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	path := filepath.Join(t.TempDir(), "addr.csv")
	if err := os.WriteFile(path, []byte("id,full_text,x,y\nd1,深圳市民中心,114.0596,22.5431\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := load(t, db, Options{Kind: "addresses", Path: path, SRS: "gcj02", Mapping: Mapping{"lon": "x", "lat": "y"}})
	checkSummary(t, s, 1, 1, 0, 0)
	var lon, lat float64
	if err := db.QueryRow(context.Background(), `SELECT ST_X(geom), ST_Y(geom) FROM address WHERE dataset_id = 'd1'`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	wantLon, wantLat := geo.GCJ02ToWGS84(114.0596, 22.5431)
	if math.Abs(lon-wantLon) > 1e-9 || math.Abs(lat-wantLat) > 1e-9 {
		t.Errorf("stored (%f, %f), want WGS-84 (%f, %f)", lon, lat, wantLon, wantLat)
	}
	if math.Abs(lon-114.0596) < 1e-4 {
		t.Errorf("stored point was not converted: %f", lon)
	}
}

func TestParseMapping(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     Mapping
		wantErr  string
	}{
		{"two", "id=CaseID, reported_at = Opened", Mapping{"id": "CaseID", "reported_at": "Opened"}, ""},
		{"empty", "", Mapping{}, ""},
		{"no equals", "id", nil, `mapping item 1 "id": want field=column`},
		{"twice", "a=b,a=c", nil, `mapping item 2 "a=c": field "a" mapped twice`},
		{"empty column", "a=", nil, `mapping item 1 "a=": empty column name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseMapping(c.in)
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %s", err, c.wantErr)
				}
				return
			}
			if err != nil || len(m) != len(c.want) {
				t.Fatalf("got %v, %v; want %v", m, err, c.want)
			}
			for k, v := range c.want {
				if m[k] != v {
					t.Errorf("%s = %q, want %q", k, m[k], v)
				}
			}
		})
	}
}
