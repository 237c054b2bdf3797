package event_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// fixtureDB is a fresh database holding the fixture city.
func fixtureDB(t *testing.T) (*pgxpool.Pool, *fixture.City) {
	t.Helper()
	db := pgtest.New(t)
	city := fixture.New()
	if err := city.Load(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db, city
}

// stored is an event row as the database holds it.
type stored struct {
	Category, Severity, Source, Status, Title string
	ReportedAt, Deadline                      time.Time
	Lon, Lat                                  float64
	H3                                        int64
	AdminCode, GridCode, Dataset              *string
	GridVersion                               *int
	AddressID                                 *int64
	ClosedAt                                  *time.Time
	Satisfaction                              *int
}

func load(t *testing.T, db event.DB, id int64) stored {
	t.Helper()
	var s stored
	err := db.QueryRow(context.Background(), `SELECT category_code, severity, source, status, title, reported_at, deadline,
		ST_X(geom), ST_Y(geom), h3, admin_code, grid_code, dataset, grid_version, address_id, closed_at, satisfaction
		FROM event WHERE id = $1`, id).Scan(&s.Category, &s.Severity, &s.Source, &s.Status, &s.Title, &s.ReportedAt, &s.Deadline,
		&s.Lon, &s.Lat, &s.H3, &s.AdminCode, &s.GridCode, &s.Dataset, &s.GridVersion, &s.AddressID, &s.ClosedAt, &s.Satisfaction)
	if err != nil {
		t.Fatalf("event %d: %v", id, err)
	}
	return s
}

type step struct {
	At            time.Time
	Status, Actor string
	Note          string
}

func steps(t *testing.T, db event.DB, id int64) []step {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT at, status, actor, note FROM event_step WHERE event_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (step, error) {
		var s step
		err := r.Scan(&s.At, &s.Status, &s.Actor, &s.Note)
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// communityAt is the fixture community containing p, by arithmetic on its rectangles.
func communityAt(c *fixture.City, p orb.Point) string {
	for _, a := range c.Areas {
		if a.Level == "community" && a.Bound.Contains(p) {
			return a.Code
		}
	}
	return ""
}

func limitOf(c *fixture.City, code string) int {
	for _, k := range c.Categories {
		if k.Code == code {
			return k.LimitHours
		}
	}
	return -1
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestCreate(t *testing.T) {
	t.Parallel()
	db, city := fixtureDB(t)
	ctx := context.Background()
	// The share of a category's limit each severity gets, written out here.
	share := map[string]float64{"general": 1, "important": 0.5, "urgent": 0.25}
	var roomAddr fixture.Address
	for _, a := range city.Addresses {
		if a.Level == "room" && a.GridCode == "44030400200100202" {
			roomAddr = a
			break
		}
	}
	for _, tc := range []struct {
		name     string
		r        event.Report
		inGrid   bool
		wantDate time.Time // the time the grid version is looked up at
	}{
		{"point in a micro-grid", event.Report{Category: "010101", Severity: "urgent", Source: "patrol", Title: " 垃圾堆放 ", Point: &[2]float64{114.003, 22.511}, At: city.Now, Actor: "grid worker"}, true, city.Now},
		{"severity defaults to general", event.Report{Category: "030101", Source: "hotline", Point: &[2]float64{114.017, 22.513}, At: city.Now.Add(-time.Hour)}, true, city.Now},
		{"the grid current at the reported time, before a redraw", event.Report{Category: "020101", Severity: "important", Source: "app",
			Point: &[2]float64{114.035, 22.515}, At: city.Redrawn.Add(-24 * time.Hour)}, true, city.Redrawn.Add(-24 * time.Hour)},
		{"the same place after the redraw", event.Report{Category: "020101", Severity: "important", Source: "app",
			Point: &[2]float64{114.035, 22.515}, At: city.Redrawn.Add(24 * time.Hour)}, true, city.Redrawn.Add(24 * time.Hour)},
		{"an address without a point takes its point", event.Report{Category: "0102", Source: "qr", AddressID: roomAddr.ID, At: city.Now, Dataset: "fixture"}, true, city.Now},
		{"outside every grid: kept, unlinked", event.Report{Category: "01", Source: "sensor", Point: &[2]float64{113.95, 22.49}, At: city.Now}, false, city.Now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := event.Create(ctx, db, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			got := load(t, db, id)
			p := orb.Point{}
			if tc.r.Point != nil {
				p = orb.Point{tc.r.Point[0], tc.r.Point[1]}
			} else {
				p = roomAddr.Point
			}
			sev := tc.r.Severity
			if sev == "" {
				sev = "general"
			}
			limit := time.Duration(float64(limitOf(city, tc.r.Category)) * share[sev] * float64(time.Hour))
			cell, err := geo.CellAt(p[0], p[1], 12)
			if err != nil {
				t.Fatal(err)
			}
			if got.Category != tc.r.Category || got.Severity != sev || got.Source != tc.r.Source || got.Status != "reported" ||
				got.Title != strings.TrimSpace(tc.r.Title) || !got.ReportedAt.Equal(tc.r.At) || !got.Deadline.Equal(tc.r.At.Add(limit)) {
				t.Errorf("stored %+v, want category %s severity %s deadline %s", got, tc.r.Category, sev, tc.r.At.Add(limit))
			}
			if math.Abs(got.Lon-p[0]) > 1e-9 || math.Abs(got.Lat-p[1]) > 1e-9 || got.H3 != cell {
				t.Errorf("point (%g, %g) cell %x, want (%g, %g) cell %x", got.Lon, got.Lat, got.H3, p[0], p[1], cell)
			}
			if tc.r.AddressID != 0 && (got.AddressID == nil || *got.AddressID != tc.r.AddressID) {
				t.Errorf("address %v, want %d", got.AddressID, tc.r.AddressID)
			}
			if str(got.Dataset) != tc.r.Dataset {
				t.Errorf("dataset %q, want %q", str(got.Dataset), tc.r.Dataset)
			}
			g, ok := city.GridAt(p, tc.wantDate, "micro_grid")
			if ok != tc.inGrid {
				t.Fatalf("test point %v: in a micro-grid %v, want %v", p, ok, tc.inGrid)
			}
			if !ok {
				if got.GridCode != nil || got.GridVersion != nil || got.AdminCode != nil {
					t.Errorf("links %s v%v %s, want none outside every grid", str(got.GridCode), got.GridVersion, str(got.AdminCode))
				}
			} else if str(got.GridCode) != g.Code || got.GridVersion == nil || *got.GridVersion != g.Version || str(got.AdminCode) != communityAt(city, p) {
				t.Errorf("linked to %s v%v in %s, want %s v%d in %s", str(got.GridCode), got.GridVersion, str(got.AdminCode), g.Code, g.Version, communityAt(city, p))
			}
			st := steps(t, db, id)
			if len(st) != 1 || st[0].Status != "reported" || !st[0].At.Equal(tc.r.At) || st[0].Actor != tc.r.Actor {
				t.Errorf("steps %+v, want one 'reported' at %s by %q", st, tc.r.At, tc.r.Actor)
			}
		})
	}
}

func TestCreateRejects(t *testing.T) {
	t.Parallel()
	db, city := fixtureDB(t)
	ctx := context.Background()
	var before int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM event`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	good := func() event.Report {
		return event.Report{Category: "010101", Source: "patrol", Point: &[2]float64{114.003, 22.511}, At: city.Now}
	}
	pt := func(lon, lat float64) *[2]float64 { return &[2]float64{lon, lat} }
	for _, tc := range []struct {
		field string
		edit  func(*event.Report)
	}{
		{"category", func(r *event.Report) { r.Category = "" }},
		{"category", func(r *event.Report) { r.Category = "999999" }},
		{"severity", func(r *event.Report) { r.Severity = "big" }},
		{"source", func(r *event.Report) { r.Source = "" }},
		{"source", func(r *event.Report) { r.Source = "fax" }},
		{"title", func(r *event.Report) { r.Title = strings.Repeat("字", 201) }},
		{"title", func(r *event.Report) { r.Title = "\xff" }},
		{"actor", func(r *event.Report) { r.Actor = strings.Repeat("a", 101) }},
		{"at", func(r *event.Report) { r.At = time.Time{} }},
		{"point", func(r *event.Report) { r.Point = nil }},
		{"point", func(r *event.Report) { r.Point = pt(181, 22) }},
		{"point", func(r *event.Report) { r.Point = pt(114, -91) }},
		{"point", func(r *event.Report) { r.Point = pt(math.NaN(), 22) }},
		{"point", func(r *event.Report) { r.Point = pt(114, math.Inf(1)) }},
		{"address_id", func(r *event.Report) { r.AddressID = 99999999 }},
		{"address_id", func(r *event.Report) { r.AddressID = -1 }},
	} {
		r := good()
		tc.edit(&r)
		_, err := event.Create(ctx, db, r)
		var ie *event.InputError
		if !errors.As(err, &ie) || ie.Field != tc.field {
			t.Errorf("%+v: error %v, want an input error on %s", r, err, tc.field)
		}
	}
	// A title of exactly the limit is fine: characters, not bytes.
	r := good()
	r.Title = strings.Repeat("字", 200)
	if _, err := event.Create(ctx, db, r); err != nil {
		t.Errorf("200-character title: %v", err)
	}
	var after int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM event`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Errorf("%d events written, want only the good one", after-before)
	}
}

func TestLoop(t *testing.T) {
	t.Parallel()
	db, city := fixtureDB(t)
	ctx := context.Background()
	at := city.Now
	id, err := event.Create(ctx, db, event.Report{Category: "010101", Source: "patrol", Point: &[2]float64{114.003, 22.511}, At: at, Actor: "patrol"})
	if err != nil {
		t.Fatal(err)
	}
	move := func(f func(context.Context, event.DB, int64, event.Step) error, d time.Duration, note string) error {
		return f(ctx, db, id, event.Step{At: at.Add(d), Actor: "community office", Note: note})
	}
	// Out of order: handling before dispatch, closing before resolving.
	for name, f := range map[string]func(context.Context, event.DB, int64, event.Step) error{"handle": event.Handle, "resolve": event.Resolve} {
		var te *event.TransitionError
		if err := move(f, time.Minute, ""); !errors.As(err, &te) || te.Status != "reported" {
			t.Errorf("%s a reported event: %v, want a transition error", name, err)
		}
	}
	if err := event.Close(ctx, db, id, event.Step{At: at.Add(time.Minute)}, 0); err == nil {
		t.Error("closing a reported event succeeded")
	}
	var ie *event.InputError
	if err := move(event.Dispatch, -time.Second, ""); !errors.As(err, &ie) || ie.Field != "at" {
		t.Errorf("dispatch before the report: %v, want an input error on at", err)
	}
	if err := move(event.Dispatch, 10*time.Minute, "to the street office"); err != nil {
		t.Fatal(err)
	}
	if err := move(event.Handle, 5*time.Minute, ""); !errors.As(err, &ie) || ie.Field != "at" {
		t.Errorf("a step before the last one: %v, want an input error on at", err)
	}
	if err := move(event.Handle, time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	if got := load(t, db, id); got.Status != "handling" || got.ClosedAt != nil {
		t.Errorf("handling: %+v", got)
	}
	if err := move(event.Resolve, 5*time.Hour, "cleared"); err != nil {
		t.Fatal(err)
	}
	if got := load(t, db, id); got.Status != "resolved" || got.ClosedAt == nil || !got.ClosedAt.Equal(at.Add(5*time.Hour)) {
		t.Errorf("resolved: %+v, want closed_at %s", got, at.Add(5*time.Hour))
	}
	if err := event.Close(ctx, db, id, event.Step{At: at.Add(50 * time.Hour)}, 6); !errors.As(err, &ie) || ie.Field != "satisfaction" {
		t.Errorf("rating 6: %v, want an input error on satisfaction", err)
	}
	if err := event.Close(ctx, db, id, event.Step{At: at.Add(50 * time.Hour), Actor: "hotline"}, 4); err != nil {
		t.Fatal(err)
	}
	got := load(t, db, id)
	if got.Status != "closed" || got.ClosedAt == nil || !got.ClosedAt.Equal(at.Add(5*time.Hour)) || got.Satisfaction == nil || *got.Satisfaction != 4 {
		t.Errorf("closed: %+v, want closed_at of the resolution and rating 4", got)
	}
	var statuses []string
	for _, s := range steps(t, db, id) {
		statuses = append(statuses, s.Status)
	}
	if want := []string{"reported", "dispatched", "handling", "resolved", "rated", "closed"}; !slices.Equal(statuses, want) {
		t.Errorf("steps %v, want %v", statuses, want)
	}
	var te *event.TransitionError
	if err := move(event.Dispatch, 60*time.Hour, ""); !errors.As(err, &te) || te.Status != "closed" {
		t.Errorf("dispatching a closed event: %v", err)
	}
	if err := event.Dispatch(ctx, db, 99999999, event.Step{At: at}); !errors.Is(err, event.ErrNotFound) {
		t.Errorf("unknown event: %v, want ErrNotFound", err)
	}
	// A fixture event (loaded without steps) moves on too.
	for _, e := range city.Events {
		if e.Status == "reported" {
			if err := event.Dispatch(ctx, db, e.ID, event.Step{At: city.Now}); err != nil {
				t.Errorf("dispatch fixture event %d: %v", e.ID, err)
			}
			break
		}
	}
}

// TestInTransaction: the functions run inside a caller's transaction, and a
// rolled-back transaction leaves nothing behind.
func TestInTransaction(t *testing.T) {
	t.Parallel()
	db, city := fixtureDB(t)
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, err := event.Create(ctx, tx, event.Report{Category: "010101", Source: "app", Point: &[2]float64{114.025, 22.505}, At: city.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := event.Dispatch(ctx, tx, id, event.Step{At: city.Now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := load(t, tx, id); got.Status != "dispatched" {
		t.Errorf("inside the transaction: %s", got.Status)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM event WHERE id = $1) + (SELECT count(*) FROM event_step WHERE event_id = $1)`, id).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d rows (%v) after rollback, want 0", n, err)
	}
}

// TestLinkInlined: the link functions cost what a hand-written subquery costs;
// the planner inlines them (no Function Scan), so bulk loads keep their plans.
func TestLinkInlined(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	rows, err := db.Query(context.Background(), `EXPLAIN SELECT gr.code, gr.version, co.code
		FROM (SELECT ST_SetSRID(ST_MakePoint(x, 22.5), 4326) AS g, now() AS t FROM generate_series(1, 3) x) s
		LEFT JOIN LATERAL link_grid(s.g, s.t) gr ON true
		LEFT JOIN LATERAL link_community(s.g) co ON true`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if strings.Contains(text, "link_grid") || strings.Contains(text, "link_community") || !strings.Contains(text, "grid") || !strings.Contains(text, "admin_area") {
		t.Errorf("link functions not inlined:\n%s", text)
	}
}

func TestDeadline(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		hours    int
		severity string
		want     time.Time
	}{
		{72, "general", t0.Add(72 * time.Hour)},
		{72, "important", t0.Add(36 * time.Hour)},
		{72, "urgent", t0.Add(18 * time.Hour)},
		{6, "urgent", t0.Add(90 * time.Minute)},
		{24, "", t0.Add(24 * time.Hour)},
	} {
		if got := event.Deadline(t0, tc.hours, tc.severity); !got.Equal(tc.want) {
			t.Errorf("Deadline(%d h, %q) = %s, want %s", tc.hours, tc.severity, got, tc.want)
		}
	}
}

func TestModel(t *testing.T) {
	took := 10 * time.Hour
	for _, tc := range []struct {
		age  time.Duration
		want string
	}{
		{0, "reported"}, {59 * time.Minute, "reported"}, {61 * time.Minute, "dispatched"}, {2*time.Hour + 59*time.Minute, "dispatched"},
		{3*time.Hour + time.Minute, "handling"}, {10*time.Hour - time.Second, "handling"}, {10 * time.Hour, "resolved"},
		{57*time.Hour + 59*time.Minute, "resolved"}, {58 * time.Hour, "closed"},
	} {
		if got := event.Stage(tc.age, took); got != tc.want {
			t.Errorf("Stage(%s of %s) = %s, want %s", tc.age, took, got, tc.want)
		}
	}
	for _, s := range []string{"reported", "dispatched", "handling", "resolved", "closed"} {
		start, ok := event.StageStart(s, took)
		if !ok || event.Stage(start+time.Second, took) != s {
			t.Errorf("StageStart(%s) = %s, %v: Stage a second later is %s", s, start, ok, event.Stage(start+time.Second, took))
		}
	}
	limit := 24 * time.Hour
	for _, tc := range []struct {
		u1, u2 float64
		want   time.Duration
	}{
		{0, 0, 72 * time.Minute}, {0.5, 0.5, time.Duration(0.5 * float64(limit))}, {0.94, 0.999999, time.Duration(0.9499991 * float64(limit))},
		{0.95, 0, time.Duration(1.05 * float64(limit))}, {0.99, 0.5, time.Duration(2.05 * float64(limit))},
	} {
		if got := event.HandlingTime(tc.u1, tc.u2, limit); (got - tc.want).Abs() > time.Millisecond {
			t.Errorf("HandlingTime(%g, %g) = %s, want %s", tc.u1, tc.u2, got, tc.want)
		}
	}
	counts := map[int]int{}
	for i := range 1000 {
		counts[event.Rating((float64(i)+0.5)/1000)]++
	}
	if counts[1] != 30 || counts[2] != 50 || counts[3] != 120 || counts[4] != 250 || counts[5] != 550 {
		t.Errorf("ratings over a uniform grid: %v, want 30/50/120/250/550", counts)
	}
}

// BenchmarkCreate reports one event at a time through the write path (validate,
// category and link lookups, insert with its first step, the NOTIFY trigger and
// the roll-up triggers) on the fixture city, then moves it one step.
func BenchmarkCreate(b *testing.B) {
	db := pgtest.New(b)
	city := fixture.New()
	ctx := context.Background()
	if err := city.Load(ctx, db); err != nil {
		b.Fatal(err)
	}
	b.Run("create", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := [2]float64{114.001 + float64(i%380)*0.0001, 22.501 + float64(i%180)*0.0001}
			if _, err := event.Create(ctx, db, event.Report{Category: "010101", Source: "app", Point: &p, At: city.Now}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dispatch", func(b *testing.B) {
		ids := make([]int64, 0, b.N)
		for i := range b.N {
			p := [2]float64{114.001 + float64(i%380)*0.0001, 22.505}
			id, err := event.Create(ctx, db, event.Report{Category: "010101", Source: "app", Point: &p, At: city.Now})
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, id)
		}
		b.ResetTimer()
		for _, id := range ids {
			if err := event.Dispatch(ctx, db, id, event.Step{At: city.Now.Add(time.Minute)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestUnderRowLevelSecurity: as the application role, in transactions that
// carry an identity (package scope), a writer with the events capability
// reports and moves events inside its jurisdiction; outside it, or without the
// capability, the database refuses.
func TestUnderRowLevelSecurity(t *testing.T) {
	t.Parallel()
	owner, app := pgtest.Pair(t)
	city := fixture.New()
	ctx := context.Background()
	if err := city.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	worker := scope.Scope{UserID: 7, User: "grid worker", Units: []string{"44030400100100101"}, Caps: []string{scope.CanRows, scope.CanEvents}}
	inside := [2]float64{114.003, 22.511} // micro-grid 44030400100100101
	outside := [2]float64{114.033, 22.505}
	for _, tc := range []struct {
		name string
		sc   scope.Scope
		p    [2]float64
		ok   bool
	}{
		{"the system, anywhere", scope.System(), outside, true},
		{"a grid worker in their micro-grid", worker, inside, true},
		{"a grid worker outside it", worker, outside, false},
		{"without the events capability", scope.Scope{UserID: 8, User: "viewer", Units: []string{""}, Caps: []string{scope.CanRows}}, inside, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var id int64
			err := scope.Run(ctx, app, tc.sc, func(tx pgx.Tx) error {
				var err error
				if id, err = event.Create(ctx, tx, event.Report{Category: "010101", Source: "patrol", Point: &tc.p, At: city.Now, Actor: "grid worker"}); err != nil {
					return err
				}
				if err := event.Dispatch(ctx, tx, id, event.Step{At: city.Now.Add(time.Minute)}); err != nil {
					return err
				}
				return event.Handle(ctx, tx, id, event.Step{At: city.Now.Add(2 * time.Minute)})
			})
			if (err == nil) != tc.ok {
				t.Fatalf("error %v, want success %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if got := load(t, owner, id); got.Status != "handling" {
				t.Errorf("status %s", got.Status)
			}
			if st := steps(t, owner, id); len(st) != 3 {
				t.Errorf("steps %+v, want reported, dispatched, handling", st)
			}
		})
	}
}
