package tiles_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/testcity"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// cityEvent is an event for addEvents.
type cityEvent struct {
	p        [2]float64
	at       time.Time
	category string
	status   string
}

// addEvents inserts events in one statement and returns their ids.
func addEvents(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, evs []cityEvent) ([]int64, error) {
	var cats, statuses []string
	var ats []time.Time
	var lons, lats []float64
	var cells []int64
	for _, e := range evs {
		c, err := geo.CellAt(e.p[0], e.p[1], geo.StorageRes)
		if err != nil {
			return nil, err
		}
		cats, statuses, ats = append(cats, e.category), append(statuses, e.status), append(ats, e.at)
		lons, lats, cells = append(lons, e.p[0]), append(lats, e.p[1]), append(cells, c)
	}
	rows, _ := db.Query(ctx, `INSERT INTO event (category_code, severity, source, status, reported_at, closed_at, geom, h3, grid_code)
		SELECT c, 'general', 'app', s, t, CASE WHEN s IN ('closed', 'resolved') THEN t + interval '1 hour' END,
		       ST_SetSRID(ST_MakePoint(x, y), 4326), h, '440304001002G01M01'
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::float8[], $6::bigint[]) AS u(c, s, t, x, y, h)
		RETURNING id`, cats, statuses, ats, lons, lats, cells)
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// chinaDay is the China midnight d days from testcity.Now.
func chinaDay(d int) time.Time {
	c := testcity.Now.AddDate(0, 0, d).In(clock.China)
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, clock.China)
}

