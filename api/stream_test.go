package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	id, event, data string
}

// sseReader parses an event stream, comments included (as event ":").
type sseReader struct {
	sc *bufio.Scanner
}

func (r *sseReader) next() (sseEvent, error) {
	var e sseEvent
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if e.event != "" || e.data != "" {
				return e, nil
			}
		case strings.HasPrefix(line, ":"):
			return sseEvent{event: ":", data: strings.TrimSpace(line[1:])}, nil
		case strings.HasPrefix(line, "id: "):
			e.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.data = line[6:]
		}
	}
	if err := r.sc.Err(); err != nil {
		return e, err
	}
	return e, fmt.Errorf("stream ended")
}

// nextOf returns the next event named name, skipping heartbeats and others.
func (r *sseReader) nextOf(t *testing.T, name string) sseEvent {
	t.Helper()
	for {
		e, err := r.next()
		if err != nil {
			t.Fatalf("waiting for %q: %v", name, err)
		}
		if e.event == name {
			return e
		}
	}
}

func openStream(t *testing.T, ctx context.Context, url, lastID string) (*http.Response, *sseReader) {
	t.Helper()
	return dialStream(t, ctx, url, "", lastID)
}

// dialStream opens the stream, with an Authorization header unless authz is
// empty, and reads up to its ready message.
func dialStream(t *testing.T, ctx context.Context, url, authz, lastID string) (*http.Response, *sseReader) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/stream", nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &sseReader{sc: bufio.NewScanner(resp.Body)}
	r.nextOf(t, "ready")
	return resp, r
}

func insertEvent(t *testing.T, db *pgxpool.Pool, title string) int64 {
	t.Helper()
	var id int64
	err := db.QueryRow(context.Background(), `
		INSERT INTO event (category_code, severity, source, status, title, reported_at, geom, h3, grid_code)
		VALUES ('010101', 'urgent', 'app', 'reported', $1, now(), ST_SetSRID(ST_MakePoint(114.005, 22.505), 4326),
			$2, '44030400100100101')
		RETURNING id`, title, testCell(t)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testCell(t *testing.T) int64 {
	t.Helper()
	c, err := geo.CellAt(114.005, 22.505, geo.StorageRes)
	if err != nil {
		t.Fatal(err)
	}
	return int64(c)
}

func newStreamServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *pgxpool.Pool) {
	t.Helper()
	owner, app := pgtest.Pair(t)
	if err := fixture.New().Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	ts := serveAuthed(t, cfg, owner, app)
	return ts.Config.Handler.(*Server), ts, owner
}

func TestStream(t *testing.T) {
	t.Parallel()
	_, ts, db := newStreamServer(t, Config{StreamHeartbeat: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, r := openStream(t, ctx, ts.URL, "")

	t.Run("heartbeat", func(t *testing.T) {
		if e := r.nextOf(t, ":"); e.data != "ping" {
			t.Fatalf("comment %q, want ping", e.data)
		}
	})

	var firstID string
	t.Run("new event, no personal data", func(t *testing.T) {
		id := insertEvent(t, db, "张三家门口堆垃圾 13800138000")
		e := r.nextOf(t, "event")
		firstID = e.id
		if strings.Contains(e.data, "张三") || strings.Contains(e.data, "138") {
			t.Fatalf("payload leaks the title: %s", e.data)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(e.data), &got); err != nil {
			t.Fatalf("payload %q: %v", e.data, err)
		}
		want := map[string]any{"id": float64(id), "category_code": "010101", "severity": "urgent", "status": "reported",
			"lon": 114.005, "lat": 22.505, "grid_code": "44030400100100101", "admin_code": nil}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if len(got) != len(want)+1 { // + reported_at
			t.Errorf("payload has fields %v, want exactly %v and reported_at", got, want)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.999999Z07:00", got["reported_at"].(string)); err != nil {
			t.Errorf("reported_at: %v", err)
		}
	})

	t.Run("Last-Event-ID replays what was missed", func(t *testing.T) {
		second := insertEvent(t, db, "b")
		r.nextOf(t, "event")
		_, r2 := openStream(t, ctx, ts.URL, firstID)
		e := r2.nextOf(t, "event")
		if !strings.Contains(e.data, fmt.Sprintf(`"id":%d,`, second)) {
			t.Fatalf("replayed %s, want event %d", e.data, second)
		}
	})

	t.Run("hotspot alerts pass through", func(t *testing.T) {
		if _, err := db.Exec(ctx, `SELECT pg_notify('onegrid_alert', '{"type":"hotspot","id":7,"cell":"89411c"}')`); err != nil {
			t.Fatal(err)
		}
		if e := r.nextOf(t, "alert"); e.data != `{"type":"hotspot","id":7,"cell":"89411c"}` {
			t.Fatalf("alert %s", e.data)
		}
	})

	t.Run("bulk insert sends one notice", func(t *testing.T) {
		_, err := db.Exec(ctx, `
			INSERT INTO event (category_code, source, status, reported_at, geom, h3)
			SELECT '010101', 'app', 'reported', now(), ST_SetSRID(ST_MakePoint(114.005, 22.505), 4326),
				$1::bigint
			FROM generate_series(1, 500)`, testCell(t))
		if err != nil {
			t.Fatal(err)
		}
		for {
			e, err := r.next()
			if err != nil {
				t.Fatal(err)
			}
			if e.event == "event" {
				t.Fatalf("bulk insert sent a per-row event: %s", e.data)
			}
			if e.event == "events_changed" {
				if e.data != `{"count":500}` {
					t.Fatalf("events_changed %s", e.data)
				}
				break
			}
		}
	})
}

func TestStreamEndsWithRequestAndShutdown(t *testing.T) {
	t.Parallel()
	s, ts, _ := newStreamServer(t, Config{})
	t.Run("client hangs up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		openStream(t, ctx, ts.URL, "")
		waitClients(t, s, 1)
		cancel()
		waitClients(t, s, 0)
	})
	t.Run("server closes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, r := openStream(t, ctx, ts.URL, "")
		s.Close()
		for {
			if _, err := r.next(); err != nil {
				break // the stream ended, not the context
			}
		}
		if ctx.Err() != nil {
			t.Fatal("stream outlived Close")
		}
		resp, err := http.Get(ts.URL + "/api/v1/stream")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("stream after Close: %d, want 503", resp.StatusCode)
		}
	})
}

