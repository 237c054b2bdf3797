package pulse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/api"
	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/citygen"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/event/pulse"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// row is an event as stored, read back for independent checks.
type row struct {
	ID                             int64
	Category, Severity, Source     string
	Status                         string
	ReportedAt                     time.Time
	Deadline                       *time.Time
	ClosedAt                       *time.Time
	Lon, Lat                       float64
	GridCode, AdminCode, Dataset   *string
	GridVersion, Satisfaction, Esc *int
}

func readEvents(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) []row {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id, category_code, severity, source, status, reported_at, deadline, closed_at,
		ST_X(geom), ST_Y(geom), grid_code, admin_code, dataset, grid_version, satisfaction, escalation FROM event ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var e row
		err := r.Scan(&e.ID, &e.Category, &e.Severity, &e.Source, &e.Status, &e.ReportedAt, &e.Deadline, &e.ClosedAt,
			&e.Lon, &e.Lat, &e.GridCode, &e.AdminCode, &e.Dataset, &e.GridVersion, &e.Satisfaction, &e.Esc)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// distanceM is the distance between two nearby points in metres.
func distanceM(a, b orb.Point) float64 {
	dx := (a[0] - b[0]) * geo.MetresPerDegreeLon(a[1])
	dy := (a[1] - b[1]) * geo.MetresPerDegreeLat(a[1])
	return math.Hypot(dx, dy)
}

type summary struct {
	From, To              time.Time
	Events, Open, Overdue int64
}

// TestPulse runs the pulse fast against the fixture city behind a real server:
// the live stream delivers its new events, the database holds them linked as
// the fixture's rectangles say, each copies a fixture event near which it lies,
// open events move on with their steps in order, and the event summary moves.
func TestPulse(t *testing.T) {
	// As onegrid serve: the pulse and the server on the application role, under
	// row-level security; the test reads and checks as the owner.
	db, app := pgtest.Pair(t)
	city := fixture.New()
	ctx := context.Background()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	// The server's clock: the fixture's today, running. The summary is asked
	// with a fixed window and "now" an hour later, so the counts below do not
	// depend on when the requests happen.
	now := clock.From(city.Now)
	later := city.Now.Add(time.Hour)
	users := auth.NewUsers(db)
	if _, err := users.Add(ctx, auth.NewUser{Name: "command", Roles: []auth.Role{auth.Command}, Units: []string{"*"}, Password: "command centre test"}); err != nil {
		t.Fatal(err)
	}
	token, err := users.CreateToken(ctx, "command", "test", later, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Config{Now: clock.Fixed(later), StreamHeartbeat: time.Second, Auth: auth.NewAuthenticator(app, auth.Config{Now: clock.Fixed(later)})}, app, nil)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); ts.Close() })
	get := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultClient.Do(req)
	}
	before := readEvents(t, db)
	getSummary := func() summary {
		t.Helper()
		resp, err := get(ctx, "/api/v1/events/summary")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s summary
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
			t.Fatalf("summary: %d %v", resp.StatusCode, err)
		}
		return s
	}
	s0 := getSummary()

	// The stream, open before the pulse starts.
	sctx, scancel := context.WithTimeout(ctx, 60*time.Second)
	defer scancel()
	resp, err := get(sctx, "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %s", resp.Status)
	}
	streamed := make(chan int64, 100)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = line[7:]
				if name == "ready" {
					close(ready)
				}
			case strings.HasPrefix(line, "data: ") && name == "event":
				var e struct{ ID int64 }
				if json.Unmarshal([]byte(line[6:]), &e) == nil {
					streamed <- e.ID
				}
			}
		}
		close(streamed)
	}()
	select {
	case <-ready:
	case <-sctx.Done():
		t.Fatal("stream not ready")
	}

	pctx, pcancel := context.WithCancel(ctx)
	p := pulse.New(app, pulse.Config{Rate: 600, Now: now, Tick: 50 * time.Millisecond, MaxMoves: 50, Seed: 7})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Run(pctx) }()
	var got []int64
	for len(got) < 8 {
		select {
		case id, ok := <-streamed:
			if !ok {
				t.Fatal("stream ended")
			}
			got = append(got, id)
		case <-sctx.Done():
			t.Fatalf("the stream delivered %d new events in 60 s, want 8", len(got))
		}
	}
	// Let the loop run a little longer, then stop the pulse.
	time.Sleep(300 * time.Millisecond)
	pcancel()
	wg.Wait()

	after := readEvents(t, db)
	old := map[int64]row{}
	for _, e := range before {
		old[e.ID] = e
	}
	byID := map[int64]row{}
	var added []row
	for _, e := range after {
		byID[e.ID] = e
		if _, ok := old[e.ID]; !ok {
			added = append(added, e)
		}
	}

	var latest time.Time
	for _, f := range city.Events {
		if !f.ReportedAt.After(city.Now) && f.ReportedAt.After(latest) {
			latest = f.ReportedAt
		}
	}
	t.Run("streamed events are stored, linked and like the city's", func(t *testing.T) {
		limit := map[string]int{}
		for _, k := range city.Categories {
			limit[k.Code] = k.LimitHours
		}
		share := map[string]float64{"general": 1, "important": 0.5, "urgent": 0.25}
		for _, id := range got {
			e, ok := byID[id]
			if !ok || old[id].ID != 0 {
				t.Errorf("streamed event %d is not a new event in the database", id)
				continue
			}
			p := orb.Point{e.Lon, e.Lat}
			if g, ok := city.GridAt(p, e.ReportedAt, "micro_grid"); !ok {
				if e.GridCode != nil {
					t.Errorf("event %d outside every micro-grid linked to %s", id, *e.GridCode)
				}
			} else if str(e.GridCode) != g.Code || e.GridVersion == nil || *e.GridVersion != g.Version {
				t.Errorf("event %d at %v linked to %s v%v, want %s v%d", id, p, str(e.GridCode), e.GridVersion, g.Code, g.Version)
			} else {
				comm := ""
				for _, a := range city.Areas {
					if a.Level == "community" && a.Bound.Contains(p) {
						comm = a.Code
					}
				}
				if str(e.AdminCode) != comm {
					t.Errorf("event %d in community %s, want %s", id, str(e.AdminCode), comm)
				}
			}
			want := e.ReportedAt.Add(time.Duration(float64(limit[e.Category]) * share[e.Severity] * float64(time.Hour)))
			if e.Deadline == nil || !e.Deadline.Equal(want) {
				t.Errorf("event %d deadline %v, want %s", id, e.Deadline, want)
			}
			if d := e.ReportedAt.Sub(city.Now); d < 0 || d > time.Minute {
				t.Errorf("event %d reported at %s, want the clock's now (%s + seconds)", id, e.ReportedAt, city.Now)
			}
			// It copies an event of the 30 days up to the fixture's latest one,
			// lying within 15 m.
			near := false
			for _, f := range city.Events {
				if f.Category == e.Category && f.Severity == e.Severity && f.Source == e.Source &&
					f.ReportedAt.After(latest.AddDate(0, 0, -30)) && !f.ReportedAt.After(latest) && distanceM(f.Point, p) <= 15.01 {
					near = true
					break
				}
			}
			if !near || str(e.Dataset) != "fixture" {
				t.Errorf("event %d (%s %s %s at %v, dataset %q) copies no recent fixture event nearby", id, e.Category, e.Severity, e.Source, p, str(e.Dataset))
			}
		}
	})

	t.Run("open events moved on, steps in order", func(t *testing.T) {
		order := []string{"reported", "dispatched", "handling", "resolved", "closed"}
		moved := 0
		for _, f := range city.Events {
			e := byID[f.ID]
			from, to := slices.Index(order, f.Status), slices.Index(order, e.Status)
			if to < from {
				t.Errorf("event %d went back from %s to %s", f.ID, f.Status, e.Status)
			}
			if to > from {
				moved++
			}
			if (e.Status == "resolved" || e.Status == "closed") != (e.ClosedAt != nil) {
				t.Errorf("event %d %s with closed_at %v", f.ID, e.Status, e.ClosedAt)
			}
		}
		if moved == 0 {
			t.Error("no open fixture event moved on")
		}
		rows, err := db.Query(ctx, `SELECT event_id, at, status, actor FROM event_step ORDER BY event_id, id`)
		if err != nil {
			t.Fatal(err)
		}
		type st struct {
			id            int64
			at            time.Time
			status, actor string
		}
		steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (st, error) {
			var s st
			err := r.Scan(&s.id, &s.at, &s.status, &s.actor)
			return s, err
		})
		if err != nil {
			t.Fatal(err)
		}
		last := map[int64]st{}
		for _, s := range steps {
			e := byID[s.id]
			if s.at.Before(e.ReportedAt) {
				t.Errorf("event %d step %s at %s before its report %s", s.id, s.status, s.at, e.ReportedAt)
			}
			if p, ok := last[s.id]; ok {
				next := slices.Index(order, p.status) + 1
				if p.status == "rated" {
					next = slices.Index(order, "closed")
				}
				if s.at.Before(p.at) || (s.status != "rated" && slices.Index(order, s.status) != next) {
					t.Errorf("event %d: step %s at %s after %s at %s", s.id, s.status, s.at, p.status, p.at)
				}
			} else if old[s.id].ID == 0 && s.status != "reported" {
				t.Errorf("new event %d starts with step %s", s.id, s.status)
			}
			last[s.id] = s
		}
		for id, s := range last {
			if want := byID[id].Status; s.status != want {
				t.Errorf("event %d is %s, its last step %s", id, want, s.status)
			}
		}
	})

	t.Run("the event summary moves", func(t *testing.T) {
		s1 := getSummary()
		var events, open, overdue int64
		for _, e := range after {
			if e.ReportedAt.Before(s1.From) || !e.ReportedAt.Before(s1.To) {
				continue
			}
			events++
			if e.Status == "reported" || e.Status == "dispatched" || e.Status == "handling" {
				open++
				if e.Deadline != nil && e.Deadline.Before(later) {
					overdue++
				}
			}
		}
		if s1.Events != events || s1.Open != open || s1.Overdue != overdue {
			t.Errorf("summary %+v, want events %d open %d overdue %d", s1, events, open, overdue)
		}
		if s1.Events != s0.Events+int64(len(added)) || len(added) < len(got) {
			t.Errorf("summary events %d → %d with %d new events", s0.Events, s1.Events, len(added))
		}
		t.Logf("summary before %+v, after %+v (%d new events)", s0, s1, len(added))
	})
}