// spreadEvents adds n events over a few kilometres around the test city's centre,
// twelve days at known hours (with microseconds), every category of the test
// taxonomy and every status.
func spreadEvents(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, n int, seed uint64) []cityEvent {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	cats := []string{"01", "0101", "010101", "02", "0201", "020101"}
	var evs []cityEvent
	for i := range n {
		p := [2]float64{testcity.Centre[0] + (rng.Float64()-0.5)*0.08, testcity.Centre[1] + (rng.Float64()-0.5)*0.06}
		at := chinaDay(-rng.IntN(12)).Add(time.Duration(rng.IntN(24))*time.Hour + time.Duration(rng.IntN(3600e6))*time.Microsecond)
		evs = append(evs, cityEvent{p: p, at: at, category: cats[i%len(cats)], status: tiles.Statuses[(i/len(cats))%len(tiles.Statuses)]})
	}
	if _, err := addEvents(context.Background(), db, evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

// filterCases are filters the event index answers: windows cut inside days and
// at whole days, open-ended, exactly on an event's time, category prefixes of
// each taxonomy level (and of none), status sets, and combinations.
func filterCases(evs []cityEvent) []tiles.Filter {
	h := time.Hour
	onEvent := evs[len(evs)/2].at // an event exactly on a bound: in from, out of to
	windows := [][2]time.Time{
		{},
		{chinaDay(-400), chinaDay(400)},
		{chinaDay(-4), {}},
		{{}, chinaDay(-3).Add(23 * h)},
		{chinaDay(-8), chinaDay(-2)},
		{chinaDay(-9).Add(5*h + 17*time.Minute), chinaDay(-2).Add(13 * h)},
		{chinaDay(-5).Add(h + time.Nanosecond), {}},
		{chinaDay(-3).Add(2 * h), chinaDay(-3).Add(22 * h)},
		{onEvent, onEvent.Add(6 * h)},
		{onEvent.Add(-6 * h), onEvent},
		{onEvent.Add(time.Nanosecond), onEvent.Add(999 * time.Nanosecond)}, // the same microsecond as the event
		{onEvent.Add(time.Microsecond), {}},
	}
	statuses := [][]string{nil, {"dispatched", "handling", "reported"}, {"closed"}, {"cancelled", "resolved"}}
	categories := []string{"0", "01", "0101", "010101", "02", "0201", "020101", "03", "01010"}
	var fs []tiles.Filter
	for _, w := range windows {
		for _, st := range statuses {
			if w != [2]time.Time{} {
				fs = append(fs, tiles.Filter{From: w[0].UTC(), To: w[1].UTC(), Status: st})
			}
		}
	}
	for _, c := range categories {
		for _, w := range [][2]time.Time{windows[0], windows[5], windows[6]} {
			for _, st := range statuses[:2] {
				fs = append(fs, tiles.Filter{From: w[0].UTC(), To: w[1].UTC(), Category: c, Status: st})
			}
		}
	}
	for i := range fs {
		// UTC() of the zero time is not the zero Filter's.
		if fs[i].From.Equal(time.Time{}.UTC()) {
			fs[i].From = time.Time{}
		}
		if fs[i].To.Equal(time.Time{}.UTC()) {
			fs[i].To = time.Time{}
		}
	}
	return fs
}

// compareWithRows renders tile t with filter f from the service and by the
// rows-only SQL reference and reports a difference; it returns the events the
// reference counts.
func compareWithRows(t *testing.T, s *tiles.Service, tile geo.Tile, f tiles.Filter) int {
	t.Helper()
	got, err := s.Render(context.Background(), scope.System(), "events_h3", tile, f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.RenderEventsH3Rows(context.Background(), tile, f)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeJSON(t, got), decodeJSON(t, want); g != w {
		t.Errorf("%v %s:\n index %s\n rows  %s", tile, f.Key(), g, w)
	}
	n := 0
	for _, fc := range decode(t, want) {
		for _, ft := range fc.Features {
			n += int(ft.Properties["events"].(float64))
		}
	}
	return n
}

// TestEventIndexMatchesSQL: filtered events_h3 tiles drawn from the event index
// are the tiles the per-tile query over the event rows gives, in every zoom band
// of the layer, for the centre tile and (at some zooms) its neighbours.
func TestEventIndexMatchesSQL(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	evs := spreadEvents(t, db, 400, 5)
	filters := filterCases(evs)
	seen, sizes := 0, map[int]bool{}
	for _, z := range []int{5, 8, 9, 10, 11, 12, 13, 14} {
		c := at(testcity.Centre, z)
		d := 0
		if z == 10 || z == 12 || z == 14 {
			d = 1
		}
		for dx := -d; dx <= d; dx++ {
			for dy := -d; dy <= d; dy++ {
				tile := geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}
				for _, f := range filters {
					n := compareWithRows(t, s, tile, f)
					seen += n
					if dx == 0 && dy == 0 && z == 8 {
						sizes[n] = true
					}
				}
			}
		}
	}
	if seen < 10000 || len(sizes) < 20 {
		t.Errorf("%d events counted, %d distinct z8 totals over the filters: the comparison says little", seen, len(sizes))
	}
}

// TestEventIndexMatchesSQLCity does the same on a generated city, when one is
// given (ONEGRID_TILEBENCH_DATABASE_URL, as for the benchmarks): dense central
// tiles and their neighbours at every zoom band, for the screen's kinds of filter.
func TestEventIndexMatchesSQLCity(t *testing.T) {
	s := openGeneratedCity(t)
	var filters []tiles.Filter
	for _, q := range []string{
		"category=02",
		"category=0201&status=closed",
		"from=2026-10-02T03:00:00Z&to=2026-11-01T03:00:00Z",
		"from=2026-10-25&category=01&status=reported,dispatched,handling",
		"to=2025-12-01T07:30:00.5Z",
	} {
		f, err := tiles.ParseFilter(query(q))
		if err != nil {
			t.Fatal(err)
		}
		filters = append(filters, f)
	}
	events := 0
	for _, z := range []int{8, 9, 10, 11, 12, 13, 14} {
		c := at([2]float64{114.0577, 22.5431}, z)
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				for _, f := range filters {
					events += compareWithRows(t, s, geo.Tile{Z: z, X: c.X + dx, Y: c.Y + dy}, f)
				}
			}
		}
	}
	t.Logf("%d events in the tiles compared", events)
}

// TestEventIndexFresh: after every kind of committed write the next filtered tile
// is exact; inserts and updates bring the index up to date from the changed rows,
// deletes make it read the table whole.
func TestEventIndexFresh(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cached), func(t *testing.T) { testEventIndexFresh(t, cached) })
	}
}

