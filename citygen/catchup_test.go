package citygen_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// The catch-up tests' city: two months of events ending E0, at six events per
// household a year so that the gap holds a few thousand events.
var (
	catchUpOpts = citygen.Options{Households: 2000, Seed: 11, Months: 2, EventsPerHousehold: 6, Hotspots: 3,
		End: time.Date(2026, 3, 1, 0, 0, 0, 0, clock.China)}
	// E1 is 75 days and 13 hours later: a mid-day end.
	catchUpEnd = time.Date(2026, 5, 15, 13, 0, 0, 0, clock.China)
)

func generateForCatchUp(t *testing.T) (*pgxpool.Pool, citygen.Truth) {
	t.Helper()
	pool := pgtest.New(t)
	o := catchUpOpts
	o.TruthPath = filepath.Join(t.TempDir(), "truth.json")
	if _, err := citygen.Generate(context.Background(), pool, o); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	b, err := os.ReadFile(o.TruthPath)
	if err != nil {
		t.Fatal(err)
	}
	var tr citygen.Truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	return pool, tr
}

func count(t *testing.T, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// chi2Crit is the 0.1 % upper critical value of χ² with df degrees of freedom
// (Wilson–Hilferty).
func chi2Crit(df int) float64 {
	k := float64(df)
	z := 3.09
	return k * math.Pow(1-2/(9*k)+z*math.Sqrt(2/(9*k)), 3)
}

// chi2 compares observed counts with expected shares (normalised here).
func chi2(t *testing.T, what string, observed map[string]float64, share map[string]float64) {
	t.Helper()
	var n, s float64
	for _, o := range observed {
		n += o
	}
	for _, w := range share {
		s += w
	}
	stat := 0.0
	for k, w := range share {
		e := n * w / s
		stat += (observed[k] - e) * (observed[k] - e) / e
	}
	for k, o := range observed {
		if _, ok := share[k]; !ok && o > 0 {
			t.Errorf("%s: %g events in %q, which the model never draws", what, o, k)
		}
	}
	if crit := chi2Crit(len(share) - 1); stat > crit {
		t.Errorf("%s: χ² = %.1f over %d classes > %.1f (p < 0.001): %v, want shares %v", what, stat, len(share), crit, observed, share)
	} else {
		t.Logf("%s: χ² = %.1f over %d classes (0.1 %% critical %.1f)", what, stat, len(share), crit)
	}
}

func groupCounts(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) map[string]float64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out := map[string]float64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = float64(n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedEvents is the model's mean number of events in [from, to) computed
// from its parameters alone: the generated period's rate per household for the
// background (EventsPerHousehold a year for 12 months: Months/12 of it over the
// generated period's length), and each hotspot's monthly extra shared evenly
// over the days of each China-time month.
func expectedEvents(tr citygen.Truth, o citygen.Options, from, to time.Time) (background, hotspots float64) {
	period := tr.PeriodEnd.Sub(tr.PeriodStart).Seconds()
	background = float64(tr.Households) * o.EventsPerHousehold * float64(o.Months) / 12 * to.Sub(from).Seconds() / period
	for t := from; t.Before(to); {
		t = t.In(clock.China)
		monthStart := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, clock.China)
		monthEnd := monthStart.AddDate(0, 1, 0)
		until := monthEnd
		if to.Before(until) {
			until = to
		}
		for _, h := range tr.Hotspots {
			hotspots += h.ExtraPerMonth * until.Sub(t).Seconds() / monthEnd.Sub(monthStart).Seconds()
		}
		t = until
	}
	return background, hotspots
}

func within(t *testing.T, what string, got, mean float64) {
	t.Helper()
	if sd := math.Sqrt(mean); math.Abs(got-mean) > 4*sd {
		t.Errorf("%s: %g, want %.1f ± %.1f (4 sd)", what, got, mean, 4*sd)
	} else {
		t.Logf("%s: %g (mean %.1f, sd %.1f)", what, got, mean, sd)
	}
}

// TestCatchUp generates a city whose events end in the past and brings it up to
// a later end: the new events cover exactly the gap, as many and distributed as
// the model says (computed here from its parameters), the planted hotspots go
// on, earlier open events move on, the roll-ups are what derived_rebuild
// computes, the tile versions move, and a second catch-up adds nothing.
func TestCatchUp(t *testing.T) {
	pool, tr := generateForCatchUp(t)
	ctx := context.Background()
	e0, e1 := catchUpOpts.End, catchUpEnd
	// An open event of the city's dataset written through the event write path
	// (no dataset_id, as the demo pulse writes them): the loop moves it, not a
	// catch-up.
	var live int64
	if err := pool.QueryRow(ctx, `INSERT INTO event (category_code, severity, source, status, title, reported_at, deadline, geom, h3,
			admin_code, grid_code, grid_version, dataset)
		SELECT category_code, severity, source, 'reported', title, $1::timestamptz - interval '10 days', $1::timestamptz - interval '9 days',
			geom, h3, admin_code, grid_code, grid_version, dataset FROM event ORDER BY id LIMIT 1
		RETURNING id`, e0).Scan(&live); err != nil {
		t.Fatal(err)
	}
	before := count(t, pool, "SELECT count(*) FROM event")
	openBefore := count(t, pool, "SELECT count(*) FROM event WHERE status IN ('reported', 'dispatched', 'handling') AND dataset_id IS NOT NULL")
	var version int64
	if err := pool.QueryRow(ctx, "SELECT version FROM tile_layer_version WHERE layer = 'events'").Scan(&version); err != nil {
		t.Fatal(err)
	}

	sum, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{Now: clock.Fixed(e1)})
	if err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	if !sum.From.Equal(e0) || !sum.To.Equal(e1) || sum.Inferred {
		t.Errorf("caught up %v – %v (inferred %v), want %v – %v", sum.From, sum.To, sum.Inferred, e0, e1)
	}
	added := count(t, pool, "SELECT count(*) FROM event WHERE reported_at >= $1", e0)
	if got := count(t, pool, "SELECT count(*) FROM event"); got != before+added || added != sum.Events {
		t.Errorf("events: %d before, %d after, %d reported since %v, summary %d", before, got, added, e0, sum.Events)
	}
	if n := count(t, pool, "SELECT count(*) FROM event WHERE reported_at >= $1", e1); n != 0 {
		t.Errorf("%d events reported at or after the end %v", n, e1)
	}

	t.Run("counts", func(t *testing.T) {
		bg, hot := expectedEvents(tr, catchUpOpts, e0, e1)
		within(t, "background events in the gap", float64(count(t, pool, "SELECT count(*) FROM event WHERE reported_at >= $1 AND dataset_id LIKE 'c%'", e0)), bg)
		within(t, "hotspot events in the gap", float64(sum.HotspotEvents), hot)
		if n := count(t, pool, "SELECT count(*) FROM event WHERE reported_at >= $1 AND dataset_id LIKE 'h%'", e0); n != sum.HotspotEvents {
			t.Errorf("%d hotspot events stored, summary says %d", n, sum.HotspotEvents)
		}
		// Week by week: the gap is covered throughout, not only on average.
		for w := e0; w.Before(e1); w = w.AddDate(0, 0, 7) {
			end := w.AddDate(0, 0, 7)
			if end.After(e1) {
				end = e1
			}
			b, _ := expectedEvents(tr, catchUpOpts, w, end)
			within(t, "background events from "+w.Format(time.DateOnly),
				float64(count(t, pool, "SELECT count(*) FROM event WHERE reported_at >= $1 AND reported_at < $2 AND dataset_id LIKE 'c%'", w, end)), b)
		}
	})

	t.Run("same model", func(t *testing.T) {
		const gap = "FROM event WHERE reported_at >= $1 AND dataset_id LIKE 'c%'"
		shares := map[string]float64{}
		for _, c := range citygen.Categories() {
			if c.Level == 3 {
				shares[c.Code[:2]] += c.Weight
			}
		}
		chi2(t, "level-1 categories", groupCounts(t, pool, "SELECT left(category_code, 2), count(*) "+gap+" GROUP BY 1", e0), shares)
		chi2(t, "severities", groupCounts(t, pool, "SELECT severity, count(*) "+gap+" GROUP BY 1", e0),
			map[string]float64{"urgent": 0.05, "important": 0.15, "general": 0.80})
		chi2(t, "sources", groupCounts(t, pool, "SELECT source, count(*) "+gap+" GROUP BY 1", e0),
			map[string]float64{"patrol": 0.45, "hotline": 0.20, "app": 0.15, "qr": 0.12, "sensor": 0.08})
		// Hours of the day in China time, uniform over the time covered: the
		// last, partial day covers 0:00–13:00.
		hours := map[string]float64{}
		for h := range 24 {
			hours[fmt.Sprint(h)] = float64(int(e1.Sub(e0).Hours()) / 24)
			if h < e1.Hour() {
				hours[fmt.Sprint(h)]++
			}
		}
		chi2(t, "hours", groupCounts(t, pool, "SELECT extract(hour FROM reported_at AT TIME ZONE 'Asia/Shanghai')::int::text, count(*) "+gap+" GROUP BY 1", e0), hours)
		// Places: per street in proportion to its households.
		chi2(t, "streets", groupCounts(t, pool, "SELECT left(admin_code, 9), count(*) "+gap+" GROUP BY 1", e0),
			groupCounts(t, pool, "SELECT left(admin_code, 9), count(*) FROM household GROUP BY 1"))
		// Residents' reports (hotline, app) come from a room of the building, the
		// others from the building's address.
		if n := count(t, pool, `SELECT count(*) FROM event e JOIN address a ON a.id = e.address_id
			WHERE e.reported_at >= $1 AND (a.level = 'room') <> (e.source IN ('hotline', 'app'))`, e0); n != 0 {
			t.Errorf("%d new events whose address level does not fit their source", n)
		}
	})

	t.Run("hotspots continue", func(t *testing.T) {
		for _, h := range tr.Hotspots {
			var in, city float64
			err := pool.QueryRow(ctx, `
				SELECT (SELECT count(*) FROM event WHERE category_code = $4 AND reported_at >= $5
				          AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3 + 5))::float8
				       / greatest(1, (SELECT count(*) FROM household hh JOIN address a ON a.id = hh.address_id
				          WHERE ST_DWithin(a.geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3 + 5))),
				       (SELECT count(*) FROM event WHERE category_code = $4 AND reported_at >= $5)::float8 / (SELECT count(*) FROM household)`,
				h.Lon, h.Lat, h.RadiusM, h.CategoryCode, e0).Scan(&in, &city)
			if err != nil {
				t.Fatal(err)
			}
			if in < 3*city {
				t.Errorf("hotspot %d (%s): rate inside %.4f, city %.4f per household in the gap", h.ID, h.Category, in, city)
			}
		}
	})

	t.Run("invariants", func(t *testing.T) {
		for _, inv := range invariants {
			if n := count(t, pool, inv.sql); n != 0 {
				t.Errorf("%s: %d violations", inv.name, n)
			}
		}
	})

	t.Run("earlier events moved on", func(t *testing.T) {
		if sum.Closed == 0 {
			t.Error("no earlier event was closed")
		}
		for what, sql := range map[string]string{
			"open without a close time after the end": `SELECT count(*) FROM event e WHERE status IN ('reported', 'dispatched', 'handling')
				AND dataset_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM citygen_pending p WHERE p.dataset_id = e.dataset_id AND p.closes_at > $1)`,
			"closed after the end":                       `SELECT count(*) FROM event WHERE closed_at >= $1`,
			"resolved more than 48 hours before the end": `SELECT count(*) FROM event WHERE status = 'resolved' AND closed_at <= $1::timestamptz - interval '48 hours'`,
			"closed within 48 hours of the end":          `SELECT count(*) FROM event WHERE status = 'closed' AND closed_at > $1::timestamptz - interval '48 hours'`,
			"pending rows of closed events or passed":    `SELECT count(*) FROM citygen_pending p JOIN event e ON e.dataset_id = p.dataset_id WHERE e.closed_at IS NOT NULL OR p.closes_at <= $1`,
		} {
			if n := count(t, pool, sql, e1); n != 0 {
				t.Errorf("%s: %d events", what, n)
			}
		}
		if n := count(t, pool, "SELECT count(*) FROM event WHERE id = $1 AND status = 'reported'", live); n != 1 {
			t.Error("a catch-up moved on an event written through the event write path")
		}
		// The same process at the same rate: as many open at E1 as at E0.
		openAfter := count(t, pool, "SELECT count(*) FROM event WHERE status IN ('reported', 'dispatched', 'handling') AND dataset_id IS NOT NULL")
		if d := math.Abs(float64(openAfter - openBefore)); d > 4*math.Sqrt(float64(openAfter+openBefore)) {
			t.Errorf("open events: %d at the generated end, %d after catching up", openBefore, openAfter)
		}
	})

	t.Run("roll-ups and tiles", func(t *testing.T) {
		var v int64
		if err := pool.QueryRow(ctx, "SELECT version FROM tile_layer_version WHERE layer = 'events'").Scan(&v); err != nil || v <= version {
			t.Errorf("events tile version %d after catching up, %d before (%v)", v, version, err)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx) //nolint:errcheck
		triggered := snapshotDerived(t, ctx, tx)
		repInCell(t, ctx, tx, "catch-up")
		if _, err := tx.Exec(ctx, "SELECT derived_rebuild()"); err != nil {
			t.Fatal(err)
		}
		rebuilt := snapshotDerived(t, ctx, tx)
		for _, d := range derivedTables {
			diffApprox(t, d.name+" (catch-up vs derived_rebuild)", rebuilt[d.name], triggered[d.name])
		}
	})

	t.Run("twice adds nothing", func(t *testing.T) {
		sums := checksums(t, pool)
		for _, end := range []time.Time{e1, e1.Add(-time.Hour), e0} {
			again, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{End: end})
			if err != nil {
				t.Fatal(err)
			}
			if again.Events != 0 || again.Closed != 0 || again.Advanced != 0 || !again.From.Equal(e1) || !again.To.Equal(e1) {
				t.Errorf("catch-up to %v again: %+v", end, again)
			}
		}
		for table, s := range checksums(t, pool) {
			if sums[table] != s {
				t.Errorf("%s changed by a catch-up with nothing to do", table)
			}
		}
	})
}