// TestMix: new events follow the mix of the events they imitate.
func TestMix(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	city := fixture.New()
	ctx := context.Background()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	// The events of the 30 days up to the latest before now, as the pulse samples them.
	latest := time.Time{}
	for _, e := range city.Events {
		if !e.ReportedAt.After(city.Now) && e.ReportedAt.After(latest) {
			latest = e.ReportedAt
		}
	}
	want := map[string]float64{}
	n := 0
	for _, e := range city.Events {
		if !e.ReportedAt.After(latest) && e.ReportedAt.After(latest.AddDate(0, 0, -30)) {
			want[e.Category+"/"+e.Severity]++
			n++
		}
	}
	p := pulse.New(db, pulse.Config{Now: clock.Fixed(city.Now), Seed: 3})
	const draws = 1500
	got := map[string]float64{}
	for range draws {
		id, err := p.Report(ctx)
		if err != nil || id == 0 {
			t.Fatalf("report: %d, %v", id, err)
		}
		var k string
		if err := db.QueryRow(ctx, `SELECT category_code || '/' || severity FROM event WHERE id = $1`, id).Scan(&k); err != nil {
			t.Fatal(err)
		}
		got[k]++
	}
	for k := range got {
		if want[k] == 0 {
			t.Errorf("new events of %s, which no sampled event has", k)
		}
	}
	for k, w := range want {
		// Shares over the whole sample (the fixture has too few events for the
		// hour of day to narrow the choice): within 4 binomial standard errors.
		ws := w / float64(n)
		se := math.Sqrt(ws * (1 - ws) / draws)
		if gs := got[k] / draws; math.Abs(gs-ws) > 4*se+1e-9 {
			t.Errorf("%s: share %.3f of new events, %.3f of the sampled ones", k, gs, ws)
		}
	}
	if t.Failed() {
		t.Logf("sampled %d events: %v; new: %v", n, want, got)
	}
}

