package query

import (
	"context"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestHistMedianExact checks that medians read through the close-time histogram
// (event_close_hist_month plus the raw close times of the middle bins) equal the
// median of the fixture's close times computed here, for whole-month windows by
// every admin level, and that they equal the raw-row percentile_cont path
// digit for digit, also after the events change (triggers keep the histogram
// current) and with closes in the overflow bins.
func TestHistMedianExact(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	city := fixture.New()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{})
	month := func(y int, m time.Month) time.Time { return time.Date(y, m, 1, 0, 0, 0, 0, clock.China) }
	windows := []Window{
		{},
		{From: month(2025, 11), To: month(2026, 11)},
		{From: month(2026, 3), To: month(2026, 4)},
		{From: month(2026, 1)},
		{To: month(2026, 2)},
	}
	prefix := map[string]int{"district": 6, "street": 9, "community": 12}
	check := func(t *testing.T, fromFixture bool) {
		for _, gb := range []string{"district", "street", "community"} {
			for _, w := range windows {
				a := &Aggregate{GroupBy: gb, Metric: "median_close_hours", Window: w}
				if !medianHistFits(a) {
					t.Fatalf("%s %v: the histogram should answer", gb, w)
				}
				got := map[string]*counts{}
				get := func(k string) *counts {
					if got[k] == nil {
						got[k] = &counts{}
					}
					return got[k]
				}
				ok, err := s.histMedians(ctx, a, get)
				if err != nil || !ok {
					t.Fatalf("%s %v: ok %v, %v", gb, w, ok, err)
				}
				// The raw-row path, exactly.
				raw := map[string]float64{}
				sql, args := medianSQL(a, nil)
				if err := s.scanGroups(ctx, sql, args, func(k string, _ *string, v []any) { raw[k] = v[1].(float64) }, new(int64), new(float64)); err != nil {
					t.Fatal(err)
				}
				if len(raw) != len(got) {
					t.Errorf("%s %v: %d groups from the histogram, %d raw", gb, w, len(got), len(raw))
				}
				for k, c := range got {
					if r, ok := raw[k]; !ok || *c.median != r {
						t.Errorf("%s %v %s: histogram median %v, raw %v", gb, w, k, *c.median, r)
					}
				}
				if !fromFixture {
					continue
				}
				// Independently, from the fixture.
				hours := map[string][]float64{}
				for _, e := range city.Events {
					if e.ClosedAt == nil || len(e.AdminCode) != 12 ||
						(!w.From.IsZero() && e.ReportedAt.Before(w.From)) || (!w.To.IsZero() && !e.ReportedAt.Before(w.To)) {
						continue
					}
					k := e.AdminCode[:prefix[gb]] + "000000000000"[prefix[gb]:]
					hours[k] = append(hours[k], e.ClosedAt.Sub(e.ReportedAt).Hours())
				}
				if len(hours) != len(got) {
					t.Errorf("%s %v: %d groups, fixture %d", gb, w, len(got), len(hours))
				}
				for k, hs := range hours {
					sort.Float64s(hs)
					n := len(hs)
					want := (hs[(n-1)/2] + hs[n/2]) / 2
					c := got[k]
					if c == nil || c.closed != int64(n) || math.Abs(*c.median-want) > 1e-9 {
						t.Errorf("%s %v %s: got %+v, fixture median %v of %d", gb, w, k, c, want, n)
					}
				}
			}
		}
	}
	check(t, true)
	// Change events so that the histogram must follow: closes moved across bins,
	// into the overflow bin, across months and communities, deleted and added.
	for _, c := range []string{
		`UPDATE event SET closed_at = reported_at + interval '800 hours' WHERE id % 5 <> 0 AND closed_at IS NOT NULL`,
		`UPDATE event SET closed_at = reported_at + interval '7 hours 13 minutes 0.5 seconds', reported_at = reported_at - interval '20 days' WHERE id % 7 = 0`,
		`UPDATE event SET admin_code = '440304001002' WHERE id % 11 = 0`,
		`DELETE FROM event_step WHERE event_id % 13 = 0`,
		`DELETE FROM event WHERE id % 13 = 0`,
		`INSERT INTO event (category_code, severity, source, status, reported_at, closed_at, deadline, geom, h3, admin_code, grid_code)
			SELECT category_code, severity, source, status, reported_at + interval '1 day', closed_at + interval '1 day 90 minutes', deadline, geom, h3, admin_code, grid_code FROM event WHERE id % 3 = 0`,
	} {
		if _, err := db.Exec(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	check(t, false)
	// The overflow bin holds the middle of some groups now.
	var over int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM event_close_hist_month WHERE 720 = ANY(bins)`).Scan(&over); err != nil || over == 0 {
		t.Fatalf("overflow rows %d, %v", over, err)
	}
	snap := `SELECT string_agg(format('%s %s %s %s', month, admin_code, bins, counts), ';' ORDER BY month, admin_code) FROM event_close_hist_month WHERE counts <> '{}'`
	var before, after string
	if err := db.QueryRow(ctx, snap).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `SELECT query_rollup_rebuild()`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, snap).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("close-time histogram maintained by triggers differs from a rebuild")
	}
	if _, err := db.Exec(ctx, `TRUNCATE event_step, event`); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow(ctx, `SELECT count(*) FROM event_close_hist_month`).Scan(&n)
	if n != 0 {
		t.Errorf("%d histogram rows after TRUNCATE event", n)
	}
}

// TestHistMedianBenchCity compares histogram and raw-row medians by street and
// community over the generated city's year (skipped without
// ONEGRID_BENCH_DATABASE_URL, see bench_test.go).
func TestHistMedianBenchCity(t *testing.T) {
	u := os.Getenv("ONEGRID_BENCH_DATABASE_URL")
	if u == "" {
		t.Skip("ONEGRID_BENCH_DATABASE_URL is not set")
	}
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := New(pool, Config{})
	ctx := context.Background()
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, clock.China)
	for _, gb := range []string{"district", "street", "community"} {
		a := &Aggregate{GroupBy: gb, Metric: "median_close_hours", Window: Window{From: end.AddDate(-1, 0, 0), To: end}}
		got := map[string]*counts{}
		ok, err := s.histMedians(ctx, a, func(k string) *counts {
			if got[k] == nil {
				got[k] = &counts{}
			}
			return got[k]
		})
		if err != nil || !ok {
			t.Fatalf("%s: ok %v, %v", gb, ok, err)
		}
		raw := map[string]float64{}
		sql, args := medianSQL(a, nil)
		if err := s.scanGroups(ctx, sql, args, func(k string, _ *string, v []any) { raw[k] = v[1].(float64) }, new(int64), new(float64)); err != nil {
			t.Fatal(err)
		}
		if len(raw) != len(got) {
			t.Errorf("%s: %d groups from the histogram, %d raw", gb, len(got), len(raw))
		}
		for k, c := range got {
			if *c.median != raw[k] {
				t.Errorf("%s %s: histogram %v, raw %v", gb, k, *c.median, raw[k])
			}
		}
		t.Logf("%s: %d groups equal", gb, len(got))
	}
}