// TestCatchUpInSteps: catching up in two steps adds the same events as in one
// (their statuses aside, which depend on when they are looked at).
func TestCatchUpInSteps(t *testing.T) {
	ctx := context.Background()
	events := func(pool *pgxpool.Pool) []string {
		rows, err := pool.Query(ctx, `SELECT concat_ws(',', dataset_id, category_code, severity, source, title,
				reported_at, happened_at, deadline, escalation, address_id, ST_AsEWKT(geom), h3, admin_code, grid_code, grid_version)
			FROM event WHERE reported_at >= $1 ORDER BY dataset_id`, catchUpOpts.End)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one, _ := generateForCatchUp(t)
	if _, err := citygen.CatchUp(ctx, one, citygen.CatchUpOptions{End: catchUpEnd}); err != nil {
		t.Fatal(err)
	}
	two, _ := generateForCatchUp(t)
	mid := catchUpOpts.End.AddDate(0, 0, 30).Add(7*time.Hour + 11*time.Minute)
	for _, end := range []time.Time{mid, catchUpEnd} {
		if _, err := citygen.CatchUp(ctx, two, citygen.CatchUpOptions{End: end}); err != nil {
			t.Fatal(err)
		}
	}
	if a := events(one); len(a) == 0 {
		t.Error("no events added")
	} else {
		diff(t, "events added in two steps (one step)", a, events(two))
	}
}

// TestCatchUpInferred: a city generated before the model was recorded (no
// citygen_city row) is caught up with the model read from its rows and its
// truth file, which is then recorded.
func TestCatchUpInferred(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	if _, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{End: catchUpEnd}); !errors.Is(err, citygen.ErrNoCity) {
		t.Fatalf("CatchUp of an empty database: %v, want ErrNoCity", err)
	}
	o := catchUpOpts
	o.TruthPath = filepath.Join(t.TempDir(), "truth.json")
	if _, err := citygen.Generate(ctx, pool, o); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM citygen_city; DELETE FROM citygen_pending"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.TruthPath)
	if err != nil {
		t.Fatal(err)
	}
	var tr citygen.Truth
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	sum, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{End: catchUpEnd, TruthPath: o.TruthPath})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Inferred || !sum.From.Equal(o.End) || sum.HotspotEvents == 0 {
		t.Errorf("summary %+v: want inferred, from %v, with hotspot events", sum, o.End)
	}
	var (
		seed               int64
		households, months int
		eph                float64
		recorded           bool
		hotspots           int
	)
	if err := pool.QueryRow(ctx, `SELECT seed, households, months, events_per_household, recorded, jsonb_array_length(hotspots)
		FROM citygen_city`).Scan(&seed, &households, &months, &eph, &recorded, &hotspots); err != nil {
		t.Fatal(err)
	}
	// The rate read from a sample of about 2,000 events: within 4 sd of 6.
	if uint64(seed) != o.Seed || households != o.Households || months != o.Months || recorded || hotspots != len(tr.Hotspots) ||
		math.Abs(eph-o.EventsPerHousehold) > 4*o.EventsPerHousehold/math.Sqrt(float64(o.Households)*o.EventsPerHousehold*float64(o.Months)/12) {
		t.Errorf("inferred seed %d, households %d, months %d, rate %.3f, recorded %v, %d hotspots; want %d, %d, %d, about %g, false, %d",
			seed, households, months, eph, recorded, hotspots, o.Seed, o.Households, o.Months, o.EventsPerHousehold, len(tr.Hotspots))
	}
	bg, hot := expectedEvents(tr, catchUpOpts, o.End, catchUpEnd)
	within(t, "events in the gap", float64(sum.Events), bg+hot)
	if n := count(t, pool, `SELECT count(*) FROM event WHERE status IN ('reported', 'dispatched', 'handling') AND reported_at < $1`, catchUpEnd.AddDate(0, 0, -30)); n != 0 {
		t.Errorf("%d events reported more than 30 days before the end are still open", n)
	}
}

