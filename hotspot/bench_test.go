package hotspot_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/hotspot"
)

// benchDB opens ONEGRID_BENCH_DATABASE_URL, a database holding a generated
// city (`onegrid gen --households 1000000`), or skips. It returns the pool and
// the end of the city's event period (the latest reported_at, rounded up).
func benchDB(b *testing.B) (*pgxpool.Pool, time.Time) {
	url := os.Getenv("ONEGRID_BENCH_DATABASE_URL")
	if url == "" {
		b.Skip("set ONEGRID_BENCH_DATABASE_URL to a database holding a generated city (onegrid gen --households 1000000)")
	}
	db, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	var end time.Time
	if err := db.QueryRow(context.Background(), `SELECT max(reported_at) FROM event`).Scan(&end); err != nil {
		b.Fatal(err)
	}
	return db, end.Truncate(time.Hour).Add(time.Hour)
}

// BenchmarkStandardRun1M is one end-to-end standard run for the whole city:
// counts from the database (last 30 days, res 9), Gi* with FDR, and storing
// the run with its cells (COPY) and alerts. Weights come from the service's
// cache after the first iteration, as they do in the scheduled job; the
// first (cold) run is logged.
func BenchmarkStandardRun1M(b *testing.B) {
	db, end := benchDB(b)
	ctx := context.Background()
	svc := hotspot.New(db, hotspot.Config{Now: func() time.Time { return end }})
	p := hotspot.Params{Res: 9, K: 1, From: end.Add(-hotspot.StandardWindow), To: end}
	run := func() *hotspot.Result {
		r, err := svc.Analyze(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Store(ctx, r, false); err != nil {
			b.Fatal(err)
		}
		return r
	}
	t0 := time.Now()
	r := run()
	b.Logf("cold: %v; %d cells, %d events, %d dropped, hot (FDR) %+v", time.Since(t0).Round(time.Millisecond), r.Summary.Cells, r.Summary.Events, r.Summary.Dropped, r.Summary.HotFDR)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

// BenchmarkAnalyzeOnly1M is BenchmarkStandardRun1M without storing.
func BenchmarkAnalyzeOnly1M(b *testing.B) {
	db, end := benchDB(b)
	ctx := context.Background()
	svc := hotspot.New(db, hotspot.Config{Now: func() time.Time { return end }})
	p := hotspot.Params{Res: 9, K: 1, From: end.Add(-hotspot.StandardWindow), To: end}
	for b.Loop() {
		if _, err := svc.Analyze(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStandardSet1M is the whole scheduled standard set: the city and
// every street, all categories and each top-level category.
func BenchmarkStandardSet1M(b *testing.B) {
	db, end := benchDB(b)
	ctx := context.Background()
	svc := hotspot.New(db, hotspot.Config{Now: func() time.Time { return end }})
	for b.Loop() {
		rep, err := svc.RunStandard(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Runs), "runs")
	}
}
