package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/api"
	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	"github.com/onegrid/onegrid/tiles"
	"github.com/onegrid/onegrid/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recordKeys reads the record keys of a table's rows (household or event).
func recordKeys(t *testing.T, db *pgxpool.Pool, table string) map[int64]uint64 {
	t.Helper()
	k, err := sdctest.Keys(context.Background(), db, table)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// panelEvents is what the panel shows for these events: the aggregate's released
// count, or (when suppressed) the event summary's raw count, which the page
// falls back on.
func panelEvents(s sdctest.Set) string {
	if v := sdctest.Count(5, s, sdctest.Events); v != nil {
		return fmt.Sprint(*v)
	}
	return fmt.Sprint(s.N)
}

// need skips the test for a missing prerequisite, or fails it under CI=true.
func need(t *testing.T, ok bool, msg string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func artifacts(t *testing.T) string {
	dir := os.Getenv("ONEGRID_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserLog collects what the page did on the network and in its console.
type browserLog struct {
	mu       sync.Mutex
	origin   string
	requests []string // every URL requested
	failures []string // responses >= 400, failed loads, console errors, exceptions, foreign hosts
	// expected are the error answers a test provokes (a login form without a
	// session, a wrong password): status and path; expectedSeen counts them.
	expected     map[expectedAnswer]bool
	expectedSeen map[expectedAnswer]int
}

type expectedAnswer struct {
	status int
	path   string
}

// expect makes an answer with the status to a URL with the path (no query) no
// failure: the test provokes it.
func (b *browserLog) expect(status int, paths ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.expected == nil {
		b.expected, b.expectedSeen = map[expectedAnswer]bool{}, map[expectedAnswer]int{}
	}
	for _, p := range paths {
		b.expected[expectedAnswer{status, p}] = true
	}
}

// seen reports how many answers with the status to the path the page had.
func (b *browserLog) seen(status int, path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.expectedSeen[expectedAnswer{status, path}]
}

// unexpect ends the expectations: from now on every error answer is a failure.
func (b *browserLog) unexpect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = nil
}

// requested returns the URLs requested whose path contains part.
func (b *browserLog) requested(part string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return filter(b.requests, func(u string) bool { return strings.Contains(u, part) })
}

func (b *browserLog) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		u := e.Request.URL
		b.requests = append(b.requests, u)
		if !strings.HasPrefix(u, b.origin) && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "blob:") {
			b.failures = append(b.failures, "request leaves the server: "+u)
		}
	case *network.EventResponseReceived:
		if e.Response.Status >= 400 {
			a := expectedAnswer{int(e.Response.Status), e.Response.URL}
			if u, err := url.Parse(e.Response.URL); err == nil {
				a.path = u.Path
			}
			if b.expectedSeen != nil {
				b.expectedSeen[a]++
			}
			if !b.expected[a] {
				b.failures = append(b.failures, fmt.Sprintf("HTTP %d %s", int(e.Response.Status), e.Response.URL))
			}
		}
	case *network.EventLoadingFailed:
		// MapLibre cancels tile requests it no longer needs when the view moves,
		// and an EventSource is cut when the page goes: neither is a failure.
		if !e.Canceled && e.Type != network.ResourceTypeEventSource {
			b.failures = append(b.failures, fmt.Sprintf("loading failed (%s): %s", e.Type, e.ErrorText))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		b.failures = append(b.failures, fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			b.failures = append(b.failures, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
		}
	}
}

func (b *browserLog) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.failures {
		t.Error(f)
	}
	b.failures = nil
}

// server is a test server: its base URL, the owner's pool (for writing as
// ingest would) and the session cookie of a logged-in command-centre user.
type server struct {
	base    string
	db      *pgxpool.Pool
	session string
	// authClock moves the authenticator's clock (sessions expire by it) ahead
	// of the server's.
	authClock *movingClock
}

// movingClock reads a fixed time plus an offset a test may move.
type movingClock struct {
	mu     sync.Mutex
	at     time.Time
	offset time.Duration
}

func (c *movingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at.Add(c.offset)
}

func (c *movingClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// The password of every test user.
const testPassword = "command-centre-test"

// addUser makes a user with the test password (none: a one-time password,
// which it returns, to be changed at the first login).
func (s server) addUser(t *testing.T, name, display string, roles []auth.Role, units []string, oneTime bool) string {
	t.Helper()
	pw := testPassword
	if oneTime {
		pw = ""
	}
	got, err := auth.NewUsers(s.db).Add(context.Background(), auth.NewUser{Name: name, DisplayName: display, Roles: roles, Units: units, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// startServer serves the API, tiles and page over the city (and any more cities
// loaded after it) on 127.0.0.1:0 as `onegrid serve` does (connected as the
// application role, under row-level security, with the fixture's data key),
// with the server's clock fixed at the city's "today" (the machine's date plays
// no part), and logs a command-centre user in.
func startServer(t *testing.T, city *fixture.City, more ...*fixture.City) server {
	t.Helper()
	return startServerWith(t, nil, city, more...)
}

// startServerWith is startServer with a public scope: the unit prefixes whose
// aggregates anonymous visitors may see (nil: no anonymous access).
func startServerWith(t *testing.T, public []string, city *fixture.City, more ...*fixture.City) server {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.ConnString(t)
	db, err := pgxpool.New(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for _, c := range append([]*fixture.City{city}, more...) {
		if err := c.Load(ctx, db); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := auth.NewUsers(db).Add(ctx, auth.NewUser{Name: "command", DisplayName: "指挥中心 值班员", Roles: []auth.Role{auth.Command}, Units: []string{"*"}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	app := pgtest.NewApp(t, conn)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	now := clock.Fixed(city.Now)
	ts, err := tiles.Open(ctx, pgtest.AppConnString(t, conn), tiles.Config{CacheBytes: 16 << 20, MaxConns: 4, Now: now}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	authClock := &movingClock{at: city.Now}
	cfg := api.Config{Tiles: ts, Web: web.Dist(), StreamHeartbeat: 5 * time.Second, Now: now, DataKey: fixture.DataKey(),
		Auth: auth.NewAuthenticator(app, auth.Config{Now: authClock.now})}
	if public != nil {
		cfg.Public = auth.PublicPrincipal(public)
	}
	h := api.New(cfg, app, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(h.Close)
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	base := "http://" + ln.Addr().String()
	return server{base: base, db: db, session: login(t, base, "command", testPassword), authClock: authClock}
}

// formLogin logs in through the page's login form: it waits for the form,
// types the name and password and submits.
func formLogin(name, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, a := range []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.ID("login-form")),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('login-name').value = ''; document.getElementById('login-password').value = ''`),
			chromedp.SendKeys(chromedp.ID("login-name"), name),
			chromedp.SendKeys(chromedp.ID("login-password"), password),
			chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)),
		} {
			if _, err := a(ctx, tg); err != nil {
				return err
			}
		}
		return nil
	})
}

// pageReady waits until the screen has drawn its first full map.
var pageReady = chromedp.Poll[chromedp.Void](`window.__onegrid && window.__onegrid.ready`, chromedp.WithPollingTimeout(30*time.Second))

// login logs a user in through the API and returns the session cookie's value.
func login(t *testing.T, base, name, password string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/session", "application/json",
		strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "onegrid_session" && resp.StatusCode == 200 {
			return c.Value
		}
	}
	t.Fatalf("log in as %s: %s", name, resp.Status)
	return ""
}

// get fetches a path of the server with the session cookie.
func (s server) get(t *testing.T, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.AddCookie(&http.Cookie{Name: "onegrid_session", Value: s.session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// withSession puts the session cookie into the browser context, as a login would.
func (s server) withSession() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		httpOnly := true
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "onegrid_session", Value: s.session,
			URL: s.base, HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict})
		return err
	})
}

// pageKPIs reads the figures the panel shows, by name ("" when it shows none).
const pageKPIs = `Object.fromEntries([...document.querySelectorAll('#kpis .kpi')].map(e => [e.dataset.kpi, e.dataset.value]))`

// machineBusy reports the 1-minute load average and whether it exceeds 1.5 per CPU.
func machineBusy() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var load float64
	if _, err := fmt.Sscan(string(b), &load); err != nil {
		return 0, false
	}
	return load, load > 1.5*float64(goruntime.NumCPU())
}

// tileRequests returns the tile URLs the map asked for that contain part. MapLibre
// fetches tiles in a worker, whose requests the page's network events do not show.
func tileRequests(t *testing.T, ctx context.Context, part string) []string {
	t.Helper()
	return filter(eval[[]string](t, ctx, `window.__onegrid.ctl.tileRequests`), func(u string) bool { return strings.Contains(u, part) })
}

func filter(list []string, keep func(string) bool) []string {
	var out []string
	for _, s := range list {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// eval evaluates expr in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitKPIs waits until the panel shows figures for the scope ending in code.
func waitKPIs(code string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
		const a = window.__onegrid, sel = a.state.chain[a.state.chain.length - 1];
		return a.kpis && a.kpisFor === %q && (sel ? sel.code : '') === %[1]q
			&& document.querySelector('#kpis .kpi .v').textContent !== '…';
	})()`, code), chromedp.WithPollingTimeout(15*time.Second))
}

// startBrowser starts headless Chromium for the test; the whole browser session
// is bounded so a stuck test ends within two minutes.
func startBrowser(t *testing.T, bin string) context.Context {
	t.Helper()
	allocCtx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-gl", "angle"),
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.WindowSize(1600, 900),
	)
	t.Cleanup(cancel)
	browserCtx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	browserCtx, cancel = context.WithTimeout(browserCtx, 100*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(browserCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return browserCtx
}

// TestCommandCentreAnyDay opens the page over the fixture city moved a year
// before and a year after the machine's date, each with the server's clock at
// the city's "today": the default window, its figures and the event layers
// follow the server's clock, not the browser's or the database's.
func TestCommandCentreAnyDay(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	browserCtx := startBrowser(t, bin)
	wall := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name string
		now  time.Time
	}{{"a year before", wall.AddDate(-1, 0, 0)}, {"a year after", wall.AddDate(1, 0, 0)}} {
		t.Run(tc.name, func(t *testing.T) {
			city := fixture.NewAt(tc.now)
			srv := startServer(t, city)
			base, db := srv.base, srv.db
			blog := &browserLog{origin: base}
			// Without a session the page asks who is logged in, and its
			// preloads of the overview and the tile index are refused.
			blog.expect(http.StatusUnauthorized, "/api/v1/session", "/api/v1/overview", "/tiles.json")
			ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(blog.listen))
			defer cancel()
			// Logged in through the form: the session cookie must hold in a
			// browser whose clock is a year away from the server's.
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), formLogin("command", testPassword), pageReady, waitKPIs("")); err != nil {
				blog.check(t)
				t.Fatalf("log in and load the page: %v", err)
			}
			blog.unexpect()
			win := eval[struct{ From, To string }](t, ctx, `window.__onegrid.kpiWindow`)
			from, _ := time.Parse(time.RFC3339, win.From)
			to, _ := time.Parse(time.RFC3339, win.To)
			if d := to.Sub(city.Now); d < 0 || d > 2*time.Minute || to.Sub(from) < 29*24*time.Hour {
				t.Errorf("default window %s..%s, want the 30 days up to the server's now %s", win.From, win.To, city.Now.Format(time.RFC3339))
			}
			evKeys := recordKeys(t, db, "event")
			var events sdctest.Set
			open, overdue := 0, 0
			for _, e := range city.Events {
				if !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
					events.Add(evKeys[e.ID])
					if e.Open() {
						open++
						if e.Deadline.Before(city.Now) {
							overdue++
						}
					}
				}
			}
			if events.N == 0 {
				t.Fatal("the fixture has no event in the default window: the test proves nothing")
			}
			kpis := eval[map[string]string](t, ctx, pageKPIs)
			want := map[string]string{"events": panelEvents(events), "open": fmt.Sprint(open), "overdue": fmt.Sprint(overdue)}
			for k, v := range want {
				if kpis[k] != v {
					t.Errorf("panel %s = %q, want %s (window %s..%s)", k, kpis[k], v, win.From, win.To)
				}
			}
			layers := eval[[]string](t, ctx, `[...new Set(window.__onegrid.map.queryRenderedFeatures().map(f => f.layer.id))]`)
			if !slices.Contains(layers, "ev-circle") && !slices.Contains(layers, "eh3-fill") {
				t.Errorf("rendered layers %v show no events", layers)
			}
			blog.check(t)
		})
	}
}

func TestCommandCentre(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	city := fixture.New()
	srv := startServer(t, city)
	base, db := srv.base, srv.db
	out := artifacts(t)
	hhKeys, evKeys := recordKeys(t, db, "household"), recordKeys(t, db, "event")

	// Warm the server: the page, its assets and the tile layer versions.
	for _, p := range []string{"/", "/tiles.json", "/api/v1/overview"} {
		srv.get(t, p).Body.Close()
	}

	browserCtx := startBrowser(t, bin)
	// Warm the server as a first visitor would (tile renders, statement caches),
	// in a browser context of its own, so the measured visit starts with an empty
	// browser cache against a warm server.
	warmCtx, warmCancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(warmCtx, srv.withSession(), chromedp.Navigate(base+"/"),
		chromedp.Poll[chromedp.Void](`window.__onegrid && window.__onegrid.ready`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("warm-up visit: %v", err)
	}
	warmCancel()
	blog := &browserLog{origin: base}
	var ctx context.Context
	var firstIdle float64
	// First paint is timed on a machine that may be busy with other work: up to
	// three visits, each with an empty browser cache, and the best counts.
	for attempt := 1; ; attempt++ {
		var visitCancel context.CancelFunc
		ctx, visitCancel = chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(blog.listen))
		defer visitCancel()
		if err := chromedp.Do(ctx, srv.withSession(), chromedp.Navigate(base+"/"),
			chromedp.Poll[chromedp.Void](`window.__onegrid && window.__onegrid.ready`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			blog.check(t)
			t.Fatalf("load the page: %v", err)
		}
		firstIdle = eval[float64](t, ctx, `window.__onegrid.metrics.firstIdleMs`)
		t.Logf("visit %d: page timings (ms from navigation start): %v", attempt, eval[map[string]float64](t, ctx, `({...window.__onegrid.metrics,
			domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd})`))
		t.Logf("visit %d: %d tile requests", attempt, len(tileRequests(t, ctx, "/tiles/")))
		if firstIdle < 2000 || attempt == 3 {
			break
		}
		visitCancel()
	}
	t.Logf("first idle of the whole-area map (navigation start to MapLibre idle): %.0f ms", firstIdle)
	if firstIdle > 2000 {
		// A timing gate means something only on a machine that is not busy with
		// other work: on an overloaded one it is reported, not failed.
		if load, busy := machineBusy(); busy {
			t.Logf("whole-area view took %.0f ms (want under 2000), but the machine is busy (load %.1f on %d CPUs): not failing on it", firstIdle, load, goruntime.NumCPU())
		} else {
			t.Errorf("whole-area view took %.0f ms to become idle, want under 2000", firstIdle)
		}
	}

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, name), buf, 0o644)
		})
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// Each step has its own deadline, so a stuck one says which it was.
		for i, a := range actions {
			stepCtx, cancel := context.WithTimeout(ctx, 25*time.Second)
			_, err := chromedp.Run(stepCtx, a)
			cancel()
			if err != nil {
				state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({ready: window.__onegrid?.ready, kpisFor: window.__onegrid?.kpisFor, chain: window.__onegrid?.state.chain, stream: window.__onegrid?.streamOpen, details: document.getElementById('details').outerHTML.slice(0, 300)})`))
				_ = chromedp.Do(ctx, shot("failed.png"))
				blog.check(t)
				t.Fatalf("%s, step %d: %v (page state %s)", what, i+1, err, state)
			}
		}
	}
	poll := func(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))
	}
	// idle resolves at the map's next 'idle': a repaint makes MapLibre fire it as
	// soon as nothing is loading or moving.
	idle := poll(`new Promise(r => { const m = window.__onegrid.map; m.once('idle', () => r(true)); m.triggerRepaint(); })`, 20*time.Second)

	t.Run("tiles rendered", func(t *testing.T) {
		layers := eval[[]string](t, ctx, `[...new Set(window.__onegrid.map.queryRenderedFeatures().map(f => f.layer.id))]`)
		for _, want := range []string{"admin-fill", "grids-line", "bld-fill"} {
			if !slices.Contains(layers, want) {
				t.Errorf("rendered layers %v lack %s", layers, want)
			}
		}
		// Events show as points from z14 and as H3 density below.
		if !slices.Contains(layers, "ev-circle") && !slices.Contains(layers, "eh3-fill") {
			t.Errorf("rendered layers %v show no events", layers)
		}
		if got := tileRequests(t, ctx, "/tiles/admin/"); len(got) == 0 {
			t.Error("no admin tiles requested")
		}
	})

	t.Run("whole-area figures", func(t *testing.T) {
		run("figures", waitKPIs(""))
		kpis := eval[map[string]string](t, ctx, pageKPIs)
		win := eval[struct{ From, To string }](t, ctx, `window.__onegrid.kpiWindow`)
		from, _ := time.Parse(time.RFC3339, win.From)
		to, _ := time.Parse(time.RFC3339, win.To)
		// Households, people and events are released under disclosure control
		// (internal/sdctest from the record keys); open and overdue come raw from
		// the event summary.
		people := int64(0)
		var households sdctest.Set
		for _, h := range city.Households {
			people += int64(h.Members)
			households.Add(hhKeys[h.ID])
		}
		var events sdctest.Set
		open, overdue := 0, 0
		now := city.Now
		for _, e := range city.Events {
			if !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
				events.Add(evKeys[e.ID])
				if e.Open() {
					open++
					if e.Deadline.Before(now) {
						overdue++
					}
				}
			}
		}
		want := map[string]string{"households": fmt.Sprint(*sdctest.Count(5, households, sdctest.Households)),
			"people": fmt.Sprint(*sdctest.Sum(5, people, households, sdctest.People)),
			"events": panelEvents(events), "open": fmt.Sprint(open), "overdue": fmt.Sprint(overdue)}
		for k, v := range want {
			if kpis[k] != v {
				t.Errorf("panel %s = %q, want %s (fixture, window %s..%s)", k, kpis[k], v, win.From, win.To)
			}
		}
		t.Logf("whole area: %v", kpis)
		run("screenshot", shot("command-centre-city.png"))
	})

	// The south half of 南园社区: grid 440304002001001 (version 2).
	const gridCode = "440304002001001"
	t.Run("drill down to a grid", func(t *testing.T) {
		clickAt := func(lon, lat float64) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				p, err := chromedp.Evaluate[struct{ X, Y float64 }](fmt.Sprintf(`window.__onegrid.map.project([%f, %f])`, lon, lat))(ctx, tg)
				if err != nil {
					return err
				}
				_, err = chromedp.MouseClickXY(p.X, p.Y)(ctx, tg)
				return err
			})
		}
		for _, want := range []string{"440304002000", "440304002001", gridCode} {
			// A point in the grid clear of its buildings.
			run("click towards "+want, clickAt(114.0285, 22.5015), waitKPIs(want), idle)
		}
		crumbs := eval[[]string](t, ctx, `[...document.querySelectorAll('#breadcrumb [data-code]')].map(e => e.dataset.code)`)
		// One district is the whole area: the breadcrumb starts at the root and skips it.
		if !slices.Equal(crumbs, []string{"", "440304002000", "440304002001", gridCode}) {
			t.Errorf("breadcrumb codes %v", crumbs)
		}
		// The grid's figures equal the API's grid load.
		kpis := eval[map[string]string](t, ctx, pageKPIs)
		var load struct{ Households, People *int64 }
		if resp := srv.get(t, "/api/v1/grids/"+gridCode+"/load"); resp.StatusCode == 200 {
			_ = json.NewDecoder(resp.Body).Decode(&load)
			resp.Body.Close()
		}
		var gridHH sdctest.Set
		for _, h := range city.Households {
			if strings.HasPrefix(h.GridCode, gridCode) {
				gridHH.Add(hhKeys[h.ID])
			}
		}
		wantHH := sdctest.Count(5, gridHH, sdctest.Households)
		if wantHH == nil || kpis["households"] != fmt.Sprint(*wantHH) || load.Households == nil || *load.Households != *wantHH {
			t.Errorf("grid households on the panel %q, API load %v, want %v released of %d (fixture)", kpis["households"], load.Households, wantHH, gridHH.N)
		}
		t.Logf("grid %s: %v", gridCode, kpis)
		run("screenshot", shot("command-centre-grid.png"))

		// A building in the grid: its address and households, no personal data.
		var b fixture.Building
		for _, x := range city.Buildings {
			if x.GridCode == gridCode+"01" {
				b = x
				break
			}
		}
		c := b.Bound.Center()
		run("click a building", clickAt(c[0], c[1]),
			chromedp.Poll[chromedp.Void](`document.getElementById('details').dataset.kind === 'building'`, chromedp.WithPollingTimeout(10*time.Second)))
		details := eval[string](t, ctx, `document.getElementById('details').innerText`)
		var bldHH sdctest.Set
		text := ""
		for _, a := range city.Addresses {
			if a.ID == b.AddressID {
				text = a.Text
			}
		}
		for _, h := range city.Households {
			for _, a := range city.Addresses {
				if a.ID == h.AddressID && a.ParentID == b.AddressID {
					bldHH.Add(hhKeys[h.ID])
				}
			}
		}
		// The households as released; a suppressed count leaves the row out.
		wantBld := sdctest.Count(5, bldHH, sdctest.Households)
		shown := strings.Contains(details, "户数\n")
		if !strings.Contains(details, text) || (wantBld == nil) == shown || wantBld != nil && !strings.Contains(details, fmt.Sprintf("户数\n%d\n", *wantBld)) {
			t.Errorf("building details %q, want address %q and households %v (released, of %d)", details, text, wantBld, bldHH.N)
		}
		if strings.Contains(details, "*") {
			t.Errorf("building details show masked personal data: %q", details)
		}
	})

	t.Run("category filter changes the tiles requested", func(t *testing.T) {
		isFiltered := func(u string) bool {
			q, err := url.Parse(u)
			return err == nil && strings.HasPrefix(q.Path, "/tiles/events") && q.Query().Get("category") == "01"
		}
		before := len(filter(tileRequests(t, ctx, "/tiles/events"), isFiltered))
		run("choose category 01", chromedp.SetValue(chromedp.ID("category"), "01"),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('category').dispatchEvent(new Event('change'))`),
			chromedp.Sleep(300*time.Millisecond), idle)
		got := filter(tileRequests(t, ctx, "/tiles/events"), isFiltered)
		if len(got) <= before {
			t.Errorf("no event tiles requested with category=01 after the filter changed")
		}
		run("reset", chromedp.SetValue(chromedp.ID("category"), ""),
			chromedp.Evaluate[chromedp.Void](`document.getElementById('category').dispatchEvent(new Event('change'))`), idle)
	})

	t.Run("search finds an address and flies there", func(t *testing.T) {
		var want fixture.Address
		for _, a := range city.Addresses {
			if a.Level == "building" && a.Alias != "" {
				want = a // found by its old name
				break
			}
		}
		run("search", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const i = document.getElementById('search-input');
				i.value = %q; i.dispatchEvent(new Event('input')); })()`, want.Alias)),
			chromedp.Poll[chromedp.Void](fmt.Sprintf(`[...document.querySelectorAll('#search-results button')].some(b => b.textContent.includes(%q))`, want.Text),
				chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#search-results button').click()`),
			chromedp.Sleep(1200*time.Millisecond), idle)
		c := eval[struct{ Lng, Lat float64 }](t, ctx, `window.__onegrid.map.getCenter()`)
		dx := (c.Lng - want.Point[0]) * geo.MetresPerDegreeLon(c.Lat)
		dy := (c.Lat - want.Point[1]) * geo.MetresPerDegreeLat(c.Lat)
		if d := math.Hypot(dx, dy); d > 5 {
			t.Errorf("map centred %.0f m from %s", d, want.Text)
		}
	})

	t.Run("hotspot layer", func(t *testing.T) {
		run("turn on hotspots", chromedp.Evaluate[chromedp.Void](`document.getElementById('layer-hotspots').click()`),
			chromedp.Sleep(500*time.Millisecond), idle)
		if !eval[bool](t, ctx, `window.__onegrid.state.visible.has('hotspots')`) {
			t.Error("hotspot layer not shown")
		}
		run("turn off", chromedp.Evaluate[chromedp.Void](`document.getElementById('layer-hotspots').click()`))
	})

	t.Run("English interface", func(t *testing.T) {
		run("switch", chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').click()`))
		if got := eval[string](t, ctx, `document.querySelector('.kpi[data-kpi=households] .k').textContent`); got != "Households" {
			t.Errorf("English label %q", got)
		}
		run("switch back", chromedp.Evaluate[chromedp.Void](`document.getElementById('lang').click()`))
	})

	t.Run("a new event appears live", func(t *testing.T) {
		run("stream open", poll(`window.__onegrid.streamOpen`, 10*time.Second))
		p := [2]float64{114.0255, 22.5052}
		cell, err := geo.CellAt(p[0], p[1], geo.StorageRes)
		if err != nil {
			t.Fatal(err)
		}
		eventTiles := len(tileRequests(t, ctx, "/tiles/events"))
		var id int64
		err = db.QueryRow(context.Background(), `
			INSERT INTO event (category_code, severity, source, status, title, reported_at, deadline, geom, h3, admin_code, grid_code, grid_version)
			VALUES ('020101', 'urgent', 'patrol', 'reported', '楼道堆物', $4, $4::timestamptz + interval '24 hours',
				ST_SetSRID(ST_MakePoint($1, $2), 4326), $3, '440304002001', '44030400200100101', 2)
			RETURNING id`, p[0], p[1], cell, city.Now).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now() // committed: the 2 s start now
		run("feed shows it", chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.querySelector('#feed li[data-id="%d"]')`, id),
			chromedp.WithPollingTimeout(2*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
		t.Logf("event %d in the feed %v after the insert", id, time.Since(start).Round(time.Millisecond))
		run("event details", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('#feed li[data-id="%d"]').click()`, id)),
			chromedp.WaitVisible(chromedp.CSS(`#details[data-kind=event]`)), idle, shot("command-centre-event.png"))
		details := eval[string](t, ctx, `document.getElementById('details').innerText`)
		if !strings.Contains(details, "楼道堆物") || !strings.Contains(details, "紧急") {
			t.Errorf("event details %q lack the category and severity", details)
		}
		// The event layers are asked for again, so the new event lands in the tiles.
		run("event tiles refreshed", chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`window.__onegrid.ctl.tileRequests.filter(u => u.includes('/tiles/events')).length > %d`, eventTiles),
			chromedp.WithPollingTimeout(10*time.Second)))
	})

	blog.check(t)
}

