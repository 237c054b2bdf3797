package hotspot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
)

// ringM is the distance between neighbouring res-9 cell centres (√3 × the
// average edge of 174 m).
const ringM = 302

// TestPlantedHotspotsFound generates a city with planted clusters and checks
// that the analysis finds them (recall) without flagging much else (false
// positives), then that uniform random events raise no more than the nominal
// share of significant cells.
func TestPlantedHotspotsFound(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a city")
	}
	db := pgtest.New(t)
	ctx := context.Background()
	truthPath := filepath.Join(t.TempDir(), "truth.json")
	start := time.Now()
	_, err := citygen.Generate(ctx, db, citygen.Options{Households: 30_000, Seed: 20261101, Months: 6, Hotspots: 12, End: time.Date(2026, 11, 1, 0, 0, 0, 0, clock.China), TruthPath: truthPath})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	var truth citygen.Truth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated 30,000 households with %d planted clusters in %v", len(truth.Hotspots), time.Since(start).Round(time.Millisecond))
	end := truth.PeriodEnd
	svc := hotspot.New(db, hotspot.Config{Now: func() time.Time { return end }})

	// measure runs an analysis and scores it against the planted clusters.
	measure := func(t *testing.T, name string, p hotspot.Params) (recall, fpr float64) {
		t.Helper()
		r, err := svc.Analyze(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != hotspot.StatusOK {
			t.Fatalf("%s: %s", r.Status, r.Reason)
		}
		found, eligible, falsePos, sig := 0, 0, 0, 0
		near := make([]bool, len(truth.Hotspots))
		for _, c := range r.Cells {
			if c.BinFDR <= 0 {
				continue
			}
			sig++
			centre := geo.CellCenter(c.Cell)
			far := true
			for i, h := range truth.Hotspots {
				d := distanceM(centre[0], centre[1], h.Lon, h.Lat)
				if d <= h.RadiusM {
					near[i] = true
				}
				if d <= h.RadiusM+ringM {
					far = false
				}
			}
			if far {
				falsePos++
			}
		}
		for i, h := range truth.Hotspots {
			// Enough extra rate: active for the whole window with at least 8
			// extra events a month (citygen plants 1-3x the background).
			if h.Start.After(p.From) || h.Households == 0 {
				continue
			}
			eligible++
			if near[i] {
				found++
			}
		}
		recall = float64(found) / float64(max(eligible, 1))
		fpr = float64(falsePos) / float64(len(r.Cells))
		t.Logf("%s: %d cells, %d events; %d FDR-significant hot cells; recall %d/%d = %.2f; false positives %d = %.4f of cells",
			name, len(r.Cells), r.Summary.Events, sig, found, eligible, recall, falsePos, fpr)
		return recall, fpr
	}

	// The analyses read released counts (package sdc): rounded to multiples of 5
	// by the cell keys, cells below 5 as 0. Detection then depends on the
	// rounding draws, so the 90-day count analysis is scored under several
	// record-key seeds and required on average: 11/12 on raw counts, 8-10/12
	// (mean 9/12) on released ones.
	count90 := hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -90), To: end}
	var sum float64
	seeds := []int64{1, 2, 3, 4, 5, 6}
	for _, seed := range seeds {
		if err := sdctest.FixSeed(ctx, db, seed); err != nil {
			t.Fatal(err)
		}
		recall, fpr := measure(t, fmt.Sprintf("count 90d, seed %d", seed), count90)
		sum += recall
		if fpr > 0.05 {
			t.Errorf("seed %d: false-positive rate %.4f > 0.05", seed, fpr)
		}
	}
	if mean := sum / float64(len(seeds)); mean < 0.7 {
		t.Errorf("mean recall %.2f over %d seeds < 0.7", mean, len(seeds))
	} else {
		t.Logf("mean recall %.2f over %d seeds", mean, len(seeds))
	}
	// Report only, under the last seed.
	for _, tc := range []struct {
		name string
		p    hotspot.Params
	}{
		{"rate eb 90d", hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -90), To: end, By: hotspot.ByRate, Smooth: hotspot.SmoothEB}},
		{"rate eb 30d", hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -30), To: end, By: hotspot.ByRate, Smooth: hotspot.SmoothEB}},
		{"rate raw 90d", hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -90), To: end, By: hotspot.ByRate}},
		{"count 30d", hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -30), To: end}},
	} {
		t.Run(tc.name, func(t *testing.T) { measure(t, tc.name, tc.p) })
	}

	// Uniform random events over the study area in three later windows (no
	// other events there): after FDR no more than the nominal 10 % of cells
	// may be significant.
	r, err := svc.Analyze(ctx, hotspot.Params{Res: 9, K: 1, From: end.AddDate(0, 0, -30), To: end})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for w := range 3 {
		from := end.AddDate(0, w+1, 0)
		to := from.AddDate(0, 0, 30)
		const n = 5000
		rows := make([][]any, n)
		for i := range rows {
			c := r.Cells[rng.IntN(len(r.Cells))].Cell
			ll := h3.Cell(c).LatLng()
			c12, _ := geo.CellAt(ll.Lng, ll.Lat, geo.StorageRes)
			at := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
			rows[i] = []any{"010101", "patrol", "reported", at, c12, "uniform"}
		}
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"uniform_event"}, []string{"category_code", "source", "status", "reported_at", "h3", "dataset"}, pgx.CopyFromRows(rows)); err != nil {
			// First window: create the staging table and retry.
			if _, err := db.Exec(ctx, `CREATE TABLE uniform_event (category_code text, source text, status text, reported_at timestamptz, h3 bigint, dataset text)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CopyFrom(ctx, pgx.Identifier{"uniform_event"}, []string{"category_code", "source", "status", "reported_at", "h3", "dataset"}, pgx.CopyFromRows(rows)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := db.Exec(ctx, `INSERT INTO event (category_code, source, status, reported_at, h3, geom, dataset)
			SELECT category_code, source, status, reported_at, h3, ST_Point(0, 0, 4326), dataset FROM uniform_event;
			TRUNCATE uniform_event`)
		if err != nil {
			t.Fatal(err)
		}
		u, err := svc.Analyze(ctx, hotspot.Params{Res: 9, K: 1, From: from, To: to})
		if err != nil {
			t.Fatal(err)
		}
		sig := 0
		for _, c := range u.Cells {
			if c.BinFDR != 0 {
				sig++
			}
		}
		share := float64(sig) / float64(len(u.Cells))
		t.Logf("uniform window %d: %d events over %d cells: %d FDR-significant cells = %.4f (raw bins: hot %+v)", w, u.Summary.Events, len(u.Cells), sig, share, u.Summary.Hot)
		if share > 0.10 {
			t.Errorf("uniform events: %.3f of cells significant after FDR, more than the nominal 0.10", share)
		}
	}
}

// distanceM is the haversine distance in metres.
func distanceM(lon1, lat1, lon2, lat2 float64) float64 {
	const r = 6371008.8
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}