// TestGenerateEndsAtTheClock: without End, the period ends at the clock's
// reading, in China time, and that is recorded for the catch-up.
func TestGenerateEndsAtTheClock(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t)
	now := time.Date(2027, 2, 3, 4, 5, 6, 789, time.UTC)
	if _, err := citygen.Generate(ctx, pool, citygen.Options{Households: 1000, Seed: 2, Now: clock.Fixed(now)}); err != nil {
		t.Fatal(err)
	}
	var last, end, start time.Time
	if err := pool.QueryRow(ctx, `SELECT (SELECT max(reported_at) FROM event), period_end, period_start FROM citygen_city`).Scan(&last, &end, &start); err != nil {
		t.Fatal(err)
	}
	want := now.Truncate(time.Second)
	if !end.Equal(want) || !last.Before(want) || last.Before(want.Add(-24*time.Hour)) ||
		!start.Equal(time.Date(2026, 2, 3, 12, 5, 6, 0, clock.China)) {
		t.Errorf("period %v – %v, last event %v; want the period to end at %v (a year from 2026-02-03 12:05:06 China time)", start, end, last, want)
	}
	if _, err := citygen.Generate(ctx, pgtest.New(t), citygen.Options{Households: 1000}); err == nil {
		t.Error("Generate without End or Now: no error")
	}
}