// TestCommandCentreAreas loads a second, smaller city a thousand kilometres from
// the first: the page opens fitted to the first (the most households), lists
// both with their figures, and switching fits the map to the second, whose
// figures and drill-down the panel then shows. Expected figures are counted
// here from the fixtures' Go values.
func TestCommandCentreAreas(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	city := fixture.New()
	town := fixture.NewTown(city.Now)
	srv := startServer(t, city, town)
	base := srv.base
	browserCtx := startBrowser(t, bin)
	blog := &browserLog{origin: base}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(blog.listen))
	defer cancel()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			stepCtx, cancel := context.WithTimeout(ctx, 25*time.Second)
			_, err := chromedp.Run(stepCtx, a)
			cancel()
			if err != nil {
				blog.check(t)
				t.Fatalf("%s, step %d: %v", what, i+1, err)
			}
		}
	}
	idle := chromedp.Poll[chromedp.Void](`new Promise(r => { const m = window.__onegrid.map; m.once('idle', () => r(true)); m.triggerRepaint(); })`, chromedp.WithPollingTimeout(20*time.Second))
	// The first run allocates the tab, on ctx itself (a step's context would take it along when it ends).
	if err := chromedp.Do(ctx, srv.withSession(), chromedp.Navigate(base+"/"),
		chromedp.Poll[chromedp.Void](`window.__onegrid && window.__onegrid.ready`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		blog.check(t)
		t.Fatalf("load the page: %v", err)
	}
	run("first figures", waitKPIs(""), idle)

	type bounds struct{ W, S, E, N float64 }
	view := func() bounds {
		return eval[bounds](t, ctx, `(() => { const b = window.__onegrid.map.getBounds(); return {W: b.getWest(), S: b.getSouth(), E: b.getEast(), N: b.getNorth()}; })()`)
	}
	// fitted: the view holds the area's rectangle, and is no more than ten
	// times its size (never the two cities at once).
	fitted := func(name string, a fixture.Area) {
		t.Helper()
		v := view()
		b := a.Bound
		if v.W > b.Min[0]+1e-6 || v.S > b.Min[1]+1e-6 || v.E < b.Max[0]-1e-6 || v.N < b.Max[1]-1e-6 {
			t.Errorf("%s: view %+v does not hold %s %v", name, v, a.Name, b)
		}
		if v.E-v.W > 10*(b.Max[0]-b.Min[0]) || v.N-v.S > 10*(b.Max[1]-b.Min[1]) {
			t.Errorf("%s: view %+v is far larger than %s %v", name, v, a.Name, b)
		}
	}
	hhKeys, evKeys := recordKeys(t, srv.db, "household"), recordKeys(t, srv.db, "event")
	// want counts the figures of c in the page's window: households, people
	// and events as released under disclosure control (internal/sdctest),
	// open and overdue raw from the event summary.
	want := func(c *fixture.City) map[string]string {
		win := eval[struct{ From, To string }](t, ctx, `window.__onegrid.kpiWindow`)
		from, _ := time.Parse(time.RFC3339, win.From)
		to, _ := time.Parse(time.RFC3339, win.To)
		var households, events sdctest.Set
		people, open, overdue := int64(0), 0, 0
		for _, h := range c.Households {
			people += int64(h.Members)
			households.Add(hhKeys[h.ID])
		}
		for _, e := range c.Events {
			if !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
				events.Add(evKeys[e.ID])
				if e.Open() {
					open++
					if e.Deadline.Before(city.Now) {
						overdue++
					}
				}
			}
		}
		return map[string]string{"households": fmt.Sprint(*sdctest.Count(5, households, sdctest.Households)),
			"people": fmt.Sprint(*sdctest.Sum(5, people, households, sdctest.People)),
			"events": panelEvents(events), "open": fmt.Sprint(open), "overdue": fmt.Sprint(overdue)}
	}
	checkKPIs := func(name string, c *fixture.City) {
		t.Helper()
		kpis := eval[map[string]string](t, ctx, pageKPIs)
		for k, v := range want(c) {
			if kpis[k] != v {
				t.Errorf("%s: panel %s = %q, want %s", name, k, kpis[k], v)
			}
		}
	}

	t.Run("opens fitted to the city with the most households", func(t *testing.T) {
		if got := eval[string](t, ctx, `window.__onegrid.area.code`); got != "4403" {
			t.Errorf("area on screen %q, want 4403", got)
		}
		fitted("first view", city.Areas[0])
		checkKPIs("first area", city)
		if got := eval[string](t, ctx, `document.getElementById('scope-name').textContent`); got != "福田区" {
			t.Errorf("scope %q, want 福田区", got)
		}
	})

	t.Run("lists both areas with their figures", func(t *testing.T) {
		type item struct{ Code, Name, Households, Events, Open string }
		items := eval[[]item](t, ctx, `[...document.querySelectorAll('#area-list .area')].map(b => ({Code: b.dataset.area,
			Name: b.querySelector('.n').textContent, Households: b.querySelector('[data-fig=households]').textContent,
			Events: b.querySelector('[data-fig=events]').textContent, Open: b.querySelector('[data-fig=open]').textContent}))`)
		// The list counts the overview's default window: the 30 days before now.
		count := func(c *fixture.City) (int, int) {
			events, open := 0, 0
			for _, e := range c.Events {
				if !e.ReportedAt.Before(city.Now.Add(-30*24*time.Hour)) && e.ReportedAt.Before(city.Now) {
					events++
					if e.Open() {
						open++
					}
				}
			}
			return events, open
		}
		if len(items) != 2 {
			t.Fatalf("area list %+v, want two", items)
		}
		for i, c := range []*fixture.City{city, town} {
			ev, op := count(c)
			// The overview's households are released (internal/sdctest); its
			// event counts are exact for the command centre, who reads events.
			var households sdctest.Set
			for _, h := range c.Households {
				households.Add(hhKeys[h.ID])
			}
			w := item{Code: []string{"4403", "3301"}[i], Name: c.Areas[0].Name, Households: fmt.Sprintf("户数 %d", *sdctest.Count(5, households, sdctest.Households)),
				Events: fmt.Sprintf("事件数 %d", ev), Open: fmt.Sprintf("在办 %d", op)}
			if items[i] != w {
				t.Errorf("area %d: %+v, want %+v", i, items[i], w)
			}
		}
	})

	t.Run("switching fits the second area and shows its figures", func(t *testing.T) {
		run("switch", chromedp.Evaluate[chromedp.Void](`document.querySelector('#area-list [data-area="3301"]').click()`),
			chromedp.Poll[chromedp.Void](`window.__onegrid.area.code === '3301'`, chromedp.WithPollingTimeout(5*time.Second)),
			waitKPIs(""), chromedp.Sleep(900*time.Millisecond), idle)
		fitted("after switching", town.Areas[0])
		checkKPIs("second area", town)
		run("screenshot", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(artifacts(t), "command-centre-areas.png"), buf, 0o644)
		}))
		if got := eval[string](t, ctx, `document.getElementById('scope-name').textContent`); got != "西湖区" {
			t.Errorf("scope %q, want 西湖区", got)
		}
		// Drill-down works inside it: the district is the whole area, so a
		// click selects its street.
		g := town.Grids[len(town.Grids)-1]
		c := g.Bound.Center()
		run("click in the second area", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			p, err := chromedp.Evaluate[struct{ X, Y float64 }](fmt.Sprintf(`window.__onegrid.map.project([%f, %f])`, c[0], c[1]+0.002))(ctx, tg)
			if err != nil {
				return err
			}
			_, err = chromedp.MouseClickXY(p.X, p.Y)(ctx, tg)
			return err
		}), waitKPIs("330106001000"))
		run("back to the first area", chromedp.Evaluate[chromedp.Void](`document.querySelector('#area-list [data-area="4403"]').click()`),
			chromedp.Poll[chromedp.Void](`window.__onegrid.area.code === '4403'`, chromedp.WithPollingTimeout(5*time.Second)),
			waitKPIs(""), chromedp.Sleep(900*time.Millisecond), idle)
		fitted("after switching back", city.Areas[0])
		checkKPIs("first area again", city)
	})
	blog.check(t)
}