// TestDraw: the handling time and rating are the same on every draw for an
// event, spread over the model's range across events.
func TestDraw(t *testing.T) {
	limit := 24 * time.Hour
	late, rated := 0, 0
	for id := int64(1); id <= 20000; id++ {
		took, rating := pulse.Draw(id, limit)
		if t2, r2 := pulse.Draw(id, limit); t2 != took || r2 != rating {
			t.Fatalf("event %d drawn twice differently", id)
		}
		if took < limit/20 || took > limit*305/100 {
			t.Errorf("event %d takes %s of a %s limit", id, took, limit)
		}
		if took > limit {
			late++
		}
		if rating > 0 {
			rated++
		}
		if rating < 0 || rating > 5 {
			t.Errorf("rating %d", rating)
		}
	}
	if f := float64(late) / 20000; math.Abs(f-0.05) > 0.01 {
		t.Errorf("%.3f of events late, want about 0.05", f)
	}
	if f := float64(rated) / 20000; math.Abs(f-0.85) > 0.01 {
		t.Errorf("%.3f rated, want about 0.85", f)
	}
}

// TestHotspots: on a generated city with planted hotspots, the pulse's new
// events gather at each hotspot in the share that the city's last 30 days of
// events do (its category within the radius).
func TestHotspots(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, clock.China)
	sum, err := citygen.Generate(ctx, db, citygen.Options{Households: 3000, Seed: 11, Hotspots: 3, End: end})
	if err != nil {
		t.Fatal(err)
	}
	// The sampled window: the 30 days up to the latest event before the clock.
	var latest time.Time
	if err := db.QueryRow(ctx, `SELECT max(reported_at) FROM event WHERE reported_at <= $1`, end).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	type pt struct {
		cat      string
		lon, lat float64
	}
	read := func(q pgx.Rows, err error) []pt {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(q, func(r pgx.CollectableRow) (pt, error) {
			var p pt
			err := r.Scan(&p.cat, &p.lon, &p.lat)
			return p, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	window := read(db.Query(ctx, `SELECT category_code, ST_X(geom), ST_Y(geom) FROM event
		WHERE reported_at <= $1 AND reported_at > $1 - interval '30 days'`, latest))
	p := pulse.New(db, pulse.Config{Now: clock.Fixed(end), Seed: 5})
	const draws = 1500
	for range draws {
		if _, err := p.Report(ctx); err != nil {
			t.Fatal(err)
		}
	}
	added := read(db.Query(ctx, `SELECT category_code, ST_X(geom), ST_Y(geom) FROM event WHERE reported_at = $1`, end))
	if len(added) != draws {
		t.Fatalf("%d new events, want %d", len(added), draws)
	}
	for _, h := range sum.Hotspots {
		// Within the radius plus the 15 m a new event may move from its model.
		share := func(ps []pt) float64 {
			n := 0
			for _, e := range ps {
				if e.cat == h.CategoryCode && distanceM(orb.Point{e.lon, e.lat}, orb.Point{h.Lon, h.Lat}) <= h.RadiusM+15 {
					n++
				}
			}
			return float64(n) / float64(len(ps))
		}
		ws, ps := share(window), share(added)
		se := math.Sqrt(ws * (1 - ws) / draws)
		t.Logf("hotspot %d (%s, %.0f m): %.3f of the window's %d events, %.3f of %d new ones", h.ID, h.CategoryCode, h.RadiusM, ws, len(window), ps, draws)
		if ws == 0 {
			t.Errorf("hotspot %d has no event in the last 30 days: the check proves nothing", h.ID)
		}
		if math.Abs(ps-ws) > 4*se+0.005 {
			t.Errorf("hotspot %d: %.3f of new events, want %.3f as in the window", h.ID, ps, ws)
		}
	}
}

// TestHourOfDay: where the sample holds enough events reported at the clock's
// hour of day, new events copy those.
func TestHourOfDay(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	city := fixture.New()
	ctx := context.Background()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	// 150 noise complaints at 03:xx China time and 150 rubbish reports at 15:xx
	// over the last 20 days.
	y, m, d := city.Now.In(clock.China).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, clock.China)
	for i := range 300 {
		cat, hour := "030101", 3
		if i%2 == 1 {
			cat, hour = "010101", 15
		}
		at := day.AddDate(0, 0, -1-i%20).Add(time.Duration(hour)*time.Hour + time.Duration(i)*time.Second)
		if _, err := event.Create(ctx, db, event.Report{Category: cat, Source: "hotline", Point: &[2]float64{114.005, 22.505}, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	at := day.Add(3*time.Hour + 30*time.Minute)
	p := pulse.New(db, pulse.Config{Now: clock.Fixed(at), Seed: 9})
	n := map[string]int{}
	for range 200 {
		id, err := p.Report(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var cat string
		if err := db.QueryRow(ctx, `SELECT category_code FROM event WHERE id = $1`, id).Scan(&cat); err != nil {
			t.Fatal(err)
		}
		n[cat]++
	}
	if n["030101"] < 190 || n["010101"] > 0 {
		t.Errorf("new events at 03:30: %v, want (nearly) all copies of the 03:xx noise complaints", n)
	}
}