// diffApprox is diff with numbers equal to 1e-9 relative: sums of close hours
// that the triggers kept by adding and subtracting may differ from a fresh sum
// in the last digits.
func diffApprox(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range min(len(want), len(got)) {
		w, g := strings.Split(want[i], ","), strings.Split(got[i], ",")
		same := len(w) == len(g)
		for j := 0; same && j < len(w); j++ {
			if w[j] == g[j] {
				continue
			}
			a, errA := strconv.ParseFloat(strings.Trim(w[j], "()"), 64)
			b, errB := strconv.ParseFloat(strings.Trim(g[j], "()"), 64)
			same = errA == nil && errB == nil && math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
		}
		if !same {
			t.Errorf("%s: row %d is\n  %s\nwant\n  %s", what, i, got[i], want[i])
			return
		}
	}
}

// TestCatchUpAfterLiveEvents: the demo pulse files its events under the city's
// dataset without a generator key (dataset_id NULL). A catch-up that starts in
// the middle of a day reads that day's generated keys, and must pass over them
// (a second make demo failed with "cannot scan NULL into *string").
func TestCatchUpAfterLiveEvents(t *testing.T) {
	pool, _ := generateForCatchUp(t)
	ctx := context.Background()
	midday := catchUpOpts.End.Add(36 * time.Hour)
	if _, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{End: midday}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO event (category_code, severity, source, status, title, reported_at, deadline, geom, h3,
			admin_code, grid_code, grid_version, dataset)
		SELECT category_code, severity, source, 'reported', title, $1::timestamptz - interval '1 minute', $1::timestamptz + interval '1 day',
			geom, h3, admin_code, grid_code, grid_version, dataset FROM event ORDER BY id LIMIT 1`, midday); err != nil {
		t.Fatal(err)
	}
	before := count(t, pool, "SELECT count(*) FROM event WHERE dataset_id IS NULL")
	sum, err := citygen.CatchUp(ctx, pool, citygen.CatchUpOptions{End: midday.Add(24 * time.Hour)})
	if err != nil {
		t.Fatalf("catch up after a live event on the day it starts: %v", err)
	}
	if sum.Events == 0 {
		t.Error("a day of catch-up added no events")
	}
	if after := count(t, pool, "SELECT count(*) FROM event WHERE dataset_id IS NULL"); after != before {
		t.Errorf("events without a generator key: %d before, %d after", before, after)
	}
}