// TestLogin drives the login form: without a session the page shows it instead
// of the screen, in Chinese and in English; a wrong password and an unknown
// name get the same one message; a login boots the screen with the user in the
// header; a renewed session's anti-forgery token is read again; an ended
// session brings the form back without reloading (and the same user gets the
// screen back as it was); logging out ends the session; a one-time password
// must be changed before anything else.
func TestLogin(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	city := fixture.New()
	srv := startServer(t, city)
	oneTime := srv.addUser(t, "newcomer", "新同事", []auth.Role{auth.Command}, []string{"*"}, true)
	out := artifacts(t)
	browserCtx := startBrowser(t, bin)
	blog := &browserLog{origin: srv.base}
	// Without a session: who is logged in, and the page's preloads.
	blog.expect(http.StatusUnauthorized, "/api/v1/session", "/api/v1/overview", "/tiles.json")
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(blog.listen))
	defer cancel()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for i, a := range actions {
			stepCtx, cancel := context.WithTimeout(ctx, 25*time.Second)
			_, err := chromedp.Run(stepCtx, a)
			cancel()
			if err != nil {
				blog.check(t)
				t.Fatalf("%s, step %d: %v", what, i+1, err)
			}
		}
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(out, name), buf, 0o644)
		})
	}
	text := func(css string) string {
		t.Helper()
		return eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? '').trim()`, css))
	}
	shown := func(id string) bool {
		t.Helper()
		return eval[bool](t, ctx, fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && !e.closest('[hidden]') && getComputedStyle(e).visibility !== 'hidden'; })()`, id))
	}
	// errorShown waits for the login form's error after a submit.
	errorShown := chromedp.Poll[chromedp.Void](`!document.getElementById('login-error').hidden && !document.querySelector('#login-form button[type=submit]').disabled`,
		chromedp.WithPollingTimeout(10*time.Second))

	// The first run allocates the tab, on ctx itself.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("login-form"))); err != nil {
		blog.check(t)
		t.Fatalf("open the page: %v", err)
	}

	t.Run("the login form instead of the screen", func(t *testing.T) {
		if got := text("#login-form h1"); got != "登录" {
			t.Errorf("form title %q, want 登录", got)
		}
		if shown("map") || shown("panel") {
			t.Error("the screen shows behind the login form")
		}
		if got := blog.requested("/api/v1/aggregates"); len(got) > 0 {
			t.Errorf("the page asked for figures before a login: %v", got)
		}
		run("screenshot", shot("login.png"))
	})

	t.Run("in English", func(t *testing.T) {
		run("switch", chromedp.Click(chromedp.ID("auth-lang")))
		if got := text("#login-form h1"); got != "Log in" {
			t.Errorf("form title %q, want Log in", got)
		}
		if got := text(`label:has(#login-name) span`); got != "User name" {
			t.Errorf("name label %q", got)
		}
		if got := eval[string](t, ctx, `document.documentElement.lang`); got != "en" {
			t.Errorf("document language %q", got)
		}
		run("screenshot", shot("login-en.png"))
	})

	t.Run("a wrong password or an unknown name: one message", func(t *testing.T) {
		blog.expect(http.StatusUnauthorized, "/api/v1/session")
		run("wrong password", formLogin("command", "not the password"), errorShown)
		wrong := text("#login-error")
		run("unknown name", formLogin("nobody", "not the password"), errorShown)
		unknown := text("#login-error")
		if wrong != "Wrong user name or password" || unknown != wrong {
			t.Errorf("wrong password says %q, unknown name %q: want one message, Wrong user name or password", wrong, unknown)
		}
		run("back to Chinese", chromedp.Click(chromedp.ID("auth-lang")))
		if got := text("#login-error"); got != "用户名或密码错误" {
			t.Errorf("the message in Chinese %q", got)
		}
		if !shown("login-form") || shown("map") {
			t.Error("a wrong password leaves the login form")
		}
		run("screenshot", shot("login-wrong.png"))
	})

	t.Run("a login shows the screen with the user in the header", func(t *testing.T) {
		run("log in", chromedp.Evaluate[chromedp.Void](`window.__marker = 'first load'`), formLogin("command", testPassword), pageReady, waitKPIs(""))
		if shown("auth") || !shown("map") {
			t.Error("the login form stays after the login")
		}
		if got, role := text("#user-name"), text("#user-role"); got != "指挥中心 值班员" || role != "指挥中心" {
			t.Errorf("header shows %q (%q), want the display name and the role", got, role)
		}
		kpis := eval[map[string]string](t, ctx, pageKPIs)
		if kpis["households"] != fmt.Sprint(len(city.Households)) {
			t.Errorf("figures after the login %v, want %d households", kpis, len(city.Households))
		}
		if got := eval[string](t, ctx, `window.__marker ?? ''`); got != "first load" {
			t.Error("the page reloaded to log in")
		}
	})

	// change picks another time window: the figures and event tiles are asked for again.
	change := func(window string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(fmt.Sprintf(`#window-buttons [data-window=%q]`, window)))
	}

	t.Run("a renewed session's anti-forgery token is read again", func(t *testing.T) {
		// A login in another tab replaces the cookie: the page's token is now
		// the old session's, and its POSTs are refused once, then retried.
		blog.expect(http.StatusForbidden, "/api/v1/aggregates")
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`fetch('/api/v1/session', {method: 'POST',
			headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: 'command', password: %q})}).then(r => r.status)`, testPassword),
			chromedp.EvalAwaitPromise))
		if err != nil || status != http.StatusOK {
			t.Fatalf("log in elsewhere: %d %v", status, err)
		}
		run("new figures", change("7d"), waitKPIs(""))
		if blog.seen(http.StatusForbidden, "/api/v1/aggregates") == 0 {
			t.Error("the stale token was not refused: the test proves nothing")
		}
		if kpis := eval[map[string]string](t, ctx, pageKPIs); kpis["households"] != fmt.Sprint(len(city.Households)) {
			t.Errorf("figures after the retry %v", kpis)
		}
	})

	t.Run("an ended session brings the login form back", func(t *testing.T) {
		blog.expect(http.StatusUnauthorized, "/api/v1/aggregates", "/api/v1/events/summary", "/api/v1/stream")
		srv.authClock.advance(13 * time.Hour) // past the session's 12 hours
		run("ask for figures", change("30d"), chromedp.WaitVisible(chromedp.ID("login-form")))
		if got := text("#login-note"); got != "会话已结束，请重新登录" {
			t.Errorf("login note %q", got)
		}
		if shown("map") {
			t.Error("the screen shows behind the login form")
		}
		documents := len(filter(blog.requested(srv.base+"/"), func(u string) bool { return u == srv.base+"/" }))
		run("wait", chromedp.Sleep(2*time.Second))
		if n := len(filter(blog.requested(srv.base+"/"), func(u string) bool { return u == srv.base+"/" })); n != documents || !shown("login-form") {
			t.Errorf("the page loaded %d times more while the session was over", n-documents)
		}
		run("log in again", formLogin("command", testPassword),
			chromedp.Poll[chromedp.Void](`document.getElementById('auth').hidden`, chromedp.WithPollingTimeout(10*time.Second)), waitKPIs(""))
		if got := eval[string](t, ctx, `window.__marker ?? ''`); got != "first load" {
			t.Error("the page reloaded for the same user")
		}
		if kpis := eval[map[string]string](t, ctx, pageKPIs); kpis["households"] != fmt.Sprint(len(city.Households)) {
			t.Errorf("figures after logging in again %v", kpis)
		}
		run("the stream again", chromedp.Poll[chromedp.Void](`window.__onegrid.streamOpen`, chromedp.WithPollingTimeout(10*time.Second)))
	})

	t.Run("logout", func(t *testing.T) {
		run("log out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-form")))
		if got := eval[string](t, ctx, `window.__marker ?? ''`); got != "" {
			t.Error("the page kept the session's memory after logging out")
		}
		status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/api/v1/session').then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil || status != http.StatusUnauthorized {
			t.Errorf("GET /api/v1/session after logging out: %d, want 401", status)
		}
	})

	t.Run("a one-time password is changed first", func(t *testing.T) {
		blog.expect(http.StatusBadRequest, "/api/v1/session/password")
		run("log in", formLogin("newcomer", oneTime), chromedp.WaitVisible(chromedp.ID("password-form")))
		if shown("map") {
			t.Error("the screen shows before the password is changed")
		}
		type_ := func(neu, again string) chromedp.Action[chromedp.Void] {
			return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				for _, a := range []chromedp.Action[chromedp.Void]{
					chromedp.Evaluate[chromedp.Void](`document.getElementById('pw-new').value = ''; document.getElementById('pw-repeat').value = ''`),
					chromedp.SendKeys(chromedp.ID("pw-new"), neu), chromedp.SendKeys(chromedp.ID("pw-repeat"), again),
					chromedp.Click(chromedp.CSS(`#password-form button[type=submit]`)),
				} {
					if _, err := a(ctx, tg); err != nil {
						return err
					}
				}
				return nil
			})
		}
		pwError := chromedp.Poll[chromedp.Void](`!document.getElementById('password-error').hidden && !document.querySelector('#password-form button[type=submit]').disabled`,
			chromedp.WithPollingTimeout(10*time.Second))
		run("two different", type_("a brand new password", "another new password"), pwError)
		if got := text("#password-error"); got != "两次输入的新密码不一致" {
			t.Errorf("mismatch says %q", got)
		}
		run("too short", type_("short", "short"), pwError)
		if got := text("#password-error"); got != fmt.Sprintf("新密码至少 %d 个字符", auth.MinPasswordLength) {
			t.Errorf("a short password says %q", got)
		}
		run("a good one", type_("a brand new password", "a brand new password"), pageReady, waitKPIs(""))
		if got := text("#user-name"); got != "新同事" {
			t.Errorf("header shows %q", got)
		}
		var must bool
		if err := srv.db.QueryRow(context.Background(), `SELECT must_change_password FROM app_user WHERE name = 'newcomer'`).Scan(&must); err != nil || must {
			t.Errorf("must_change_password %v (%v) after the change", must, err)
		}
	})
	blog.check(t)
}