func testEventIndexFresh(t *testing.T, cached bool) {
	cfg := tiles.Config{}
	if cached {
		cfg.CacheBytes = 16 << 20
	}
	s, conn := openCity(t, cfg)
	ctx := context.Background()
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	spreadEvents(t, db, 150, 11)
	week := tiles.Filter{From: chinaDay(-6).Add(3 * time.Hour).UTC()}
	filters := []tiles.Filter{
		week,
		{Category: "02"},
		{Category: "0101", From: chinaDay(-10).UTC(), To: chinaDay(-1).Add(7 * time.Hour).UTC()},
		{From: chinaDay(-30).UTC(), Status: []string{"closed"}},
		{To: chinaDay(-2).UTC(), Category: "01", Status: []string{"dispatched", "handling", "reported"}},
	}
	zooms := []int{8, 10, 12, 14}
	// total is the events of filter f over the tiles checked (the reference's
	// count); check compares every tile and filter.
	tile := func(z int) geo.Tile { return at(testcity.Centre, z) }
	check := func(step string) map[string]int {
		t.Helper()
		totals := map[string]int{}
		for _, z := range zooms {
			for _, f := range filters {
				var got []byte
				if cached {
					tl, err := s.Get(ctx, scope.System(), "events_h3", tile(z), f)
					if err != nil {
						t.Fatal(err)
					}
					if got, err = tl.Raw(); err != nil {
						t.Fatal(err)
					}
				} else if got, err = s.Render(ctx, scope.System(), "events_h3", tile(z), f); err != nil {
					t.Fatal(err)
				}
				want, err := s.RenderEventsH3Rows(ctx, tile(z), f)
				if err != nil {
					t.Fatal(err)
				}
				if g, w := decodeJSON(t, got), decodeJSON(t, want); g != w {
					t.Errorf("%s: z%d %s:\n index %s\n rows  %s", step, z, f.Key(), g, w)
				}
				if z == 8 {
					for _, fc := range decode(t, want) {
						for _, ft := range fc.Features {
							totals[f.Key()] += int(ft.Properties["events"].(float64))
						}
					}
				}
			}
		}
		return totals
	}
	before := check("loaded")
	full0, incr0 := s.EventIndexLoads()
	if full0 < 1 {
		t.Fatalf("event index loads: full %d, incremental %d: never read whole", full0, incr0)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// Ids of events inside the week's window, of category 0201 (under 02).
	var inWeek, cat0201 int64
	if err := db.QueryRow(ctx, `SELECT min(id) FILTER (WHERE reported_at >= $1), min(id) FILTER (WHERE category_code = '0201') FROM event`,
		week.From).Scan(&inWeek, &cat0201); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		name  string
		write func()
		full  bool   // the write needs a whole read
		moves string // a filter whose z8 count must change (Key), "" for none
	}{
		{"insert", func() {
			if _, err := addEvents(ctx, db, []cityEvent{{p: testcity.Centre, at: testcity.Now.Add(-time.Hour), category: "0201", status: "reported"}}); err != nil {
				t.Fatal(err)
			}
		}, false, filters[1].Key()},
		{"status change", func() {
			exec(`UPDATE event SET status = 'closed', closed_at = reported_at + interval '2 hours' WHERE id = (SELECT min(id) FROM event WHERE status = 'reported' AND reported_at >= $1)`, chinaDay(-30))
		}, false, filters[3].Key()},
		{"reported_at moved out of the week", func() {
			exec(`UPDATE event SET reported_at = reported_at - interval '20 days', closed_at = closed_at - interval '20 days' WHERE id = $1`, inWeek)
		}, false, week.Key()},
		{"category changed", func() {
			exec(`UPDATE event SET category_code = '010101' WHERE id = $1`, cat0201)
		}, false, filters[1].Key()},
		{"moved to another cell", func() {
			p := [2]float64{testcity.Centre[0] + 0.03, testcity.Centre[1] - 0.02}
			c, _ := geo.CellAt(p[0], p[1], geo.StorageRes)
			exec(`UPDATE event SET geom = ST_SetSRID(ST_MakePoint($1, $2), 4326), h3 = $3 WHERE id = (SELECT max(id) FROM event)`, p[0], p[1], c)
		}, false, ""},
		{"several writes in one transaction", func() {
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := addEvents(ctx, tx, []cityEvent{
				{p: testcity.Five, at: testcity.Now.Add(-2 * time.Hour), category: "020101", status: "handling"},
				{p: testcity.Four, at: testcity.Now.Add(-3 * time.Hour), category: "0101", status: "dispatched"},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Exec(ctx, `UPDATE event SET status = 'cancelled' WHERE id IN (SELECT id FROM event WHERE status = 'dispatched' ORDER BY id LIMIT 3)`); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}, false, filters[1].Key()},
		{"an update of no row", func() { exec(`UPDATE event SET status = 'closed' WHERE false`) }, false, ""},
		{"delete", func() {
			exec(`DELETE FROM event WHERE id = (SELECT min(id) FROM event WHERE starts_with(category_code, '02') AND id NOT IN (SELECT event_id FROM event_step))`)
		}, true, filters[1].Key()},
		{"delete and insert as many", func() {
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx) //nolint:errcheck
			if _, err := tx.Exec(ctx, `DELETE FROM event WHERE id = (SELECT max(id) FROM event WHERE reported_at >= $1 AND id NOT IN (SELECT event_id FROM event_step))`, week.From); err != nil {
				t.Fatal(err)
			}
			if _, err := addEvents(ctx, tx, []cityEvent{{p: testcity.Centre, at: chinaDay(-20), category: "02", status: "reported"}}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}, true, week.Key()},
		{"insert after the whole read", func() {
			if _, err := addEvents(ctx, db, []cityEvent{{p: testcity.Five, at: testcity.Now, category: "0201", status: "handling"}}); err != nil {
				t.Fatal(err)
			}
		}, false, filters[1].Key()},
	} {
		f0, i0 := s.EventIndexLoads()
		step.write()
		after := check(step.name)
		f1, i1 := s.EventIndexLoads()
		if step.full && (f1 != f0+1 || i1 != i0) || !step.full && (f1 != f0 || i1 != i0+1) {
			t.Errorf("%s: loads full %d→%d, incremental %d→%d; want one %s", step.name, f0, f1, i0, i1, map[bool]string{true: "full", false: "incremental"}[step.full])
		}
		if step.moves != "" && after[step.moves] == before[step.moves] {
			t.Errorf("%s: %s counts %d events before and after: the write did not reach the tile", step.name, step.moves, after[step.moves])
		}
		before = after
	}
}

// TestEventIndexConcurrent: filtered tiles requested while events are written
// (run it with -race): no request fails, and each tile rendered after a write
// committed shows it.
func TestEventIndexConcurrent(t *testing.T) {
	s, conn := openCity(t, tiles.Config{})
	ctx := context.Background()
	db, err := pgxConnect(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	spreadEvents(t, db, 100, 17)
	filters := []tiles.Filter{
		{Category: "01"},
		{From: chinaDay(-5).Add(90 * time.Minute).UTC()},
		{Category: "02", To: chinaDay(-1).UTC(), Status: []string{"reported"}},
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				z := []int{8, 10, 12, 13}[(i+r)%4]
				if _, err := s.Render(ctx, scope.System(), "events_h3", at(testcity.Centre, z), filters[(i+r)%len(filters)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 20 {
		switch i % 4 {
		case 0, 1:
			if _, err := addEvents(ctx, db, []cityEvent{{p: testcity.Centre, at: testcity.Now.Add(-time.Duration(i) * time.Hour), category: "0101", status: "reported"}}); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := db.Exec(ctx, `UPDATE event SET status = 'handling' WHERE id = (SELECT max(id) FROM event WHERE status = 'reported')`); err != nil {
				t.Fatal(err)
			}
		case 3:
			if _, err := db.Exec(ctx, `DELETE FROM event WHERE id = (SELECT max(id) FROM event WHERE id NOT IN (SELECT event_id FROM event_step))`); err != nil {
				t.Fatal(err)
			}
		}
		compareWithRows(t, s, at(testcity.Centre, 10), filters[i%len(filters)])
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, f := range filters {
		compareWithRows(t, s, at(testcity.Centre, 12), f)
	}
}
