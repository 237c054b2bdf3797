package tiles_test

import (
	"context"
	"math/rand/v2"
	"net/url"
	"testing"
	"time"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// compareEvents renders the events layer over a square of tiles around centre at
// z15-z17, encoded by the service and by ST_AsMVT, unfiltered and filtered, and
// compares them decoded: the same points (to the unit) with the same properties.
func compareEvents(t *testing.T, s *tiles.Service, centre [2]float64, radius int) int {
	t.Helper()
	n := 0
	for z := 15; z <= 17; z++ {
		c := at(centre, z)
		for dx := -radius; dx <= radius; dx++ {
			for dy := -radius; dy <= radius; dy++ {
				tile := geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}
				for _, q := range []string{"", "status=reported,closed", "category=01&from=2026-01-01T00:00:00Z", "to=2026-10-01T00:00:00Z&status=dispatched,handling"} {
					v, _ := url.ParseQuery(q)
					f, err := tiles.ParseFilter(v)
					if err != nil {
						t.Fatal(err)
					}
					got, err := s.Render(context.Background(), scope.System(), "events", tile, f)
					if err != nil {
						t.Fatal(err)
					}
					want, err := s.RenderEventsBySQL(context.Background(), tile, f)
					if err != nil {
						t.Fatal(err)
					}
					w := decode(t, want)
					t.Run(tile.String()+"?"+q, func(t *testing.T) { compareTiles(t, decode(t, got), w) })
					for _, fc := range w {
						n += len(fc.Features)
					}
				}
			}
		}
	}
	return n
}

// TestEventsMatchPostGIS: the service encodes event points as ST_AsMVT did.
func TestEventsMatchPostGIS(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	for i := range 40 {
		p := [2]float64{testcity.Centre[0] + float64(i%7-3)*0.0007, testcity.Centre[1] + float64(i/7-3)*0.0007}
		if _, err := testcity.AddEvent(context.Background(), db, p); err != nil {
			t.Fatal(err)
		}
	}
	if n := compareEvents(t, s, testcity.Centre, 1); n < 100 {
		t.Fatalf("only %d features compared", n)
	}
}

// TestEventsMatchPostGISCity does the same on a generated city, when one is given
// (ONEGRID_TILEBENCH_DATABASE_URL, as for the benchmarks).
func TestEventsMatchPostGISCity(t *testing.T) {
	s := openGeneratedCity(t)
	t.Logf("%d features compared", compareEvents(t, s, [2]float64{114.016, 22.554}, 1))
}

// TestAgeDaysMatchesPostgres: the events layer's age_days, now worked out by the
// server, is PostgreSQL's floor(date_part('epoch', now - reported_at) / 86400),
// including around day boundaries and for reports in the future.
func TestAgeDaysMatchesPostgres(t *testing.T) {
	db, err := pgxConnect(pgtest.ConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	const day = 86_400_000_000
	now := int64(849_000_000_000_000) // microseconds since 2000-01-01, late 2026
	rng := rand.New(rand.NewPCG(1, 2))
	var ages []int64
	for i := range 2000 {
		var d int64
		switch i % 4 {
		case 0: // anywhere within two years either side
			d = rng.Int64N(4*365*day) - 2*365*day
		case 1: // within a microsecond of a whole day
			d = int64(rng.IntN(800)-400)*day + rng.Int64N(3) - 1
		case 2:
			d = rng.Int64N(2*day) - day
		default:
			d = int64(rng.IntN(400)) * day
		}
		ages = append(ages, d)
	}
	at := func(us int64) time.Time { return time.UnixMicro(us + 946_684_800_000_000) }
	var reported []time.Time
	for _, d := range ages {
		reported = append(reported, at(now-d))
	}
	rows, err := db.Query(context.Background(), `
		SELECT floor(date_part('epoch', $1::timestamptz - r) / 86400)::bigint
		FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(r, i) ORDER BY i`, at(now), reported)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for rows.Next() {
		var w int64
		if err := rows.Scan(&w); err != nil {
			t.Fatal(err)
		}
		want = append(want, w)
	}
	if rows.Err() != nil || len(want) != len(ages) {
		t.Fatalf("%d rows, %v", len(want), rows.Err())
	}
	for i, d := range ages {
		if got := tiles.AgeDays(now, now-d); got != want[i] {
			t.Errorf("age of %d us: got %d, PostgreSQL says %d", d, got, want[i])
		}
	}
}