// TestTwoUsersTwoScreens logs in, through the form, as a command-centre
// operator of the whole area, a grid worker of grid A and an analyst, each in a
// browser of their own, and shows three different screens: the extent fitted
// to each one's jurisdiction, figures counted here from the fixture for that
// jurisdiction, nothing rendered of another grid on the grid worker's map, the
// grid worker's households masked with unmasking on a stated reason (audited),
// and the analyst offered aggregates only.
func TestTwoUsersTwoScreens(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	city := fixture.New()
	srv := startServer(t, city)
	srv.addUser(t, "worker_a", "王网格员", []auth.Role{auth.GridWorker}, []string{fixture.GridA}, false)
	srv.addUser(t, "analyst", "上级分析", []auth.Role{auth.Analyst}, []string{"*"}, false)
	srv.addUser(t, "planner", "规划", []auth.Role{auth.Planner}, []string{fixture.District}, false)
	out := artifacts(t)
	browserCtx := startBrowser(t, bin)
	whole := t

	type bounds struct{ W, S, E, N float64 }
	type screen struct {
		ctx  context.Context
		blog *browserLog
		view bounds
		kpis map[string]string
		win  struct{ From, To string }
	}
	// open logs name in through the form in a browser context of its own and
	// waits for the screen's first figures.
	open := func(t *testing.T, name string) *screen {
		t.Helper()
		sc := &screen{blog: &browserLog{origin: srv.base}}
		sc.blog.expect(http.StatusUnauthorized, "/api/v1/session", "/api/v1/overview", "/tiles.json")
		ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(sc.blog.listen))
		whole.Cleanup(cancel) // the screen outlives the subtest that opens it
		sc.ctx = ctx
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/"), formLogin(name, testPassword), pageReady, waitKPIs(""),
			chromedp.Poll[chromedp.Void](`new Promise(r => { const m = window.__onegrid.map; m.once('idle', () => r(true)); m.triggerRepaint(); })`,
				chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			sc.blog.check(t)
			t.Fatalf("log in as %s: %v", name, err)
		}
		sc.blog.unexpect()
		sc.view = eval[bounds](t, ctx, `(() => { const b = window.__onegrid.map.getBounds(); return {W: b.getWest(), S: b.getSouth(), E: b.getEast(), N: b.getNorth()}; })()`)
		sc.kpis = eval[map[string]string](t, ctx, pageKPIs)
		sc.win = eval[struct{ From, To string }](t, ctx, `window.__onegrid.kpiWindow`)
		return sc
	}
	shot := func(t *testing.T, sc *screen, name string) {
		t.Helper()
		buf, err := chromedp.Run(sc.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// want counts the figures of the households and events whose grid code
	// starts with prefix ("" for all) in the screen's window.
	// Households, people and events as released under disclosure control
	// (internal/sdctest from the record keys); open and overdue raw.
	hhKeys, evKeys := recordKeys(t, srv.db, "household"), recordKeys(t, srv.db, "event")
	want := func(sc *screen, prefix string) map[string]string {
		from, _ := time.Parse(time.RFC3339, sc.win.From)
		to, _ := time.Parse(time.RFC3339, sc.win.To)
		var households, events sdctest.Set
		people, open, overdue := int64(0), 0, 0
		for _, h := range city.Households {
			if strings.HasPrefix(h.GridCode, prefix) {
				households.Add(hhKeys[h.ID])
				people += int64(h.Members)
			}
		}
		for _, e := range city.Events {
			if strings.HasPrefix(e.GridCode, prefix) && !e.ReportedAt.Before(from) && e.ReportedAt.Before(to) {
				events.Add(evKeys[e.ID])
				if e.Open() {
					open++
					if e.Deadline.Before(city.Now) {
						overdue++
					}
				}
			}
		}
		released := func(v *int64) string {
			if v == nil {
				return "—"
			}
			return fmt.Sprint(*v)
		}
		return map[string]string{"households": released(sdctest.Count(5, households, sdctest.Households)),
			"people": released(sdctest.Sum(5, people, households, sdctest.People)),
			"events": panelEvents(events), "open": fmt.Sprint(open), "overdue": fmt.Sprint(overdue)}
	}
	// holds reports whether the view holds the rectangle b and is at most ten
	// times its size.
	holds := func(v bounds, b orb.Bound) bool {
		return v.W <= b.Min[0]+1e-6 && v.S <= b.Min[1]+1e-6 && v.E >= b.Max[0]-1e-6 && v.N >= b.Max[1]-1e-6 &&
			v.E-v.W <= 10*(b.Max[0]-b.Min[0]) && v.N-v.S <= 10*(b.Max[1]-b.Min[1])
	}
	var gridA orb.Bound
	for _, g := range city.Grids {
		if g.Code == fixture.GridA && g.ValidTo == nil {
			gridA = g.Bound
		}
	}

	var command, worker *screen
	t.Run("command centre: the whole area", func(t *testing.T) {
		command = open(t, "command")
		if !holds(command.view, city.Areas[0].Bound) {
			t.Errorf("view %+v does not fit the district %v", command.view, city.Areas[0].Bound)
		}
		for k, v := range want(command, "") {
			if command.kpis[k] != v {
				t.Errorf("panel %s = %q, want %s", k, command.kpis[k], v)
			}
		}
		if eval[bool](t, command.ctx, `!document.getElementById('households').hidden`) {
			t.Error("the command centre, which may not read households, has a households panel")
		}
		shot(t, command, "screen-command.png")
		command.blog.check(t)
	})

	t.Run("grid worker: grid A", func(t *testing.T) {
		worker = open(t, "worker_a")
		ctx := worker.ctx
		if !holds(worker.view, gridA) {
			t.Errorf("view %+v does not fit grid A %v", worker.view, gridA)
		}
		if command != nil && worker.view.E-worker.view.W >= command.view.E-command.view.W {
			t.Errorf("the grid worker's view %+v is no smaller than the whole area's %+v", worker.view, command.view)
		}
		w := want(worker, fixture.GridA)
		for k, v := range w {
			if worker.kpis[k] != v {
				t.Errorf("panel %s = %q, want %s (grid A)", k, worker.kpis[k], v)
			}
		}
		if command != nil && worker.kpis["households"] == command.kpis["households"] {
			t.Errorf("the grid worker and the command centre see the same households %s", w["households"])
		}
		name := eval[string](t, ctx, `document.getElementById('scope-name').textContent`)
		crumbs := eval[[]string](t, ctx, `[...document.querySelectorAll('#breadcrumb [data-code]')].map(e => e.dataset.code)`)
		if name != "第1网格" || !slices.Equal(crumbs, []string{""}) {
			t.Errorf("the screen is %q with breadcrumb %v, want grid A (第1网格) as the whole area", name, crumbs)
		}
		// Nothing of another grid is drawn: every rendered feature lies in
		// grid A, or is a unit above it.
		type feature struct{ Layer, Code, Grid string }
		feats := eval[[]feature](t, ctx, `window.__onegrid.map.queryRenderedFeatures().map(f => ({Layer: f.layer.id,
			Code: String(f.properties.code ?? ''), Grid: String(f.properties.grid_code ?? '')}))`)
		for _, f := range feats {
			for _, c := range []string{f.Code, f.Grid} {
				if c != "" && !strings.HasPrefix(c, fixture.GridA) && !strings.HasPrefix(fixture.GridA, strings.TrimRight(c, "0")) {
					t.Errorf("the grid worker's map draws %s %s, outside grid A", f.Layer, c)
				}
			}
		}
		t.Logf("grid worker: %d rendered features; figures %v", len(feats), worker.kpis)
		shot(t, worker, "screen-grid-worker.png")
		switches := eval[[]string](t, ctx, `[...document.querySelectorAll('#layer-list input')].map(i => i.dataset.layer)`)
		if !eval[bool](t, ctx, `!!window.__onegrid.map.getLayer('grids-line')`) {
			// The tile server refuses tiles to a jurisdiction smaller than the
			// whole area (403): the page has taken those layers off the map and
			// their switches away, without an error (blog.check below).
			for _, l := range []string{"admin", "grids", "buildings"} {
				if slices.Contains(switches, l) {
					t.Errorf("the %s tiles were refused, but its switch stays (%v)", l, switches)
				}
			}
			t.Log("tiles refused to the grid worker (403): the map draws no features")
		} else {
			// Tiles drawn for the jurisdiction: grid A's micro-grids and
			// buildings are on the map, and a click goes into a micro-grid.
			var grids, buildings int
			for _, f := range feats {
				switch {
				case f.Layer == "grids-line" && strings.HasPrefix(f.Code, fixture.GridA):
					grids++
				case f.Layer == "bld-fill" && strings.HasPrefix(f.Grid, fixture.GridA):
					buildings++
				}
			}
			if grids < 2 || buildings == 0 {
				t.Errorf("the grid worker's map draws %d features of grid A's micro-grids and %d buildings of it", grids, buildings)
			}
			micro := fixture.GridA + "01"
			if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				p, err := chromedp.Evaluate[struct{ X, Y float64 }](`window.__onegrid.map.project([114.0285, 22.5015])`)(ctx, tg)
				if err != nil {
					return err
				}
				_, err = chromedp.MouseClickXY(p.X, p.Y)(ctx, tg)
				return err
			}), waitKPIs(micro)); err != nil {
				t.Fatalf("click into micro-grid %s: %v", micro, err)
			}
			crumbs := eval[[]string](t, ctx, `[...document.querySelectorAll('#breadcrumb [data-code]')].map(e => e.dataset.code)`)
			if !slices.Equal(crumbs, []string{"", micro}) {
				t.Errorf("breadcrumb %v after a click, want the grid and its micro-grid", crumbs)
			}
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#breadcrumb a').click()`), waitKPIs("")); err != nil {
				t.Fatalf("back to the grid: %v", err)
			}
		}
		worker.blog.check(t)
	})

	t.Run("grid worker: households masked, unmasked with a reason", func(t *testing.T) {
		if worker == nil {
			t.Skip("no grid worker screen")
		}
		ctx := worker.ctx
		inA := map[string]fixture.Household{}
		for _, h := range city.Households {
			if strings.HasPrefix(h.GridCode, fixture.GridA) {
				inA[fmt.Sprint(h.ID)] = h
			}
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelectorAll('#hh-list li').length === %d`, len(inA)),
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("households panel: %v (%d rows)", err, eval[int](t, ctx, `document.querySelectorAll('#hh-list li').length`))
		}
		type row struct{ ID, Head, Phone string }
		rows := eval[[]row](t, ctx, `[...document.querySelectorAll('#hh-list li')].map(li => ({ID: li.dataset.id,
			Head: li.querySelector('dd[data-field=head_name]').textContent, Phone: li.querySelector('dd[data-field=phone]').textContent}))`)
		for _, r := range rows {
			h, ok := inA[r.ID]
			switch {
			case !ok:
				t.Errorf("household %s is not in grid A", r.ID)
			case r.Head != h.HeadNameMasked || r.Phone != h.PhoneMasked:
				t.Errorf("household %s shows %q %q, want the masked %q %q", r.ID, r.Head, r.Phone, h.HeadNameMasked, h.PhoneMasked)
			}
		}
		if notice := eval[string](t, ctx, `document.getElementById('hh-audit')?.textContent ?? ''`); !strings.Contains(notice, "审计日志") {
			t.Errorf("the panel has no audit notice: %q", notice)
		}
		h := inA[rows[0].ID]
		const reason = "入户走访需联系户主"
		li := fmt.Sprintf(`#hh-list li[data-id="%d"]`, h.ID)
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(li+" button.unmask")),
			chromedp.Click(chromedp.CSS(li+` input[value=phone]`)),
			chromedp.SendKeys(chromedp.CSS(li+" textarea"), reason),
			chromedp.Click(chromedp.CSS(li+` .unmask-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(li+" .audit-done"))); err != nil {
			t.Fatalf("unmask: %v", err)
		}
		phone := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s dd[data-field=phone]').textContent`, li))
		head := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s dd[data-field=head_name]').textContent`, li))
		if phone != h.Phone || head != h.HeadNameMasked {
			t.Errorf("after unmasking the phone: %q %q, want the clear phone %q and the name still masked %q", head, phone, h.Phone, h.HeadNameMasked)
		}
		if done := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('%s .audit-done').textContent`, li)); !strings.Contains(done, "审计日志") {
			t.Errorf("no audit notice after unmasking: %q", done)
		}
		var who, why string
		var fields []string
		if err := srv.db.QueryRow(context.Background(), `SELECT user_name, fields, reason FROM audit_log
			WHERE record_kind = 'household' AND record_id = $1`, fmt.Sprint(h.ID)).Scan(&who, &fields, &why); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if who != "worker_a" || !slices.Equal(fields, []string{"phone"}) || why != reason {
			t.Errorf("audit log: %s %v %q, want worker_a [phone] %q", who, fields, why, reason)
		}
		shot(t, worker, "screen-grid-worker-unmasked.png")
		worker.blog.check(t)
	})

	t.Run("planner: a grid without households", func(t *testing.T) {
		sc := open(t, "planner")
		ctx := sc.ctx
		if got := eval[string](t, ctx, `window.__onegrid.area?.code ?? ''`); got != "440304" {
			t.Errorf("the planner's area %q, want the district 440304", got)
		}
		// Select grid A by its code, as the search does.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const i = document.getElementById('search-input');
				i.value = %q; i.dispatchEvent(new Event('input')); })()`, fixture.GridA)),
			chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('#search-results button')].length > 0`, chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#search-results button').click()`), waitKPIs(fixture.GridA)); err != nil {
			t.Fatalf("select grid A: %v", err)
		}
		w := want(sc, fixture.GridA)
		if kpis := eval[map[string]string](t, ctx, pageKPIs); kpis["households"] != w["households"] {
			t.Errorf("grid A's figures for the planner %v, want %s households", kpis, w["households"])
		}
		if eval[bool](t, ctx, `!document.getElementById('households').hidden`) || len(sc.blog.requested("/api/v1/households")) > 0 {
			t.Error("the planner, who may not read households, is shown a grid's households")
		}
		sc.blog.check(t)
	})

	t.Run("analyst: aggregates only", func(t *testing.T) {
		sc := open(t, "analyst")
		ctx := sc.ctx
		w := want(sc, "")
		for _, k := range []string{"households", "people", "events"} {
			if sc.kpis[k] != w[k] {
				t.Errorf("panel %s = %q, want %s", k, sc.kpis[k], w[k])
			}
		}
		for _, k := range []string{"open", "overdue"} {
			if _, ok := sc.kpis[k]; ok {
				t.Errorf("the analyst is shown %s, an event loop figure", k)
			}
		}
		layers := eval[[]string](t, ctx, `[...document.querySelectorAll('#layer-list input')].map(i => i.dataset.layer)`)
		for _, l := range []string{"events", "buildings", "addresses"} {
			if slices.Contains(layers, l) {
				t.Errorf("the analyst is offered the %s layer (%v)", l, layers)
			}
		}
		if eval[bool](t, ctx, `!document.getElementById('feed-section').hidden`) {
			t.Error("the analyst has a live feed of events")
		}
		for _, p := range []string{"/api/v1/stream", "/api/v1/events/summary", "/api/v1/buildings/", "/tiles/events/", "/tiles/buildings/", "/tiles/addresses/"} {
			if got := append(sc.blog.requested(p), tileRequests(t, ctx, p)...); len(got) > 0 {
				t.Errorf("the analyst's page asked for %s: %v", p, got)
			}
		}
		shot(t, sc, "screen-analyst.png")
		sc.blog.check(t)
	})
}

