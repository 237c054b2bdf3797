package query

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/onegrid/onegrid/scope"
)

// The benchmarks run against a generated city named by ONEGRID_BENCH_DATABASE_URL
// (see README "Performance"): `onegrid gen --households 1000000`, then
//
//	ONEGRID_BENCH_DATABASE_URL='host=/tmp/queries-db/pgdata port=55004 user=onegrid dbname=onegrid' \
//	  go test ./query -run '^$' -bench . -benchtime 50x
//
// They run as the schema's owner (no row-level security) unless
// ONEGRID_BENCH_AS says otherwise, which measures what row-level security costs:
// "all" runs each operation as serve does, in its own transaction as the
// application role (ONEGRID_BENCH_APP_DATABASE_URL, e.g. user=onegrid_serve on
// the embedded database) with a whole-city scope set; "district" with the
// busiest district's scope.
func benchStore(b *testing.B) *Store {
	u := os.Getenv("ONEGRID_BENCH_DATABASE_URL")
	if u == "" {
		b.Skip("ONEGRID_BENCH_DATABASE_URL is not set: the benchmarks need a generated 1M-household city")
	}
	pool, err := pgxpool.New(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return New(pool, Config{})
}

// benchAs returns how each benchmarked operation runs: on the owner's store, or
// (ONEGRID_BENCH_AS) in a scoped transaction of the application role.
func benchAs(b *testing.B, s *Store) func(ctx context.Context, op func(*Store) error) error {
	as := os.Getenv("ONEGRID_BENCH_AS")
	if as == "" || as == "owner" {
		return func(_ context.Context, op func(*Store) error) error { return op(s) }
	}
	u := os.Getenv("ONEGRID_BENCH_APP_DATABASE_URL")
	if u == "" {
		b.Fatal("ONEGRID_BENCH_AS needs ONEGRID_BENCH_APP_DATABASE_URL (the application role)")
	}
	app, err := pgxpool.New(context.Background(), u)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.Close)
	sc := scope.Scope{UserID: 1, User: "bench", Units: []string{""}, Caps: []string{scope.CanRows, scope.CanHouseholds, scope.CanAggregates}}
	switch as {
	case "all":
	case "district":
		var d string
		if err := s.db.QueryRow(context.Background(), `SELECT left(admin_code, 6) FROM household GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&d); err != nil {
			b.Fatal(err)
		}
		sc.Units = []string{d}
	default:
		b.Fatalf("ONEGRID_BENCH_AS=%q: want owner, all or district", as)
	}
	b.Logf("running as the application role, units %q", sc.Units)
	return func(ctx context.Context, op func(*Store) error) error {
		return scope.Read(ctx, app, sc, func(db scope.ReadDB) error { return op(s.On(db, sc)) })
	}
}

var cst = time.FixedZone("CST", 8*3600)

func BenchmarkAggregate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var cats []string
	if err := s.db.QueryRow(ctx, `SELECT array_agg(code ORDER BY code) FROM event_category WHERE level = 1`).Scan(&cats); err != nil {
		b.Fatal(err)
	}
	var leaf string
	if err := s.db.QueryRow(ctx, `SELECT category_code FROM event GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`).Scan(&leaf); err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	month := Window{From: time.Date(2026, 5, 3, 7, 30, 0, 0, cst), To: time.Date(2026, 6, 2, 7, 30, 0, 0, cst)}
	year := Window{From: end.AddDate(-1, 0, 0), To: end}
	cases := []struct {
		name string
		a    Aggregate
	}{
		{"grid/30d/events", Aggregate{GroupBy: "grid", Metric: "events", Window: month}},
		{"grid/30d/events/cat1", Aggregate{GroupBy: "grid", Metric: "events", Window: month, Category: cats[0]}},
		{"grid/30d/events/leaf", Aggregate{GroupBy: "grid", Metric: "events", Window: month, Category: leaf}},
		{"micro_grid/30d/events", Aggregate{GroupBy: "micro_grid", Metric: "events", Window: month}},
		{"h3:9/30d/events", Aggregate{GroupBy: "h3", H3Res: 9, Metric: "events", Window: month}},
		{"h3:9/30d/events/cat1", Aggregate{GroupBy: "h3", H3Res: 9, Metric: "events", Window: month, Category: cats[0]}},
		{"h3:9/30d/on_time/urgent", Aggregate{GroupBy: "h3", H3Res: 9, Metric: "closed_on_time_share", Window: month, Severity: []string{"urgent"}}},
		{"grid/30d/median", Aggregate{GroupBy: "grid", Metric: "median_close_hours", Window: month}},
		{"street/year/events", Aggregate{GroupBy: "street", Metric: "events", Window: year}},
		{"street/year/events/cat1", Aggregate{GroupBy: "street", Metric: "events", Window: year, Category: cats[0]}},
		{"street/year/per1000", Aggregate{GroupBy: "street", Metric: "events_per_1000_households", Window: year}},
		{"street/year/on_time", Aggregate{GroupBy: "street", Metric: "closed_on_time_share", Window: year}},
		{"street/year/median", Aggregate{GroupBy: "street", Metric: "median_close_hours", Window: year}},
		{"street/households", Aggregate{GroupBy: "street", Metric: "households"}},
		{"micro_grid/tagged", Aggregate{GroupBy: "micro_grid", Metric: "tagged_people", Tag: "残疾人"}},
	}
	run := benchAs(b, s)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var d []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := run(ctx, func(s *Store) error { _, err := s.Aggregate(ctx, &c.a); return err }); err != nil {
					b.Fatal(err)
				}
				d = append(d, time.Since(t0))
			}
			reportQuantiles(b, d)
		})
	}
}

// BenchmarkTaggedInStreet counts the households carrying a tag in one street.
func BenchmarkTaggedInStreet(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var street, tag string
	if err := s.db.QueryRow(ctx, `SELECT a.code FROM admin_area a WHERE a.level = 'street' ORDER BY (SELECT count(*) FROM household h WHERE inside(h.admin_code, unit_prefix(a.code))) DESC LIMIT 1`).Scan(&street); err != nil {
		b.Fatal(err)
	}
	if err := s.db.QueryRow(ctx, `SELECT tag FROM household_tag_rollup GROUP BY 1 ORDER BY sum(households) DESC LIMIT 1`).Scan(&tag); err != nil {
		b.Fatal(err)
	}
	b.Logf("street %s, tag %s", street, tag)
	var d []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, _, _, err := s.TaggedHouseholds(ctx, street, tag); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t0))
	}
	reportQuantiles(b, d)
}

func BenchmarkLocate(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	var pts [][2]float64
	rows, err := s.db.Query(ctx, `SELECT ST_X(geom), ST_Y(geom) FROM address TABLESAMPLE SYSTEM (1) REPEATABLE (13) WHERE geom IS NOT NULL LIMIT 1000`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var p [2]float64
		rows.Scan(&p[0], &p[1])
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		b.Fatal("no addresses")
	}
	run := benchAs(b, s)
	i := 0
	var d []time.Duration
	for b.Loop() {
		p := pts[i%len(pts)]
		i++
		t0 := time.Now()
		if err := run(ctx, func(s *Store) error { _, err := s.Locate(ctx, p[0]+0.0003, p[1]+0.0002, time.Time{}, 100); return err }); err != nil {
			b.Fatal(fmt.Errorf("%v: %w", p, err))
		}
		d = append(d, time.Since(t0))
	}
	reportQuantiles(b, d)
}

// reportQuantiles adds the fastest and the median run: on a shared machine the
// mean mostly measures the neighbours.
func reportQuantiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[0].Microseconds())/1000, "min-ms")
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms")
}