func waitClients(t *testing.T, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.hub.mu.Lock()
		got := len(s.hub.clients)
		s.hub.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d stream clients, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHubDropsSlowClients(t *testing.T) {
	h := newHub(nil, discardLog(), 2)
	h.startOnce.Do(func() {}) // no database: publish by hand
	slow, _, _ := h.subscribe(0, scope.System())
	fast, _, _ := h.subscribe(0, scope.System())
	for i := range 5 {
		h.publish(message{event: "resync", data: []byte(strconv.Itoa(i))})
		select {
		case <-fast.ch:
		default:
			t.Fatal("fast client got nothing")
		}
	}
	n := 0
	for range slow.ch { // closed once dropped
		n++
	}
	if n != 2 {
		t.Fatalf("slow client got %d messages before being dropped, want its buffer of 2", n)
	}
	if _, ok := h.clients[fast]; !ok || len(h.clients) != 1 {
		t.Fatal("the fast client should remain, alone")
	}
	_, replay, _ := h.subscribe(h.ring[1].id, scope.System())
	if len(replay) != 3 || string(replay[0].data) != "2" {
		t.Fatalf("replay after the second message: %d messages", len(replay))
	}
	h.close()
	if _, ok := <-fast.ch; ok {
		t.Fatal("close should end every stream")
	}
}

// openStreamAs opens the stream with the given Authorization header.
func openStreamAs(t *testing.T, ctx context.Context, url, authz, lastID string) *sseReader {
	t.Helper()
	_, r := dialStream(t, ctx, url, authz, lastID)
	return r
}

// received reads a stream up to the sentinel events_changed and returns its
// events and alerts by their data, and the id of the last message.
func received(t *testing.T, r *sseReader) (events []map[string]any, alerts []string, last string) {
	t.Helper()
	for {
		e, err := r.next()
		if err != nil {
			t.Fatal(err)
		}
		switch e.event {
		case "event":
			var m map[string]any
			if err := json.Unmarshal([]byte(e.data), &m); err != nil {
				t.Fatal(err)
			}
			events = append(events, m)
		case "alert":
			alerts = append(alerts, e.data)
		case "events_changed":
			return events, alerts, e.id
		}
		if e.id != "" {
			last = e.id
		}
	}
}

// TestStreamScoped: clients of different scopes receive disjoint sets of events,
// each the events inside its jurisdiction; a sensitive event is coarsened to its
// resolution-9 cell for a client whose duties do not cover it; a client without
// rows gets no event; hotspot alerts go to clients whose jurisdiction holds the
// analysed area; replays are filtered the same way.
func TestStreamScoped(t *testing.T) {
	t.Parallel()
	owner, app := pgtest.Pair(t)
	if err := fixture.New().Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	ts := serveAuthed(t, Config{}, owner, app)
	now := time.Now()
	user := func(name string, roles []auth.Role, units, duties []string) string {
		return "Bearer " + testUser(t, owner, now, name, roles, units, duties)
	}
	clients := map[string]string{
		"gridA":   user("wa", []auth.Role{auth.GridWorker}, []string{"440304001001001"}, nil),
		"gridB":   user("wb", []auth.Role{auth.GridWorker}, []string{"440304001002001"}, nil),
		"street":  user("of", []auth.Role{auth.Officer}, []string{"440304001000"}, []string{"02"}),
		"analyst": user("an", []auth.Role{auth.Analyst}, []string{"*"}, nil),
		"command": user("cc", []auth.Role{auth.Command}, []string{"*"}, nil),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	readers := map[string]*sseReader{}
	for name, a := range clients {
		readers[name] = openStreamAs(t, ctx, ts.URL, a, "")
	}
	// The hub has read the taxonomy when it started listening; it hears of the
	// change (committed before the events below) before it hears of them.
	if _, err := owner.Exec(ctx, `UPDATE event_category SET sensitive = true WHERE code = '02'`); err != nil {
		t.Fatal(err)
	}
	insert := func(grid, admin, cat string, p [2]float64) int64 {
		t.Helper()
		c, err := geo.CellAt(p[0], p[1], geo.StorageRes)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := owner.QueryRow(ctx, `INSERT INTO event (category_code, severity, source, status, reported_at, geom, h3, admin_code, grid_code)
			VALUES ($1, 'general', 'app', 'reported', now(), ST_SetSRID(ST_MakePoint($2, $3), 4326), $4, $5, $6) RETURNING id`,
			cat, p[0], p[1], c, admin, grid).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	pa := [2]float64{114.0031, 22.5052}
	inA := []int64{insert("44030400100100101", "440304001001", "010101", pa), insert("44030400100100102", "440304001001", "030101", [2]float64{114.0081, 22.5152})}
	inB := []int64{insert("44030400100200101", "440304001002", "010101", [2]float64{114.0131, 22.5052})}
	sensA := insert("44030400100100101", "440304001001", "020101", pa)
	outside := insert("", "", "010101", [2]float64{113.9, 22.4}) // in no area: the whole city's
	if _, err := owner.Exec(ctx, `SELECT pg_notify('onegrid_alert', '{"type":"hotspot","id":1,"area":"440304001000","cell":"89411c"}'),
		pg_notify('onegrid_alert', '{"type":"hotspot","id":2,"area":"","cell":"89411d"}'),
		pg_notify('onegrid_event_bulk', '{"count":1}')`); err != nil {
		t.Fatal(err)
	}
	ids := func(evs []map[string]any) []int64 {
		var out []int64
		for _, e := range evs {
			out = append(out, int64(e["id"].(float64)))
		}
		return out
	}
	all := []int64{inA[0], inA[1], inB[0], sensA, outside}
	for _, tc := range []struct {
		name   string
		want   []int64
		coarse bool // the sensitive event comes coarsened
		alerts []string
	}{
		{"gridA", []int64{inA[0], inA[1], sensA}, true, nil},
		{"gridB", []int64{inB[0]}, false, nil},
		{"street", []int64{inA[0], inA[1], inB[0], sensA}, false, []string{"1"}},
		{"analyst", nil, false, []string{"1", "2"}},
		{"command", all, true, []string{"1", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, alerts, _ := received(t, readers[tc.name])
			if got := ids(evs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("events %v, want %v", got, tc.want)
			}
			var alertIDs []string
			for _, a := range alerts {
				var m map[string]any
				_ = json.Unmarshal([]byte(a), &m)
				alertIDs = append(alertIDs, fmt.Sprint(m["id"]))
			}
			if fmt.Sprint(alertIDs) != fmt.Sprint(tc.alerts) {
				t.Errorf("alerts %v, want %v", alertIDs, tc.alerts)
			}
			for _, e := range evs {
				id := int64(e["id"].(float64))
				if _, leak := e["h3"]; leak {
					t.Errorf("event %d carries h3", id)
				}
				coarse, _ := e["coarsened"].(bool)
				if id != sensA {
					if coarse || e["lon"] == nil {
						t.Errorf("event %d: coarse %v, lon %v", id, coarse, e["lon"])
					}
					continue
				}
				c, _ := geo.CellAt(pa[0], pa[1], geo.StorageRes)
				centre := geo.CellCenter(geo.ParentBits(c, 9))
				wantLon, wantLat := pa[0], pa[1]
				if tc.coarse {
					wantLon, wantLat = centre[0], centre[1]
				}
				if coarse != tc.coarse || math.Abs(e["lon"].(float64)-wantLon) > 1e-7 || math.Abs(e["lat"].(float64)-wantLat) > 1e-7 {
					t.Errorf("sensitive event: coarse %v at %v,%v; want coarse %v at %v,%v", coarse, e["lon"], e["lat"], tc.coarse, wantLon, wantLat)
				}
			}
		})
	}
	// A reconnect replays what the client may see, and only that.
	t.Run("replay", func(t *testing.T) {
		r := openStreamAs(t, ctx, ts.URL, clients["gridB"], "1")
		evs, _, _ := received(t, r)
		if got := ids(evs); fmt.Sprint(got) != fmt.Sprint([]int64{inB[0]}) {
			t.Errorf("gridB replay: %v, want %v", got, inB)
		}
		r = openStreamAs(t, ctx, ts.URL, clients["gridA"], "1")
		if got, _, _ := received(t, r); fmt.Sprint(ids(got)) != fmt.Sprint([]int64{inA[0], inA[1], sensA}) {
			t.Errorf("gridA replay: %v", ids(got))
		}
	})
}