// TestPublicVisitor: on a server with a public scope, a visitor without a
// session gets the public screen (the public unit's disclosure-controlled
// figures, no logout) and a login button, which logs a user in and starts
// their own screen.
func TestPublicVisitor(t *testing.T) {
	bin := chromium()
	need(t, bin != "", "chromium not installed (scripts/setup.sh installs it)")
	need(t, web.Built(), "web/dist is not built: run `make web` (make test does) before go test")
	city := fixture.New()
	srv := startServerWith(t, []string{"440304002"}, city) // 南园街道
	browserCtx := startBrowser(t, bin)
	blog := &browserLog{origin: srv.base}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext(), chromedp.WithListener(blog.listen))
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.base+"/"), pageReady, waitKPIs("")); err != nil {
		blog.check(t)
		t.Fatalf("open the public screen: %v", err)
	}
	if got := eval[string](t, ctx, `document.getElementById('user-name').textContent`); got != "公众访问（仅汇总数据）" {
		t.Errorf("header %q, want the public visitor", got)
	}
	if eval[bool](t, ctx, `!document.getElementById('logout').hidden || document.getElementById('login-open').hidden`) {
		t.Error("a public visitor has a logout button, or no login button")
	}
	if got := eval[string](t, ctx, `document.getElementById('scope-name').textContent`); got != "南园街道" {
		t.Errorf("the public screen is %q, want 南园街道", got)
	}
	// Released under disclosure control (internal/sdctest from the record keys).
	hhKeys := recordKeys(t, srv.db, "household")
	var households sdctest.Set
	for _, h := range city.Households {
		if strings.HasPrefix(h.GridCode, "440304002") {
			households.Add(hhKeys[h.ID])
		}
	}
	kpis := eval[map[string]string](t, ctx, pageKPIs)
	want := sdctest.Count(5, households, sdctest.Households)
	if want == nil {
		t.Fatalf("the street has %d households, below the threshold: the check proves nothing", households.N)
	}
	if kpis["households"] != fmt.Sprint(*want) {
		t.Errorf("public figures %v, want %d households (%d released)", kpis, *want, households.N)
	}
	if _, ok := kpis["open"]; ok || eval[bool](t, ctx, `!document.getElementById('feed-section').hidden`) {
		t.Error("the public screen shows the event loop")
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__marker = 'public'`), chromedp.Click(chromedp.ID("login-open")),
		formLogin("command", testPassword)); err != nil {
		blog.check(t)
		t.Fatalf("log in from the public screen: %v", err)
	}
	// The page starts afresh: wait for the new one (an evaluation during the
	// navigation fails, and is tried again).
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		fresh, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__marker === undefined && !!window.__onegrid?.ready`))
		if err == nil && fresh {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not start afresh after the login (%v)", err)
		}
	}
	if err := chromedp.Do(ctx, waitKPIs("")); err != nil {
		t.Fatalf("figures after the login: %v", err)
	}
	if got := eval[string](t, ctx, `document.getElementById('user-name').textContent`); got != "指挥中心 值班员" {
		t.Errorf("after the login the header shows %q", got)
	}
	if kpis := eval[map[string]string](t, ctx, pageKPIs); kpis["households"] != fmt.Sprint(len(city.Households)) {
		t.Errorf("the command centre's figures %v, want %d households", kpis, len(city.Households))
	}
	blog.check(t)
}
