package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestServeDemoPulse is `make demo`'s serve line in small: serve --demo-pulse
// over the fixture city, as the application role under row-level security,
// writes new events that the live stream delivers, linked to the grid the
// fixture says.
func TestServeDemoPulse(t *testing.T) {
	url := pgtest.ConnString(t)
	ctx := context.Background()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	city := fixture.New()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	users := auth.NewUsers(db)
	if _, err := users.Add(ctx, auth.NewUser{Name: "command", Roles: []auth.Role{auth.Command}, Units: []string{"*"}, Password: "a long test password"}); err != nil {
		t.Fatal(err)
	}
	token, err := users.CreateToken(ctx, "command", "test", city.Now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, stop := startServeWith(t, []string{"--database-url", url, "--app-database-url", pgtest.AppConnString(t, url),
		"--now", city.Now.Format(time.RFC3339), "--hotspot-interval", "0"},
		[]string{"serve", "--demo-pulse", "--demo-pulse-rate", "300"})
	stopped := false
	defer func() {
		if !stopped {
			_ = stop()
		}
	}()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", "http://"+addr+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	name := ""
	var e struct {
		ID       int64   `json:"id"`
		Lon      float64 `json:"lon"`
		Lat      float64 `json:"lat"`
		GridCode *string `json:"grid_code"`
	}
	for e.ID == 0 && sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "event: ") {
			name = line[7:]
		} else if strings.HasPrefix(line, "data: ") && name == "event" {
			if err := json.Unmarshal([]byte(line[6:]), &e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.ID == 0 {
		t.Fatalf("no new event on the stream: %v", sc.Err())
	}
	var grid *string
	var reported time.Time
	if err := db.QueryRow(ctx, `SELECT grid_code, reported_at FROM event WHERE id = $1`, e.ID).Scan(&grid, &reported); err != nil {
		t.Fatal(err)
	}
	g, ok := city.GridAt([2]float64{e.Lon, e.Lat}, reported, "micro_grid")
	if ok != (grid != nil) || (ok && *grid != g.Code) || (e.GridCode == nil) != (grid == nil) {
		t.Errorf("event %d at (%g, %g) in grid %v (streamed %v), want %s", e.ID, e.Lon, e.Lat, grid, e.GridCode, g.Code)
	}
	if d := reported.Sub(city.Now); d < 0 || d > time.Minute {
		t.Errorf("reported at %s, want the server clock's now (%s)", reported, city.Now)
	}
	stopped = true
	if err := stop(); err != nil {
		t.Errorf("graceful shutdown with the pulse running: %v", err)
	}
}

func TestServeFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		ok   bool
		want serveFlags
	}{
		{nil, "", true, serveFlags{DemoPulse: false, DemoPulseRate: 4}},
		{[]string{"--demo-pulse"}, "", true, serveFlags{DemoPulse: true, DemoPulseRate: 4}},
		{nil, "true", true, serveFlags{DemoPulse: true, DemoPulseRate: 4}},
		{[]string{"--demo-pulse=false"}, "1", true, serveFlags{DemoPulse: false, DemoPulseRate: 4}},
		{[]string{"--demo-pulse", "--demo-pulse-rate", "0.5"}, "", true, serveFlags{DemoPulse: true, DemoPulseRate: 0.5}},
		{[]string{"--demo-pulse-rate", "0"}, "", false, serveFlags{}},
		{[]string{"--demo-pulse-rate", "NaN"}, "", false, serveFlags{}},
		{[]string{"extra"}, "", false, serveFlags{}},
	} {
		t.Setenv("ONEGRID_DEMO_PULSE", tc.env)
		var f serveFlags
		var out strings.Builder
		m := NewMain(&out, &out)
		m.global = m.Config.flagSet("onegrid", io.Discard) // as Run makes it before a command parses its flags
		err := f.parse(m, tc.args)
		if (err == nil) != tc.ok || (tc.ok && f != tc.want) {
			t.Errorf("serve %v (ONEGRID_DEMO_PULSE=%q): %+v, %v", tc.args, tc.env, f, err)
		}
	}
}
