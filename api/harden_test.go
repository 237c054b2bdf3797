package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/limit"
	"github.com/onegrid/onegrid/tiles"
)

// hardServer serves the fixture city with cfg (its clock the city's "today").
func hardServer(t *testing.T, cfg Config, log *slog.Logger) (*Server, *httptest.Server, *pgxpool.Pool, *fixture.City) {
	t.Helper()
	owner, app := pgtest.Pair(t)
	city := fixture.New()
	if err := city.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	cfg.Now = clock.Fixed(city.Now)
	s, ts := serveServer(t, cfg, owner, app, log)
	return s, ts, owner, city
}

// send makes a request; body "" sends none. It returns the status, the error
// body's message (if any) and the response.
func send(t *testing.T, method, u, body string, header ...string) (int, string, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e apiError
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Message, resp
}

// samplePath fills a route pattern's wildcards with plausible values, except
// the one named bad, which gets the raw (already escaped) text given.
func samplePath(pattern, bad, raw string) string {
	samples := map[string]string{"id": "1", "collection": "events", "code": "440304001001001", "layer": "admin",
		"z": "0", "x": "0", "y": "0.pbf", "file": "admin.json", "featureId": "1"}
	path := strings.NewReplacer("{$}", "").Replace(pattern)
	for _, name := range wildcards(pattern) {
		v := samples[name]
		if name == bad {
			v = raw
		}
		path = strings.Replace(path, "{"+name+"}", v, 1)
	}
	return path
}

// TestTextEverywhere sends a NUL and bytes that are not UTF-8 in every path
// wildcard and in a query parameter of every route of the route table: each
// is a 400 naming the wildcard or parameter (a new route is covered as soon
// as it is in the table).
func TestTextEverywhere(t *testing.T) {
	_, ts, owner, city := hardServer(t, Config{}, nil)
	// A user with every role, so that no route refuses before the check.
	all := testUser(t, owner, city.Now, "everyone", auth.Roles, []string{"*"}, nil)
	bads := []struct{ raw, problem string }{{"%00", "contains a NUL character"}, {"a%FFb", "not valid UTF-8"}, {"%C3", "not valid UTF-8"}}
	for _, rt := range apiRoutes {
		method, pattern, _ := strings.Cut(rt.pattern, " ")
		body := ""
		if method == http.MethodPost {
			body = "{}"
		}
		for _, bad := range bads {
			for _, name := range wildcards(pattern) {
				path := samplePath(pattern, name, bad.raw)
				code, msg, _ := send(t, method, ts.URL+path, body, "Authorization", "Bearer "+all)
				if want := name + ": " + bad.problem; code != 400 || msg != want {
					t.Errorf("%s %s: %d %q, want 400 %q", method, path, code, msg, want)
				}
			}
			path := samplePath(pattern, "", "") + "?zz=" + bad.raw
			code, msg, _ := send(t, method, ts.URL+path, body, "Authorization", "Bearer "+all)
			if want := "zz: " + bad.problem; code != 400 || msg != want {
				t.Errorf("%s %s: %d %q, want 400 %q", method, path, code, msg, want)
			}
		}
	}
	// A bad parameter name, and a query string that is not one.
	for path, want := range map[string]string{
		"/api/v1/addresses?q=a&%00=1": `parameter name "\x00": contains a NUL character`,
		"/api/v1/addresses?q=%zz":     "query string: malformed: a bad %-escape or a ';' between parameters",
		"/api/v1/addresses?q=a;b":     "query string: malformed: a bad %-escape or a ';' between parameters",
	} {
		if code, msg, _ := send(t, "GET", ts.URL+path, ""); code != 400 || msg != want {
			t.Errorf("GET %s: %d %q, want 400 %q", path, code, msg, want)
		}
	}
}

// TestTextInJSON sends a NUL (written \u0000) and bytes that are not UTF-8 in
// the strings of JSON bodies: 400 naming the member; before, some were 500s.
func TestTextInJSON(t *testing.T) {
	_, ts, _, _ := hardServer(t, Config{}, nil)
	square := `"geometry":{"type":"Polygon","coordinates":[[[114.001,22.501],[114.002,22.501],[114.002,22.502],[114.001,22.501]]]}`
	for _, tc := range []struct{ path, body, want string }{
		{"/api/v1/aggregates", `{"group_by":"street","metric":"tagged_people","tag":"残疾人\u0000"}`, "tag: contains a NUL character"},
		{"/api/v1/aggregates", "{\"group_by\":\"street\",\"metric\":\"tagged_people\",\"tag\":\"\xff\xfe\"}", "tag: not valid UTF-8"},
		{"/api/v1/aggregates", `{"group_by":"street","metric":"events","severity":["urgent","\u0000"]}`, "severity[1]: contains a NUL character"},
		{"/api/v1/aggregates", `{"group_by":"polygons","metric":"households","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"a\u0000",` + square + `}]}}`, "polygons.features[0].id: contains a NUL character"},
		{"/api/v1/aggregates", `{"group_by":"polygons","metric":"households","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","properties":{"n\u0000":1},` + square + `}]}}`, "polygons.features[0].properties (a member name): contains a NUL character"},
		{"/api/v1/features/buildings", "{\"type\":\"Feature\",\"properties\":{\"name\":\"\xc3\"}," + square + "}", "properties.name: not valid UTF-8"},
		{"/api/v1/session", `{"name":"admin\u0000","password":"x"}`, "name: contains a NUL character"},
		{"/api/v1/session/password", `{"old":"\u0000","new":"a new password"}`, "old: contains a NUL character"},
	} {
		if code, msg, _ := send(t, "POST", ts.URL+tc.path, tc.body); code != 400 || msg != tc.want {
			t.Errorf("POST %s %s: %d %q, want 400 %q", tc.path, tc.body, code, msg, tc.want)
		}
	}
	// An escaped backslash before u0000 is six characters of text, not a NUL.
	if code, msg, _ := send(t, "POST", ts.URL+"/api/v1/aggregates", `{"group_by":"street","metric":"tagged_people","tag":"\\u0000"}`); code != 200 {
		t.Errorf(`tag "\\u0000": %d %q, want 200`, code, msg)
	}
}

// TestLimits: a heavy route counts against the caller's bucket and slots, a
// light one does not; users count separately, the anonymous public by client
// address (an IPv6 client by its /64).
func TestLimits(t *testing.T) {
	frozen := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) } // no refill
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	s, ts, owner, city := hardServer(t, Config{
		Limits: limit.Config{Rate: 1, Burst: 3, Concurrent: 1, Queue: 1, Wait: 100 * time.Millisecond, Now: frozen},
		Public: auth.PublicPrincipal([]string{""}), TrustedProxies: trusted,
	}, nil)
	agg := `{"group_by":"district","metric":"households"}`
	for i := range 3 {
		if code, msg, _ := send(t, "POST", ts.URL+"/api/v1/aggregates", agg); code != 200 {
			t.Fatalf("request %d of a burst of 3: %d %s", i+1, code, msg)
		}
	}
	code, msg, resp := send(t, "POST", ts.URL+"/api/v1/aggregates", agg)
	if code != 429 || resp.Header.Get("Retry-After") != "1" || !strings.HasPrefix(msg, "too many expensive requests: at most 1 a second") {
		t.Fatalf("4th: %d %q Retry-After %q, want 429 with Retry-After 1", code, msg, resp.Header.Get("Retry-After"))
	}
	var e apiError
	if getJSON(t, ts, "/api/v1/features/buildings?limit=1", &e) != 429 || e.Error.Code != "too_many_requests" {
		t.Fatalf("another heavy route: %+v, want too_many_requests", e)
	}
	if code := getJSON(t, ts, "/api/v1/locate?lon=114.005&lat=22.505", nil); code != 200 {
		t.Fatalf("a light route: %d, want 200", code)
	}
	other := testUser(t, owner, city.Now, "li", []auth.Role{auth.Command}, []string{"*"}, nil)
	if code, msg, _ := send(t, "POST", ts.URL+"/api/v1/aggregates", agg, "Authorization", "Bearer "+other); code != 200 {
		t.Fatalf("another user: %d %s", code, msg)
	}

	// Slots: while one of li's requests is in progress, the next waits 100 ms and is refused.
	release, err := s.limits.Enter(context.Background(), "user:li")
	if err != nil {
		t.Fatal(err)
	}
	code, msg, resp = send(t, "POST", ts.URL+"/api/v1/aggregates", agg, "Authorization", "Bearer "+other)
	release()
	if code != 429 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(msg, "at once") {
		t.Fatalf("with li's slot taken: %d %q, want 429 'at once'", code, msg)
	}

	// The anonymous public: by client address, as the trusted proxy forwards it.
	anon := &http.Client{Transport: http.DefaultTransport}
	public := func(xff string) int {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/aggregates", strings.NewReader(agg))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.5", 200}, {"203.0.113.5", 200}, {"203.0.113.5", 200}, {"203.0.113.5", 429},
		// The rightmost hop the trusted proxy names is the client; what it
		// claims to the left is not believed.
		{"198.51.100.1, 203.0.113.6", 200},
		{"2001:db8::1", 200}, {"2001:db8::2", 200}, {"[2001:db8::3]:5555", 200}, {"2001:db8::4", 429}, // one /64
		{"2001:db8:0:1::1", 200},
	} {
		if got := public(tc.xff); got != tc.want {
			t.Errorf("public from %s: %d, want %d", tc.xff, got, tc.want)
		}
	}
}

// TestDefaultLimitsLetThePageThrough replays what the page asks at each click
// (four figures, one per household tag and the event summary, all at once)
// five times under the default limits: nothing is refused.
func TestDefaultLimitsLetThePageThrough(t *testing.T) {
	_, ts, _, city := hardServer(t, Config{Limits: limit.Config{Rate: limit.DefaultRate, Burst: limit.DefaultBurst, Concurrent: limit.DefaultConcurrent}}, nil)
	var bodies []string
	for _, m := range []string{"households", "people", "events", "closed_on_time_share"} {
		bodies = append(bodies, `{"group_by":"district","metric":"`+m+`"}`)
	}
	for _, tag := range fixture.Tags {
		bodies = append(bodies, `{"group_by":"district","metric":"tagged_people","tag":"`+tag+`"}`)
	}
	summary := "/api/v1/events/summary?from=" + city.Now.AddDate(0, 0, -30).Format(time.DateOnly) + "&to=" + city.Now.Format(time.DateOnly)
	for round := range 5 {
		var wg sync.WaitGroup
		codes := make([]int, len(bodies)+1)
		for i, b := range bodies {
			wg.Go(func() { codes[i], _, _ = send(t, "POST", ts.URL+"/api/v1/aggregates", b) })
		}
		wg.Go(func() { codes[len(bodies)], _, _ = send(t, "GET", ts.URL+summary, "") })
		wg.Wait()
		for i, c := range codes {
			if c != 200 {
				t.Errorf("click %d, request %d: %d", round+1, i, c)
			}
		}
	}
}

// TestLoginThrottle: after too many failures a name must wait, whether it
// exists or not, and is answered the same; so must an address trying many names.
func TestLoginThrottle(t *testing.T) {
	frozen := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	_, ts, owner, city := hardServer(t, Config{TrustedProxies: trusted,
		Logins: limit.LoginConfig{FreeByName: 2, FreeByAddr: 6, Base: time.Minute, Now: frozen}}, nil)
	testUser(t, owner, city.Now, "wang", []auth.Role{auth.GridWorker}, []string{"*"}, nil)
	login := func(name, password, from string) (int, string, string) {
		body, _ := json.Marshal(loginForm{Name: name, Password: password})
		code, msg, resp := send(t, "POST", ts.URL+"/api/v1/session", string(body), "X-Forwarded-For", from)
		return code, msg, resp.Header.Get("Retry-After")
	}
	var refusals [2]string
	for i, name := range []string{"wang", "nobody"} {
		from := fmt.Sprintf("192.0.2.%d", i+1)
		for j := range 3 { // two free failures and the one that starts the wait
			if code, msg, _ := login(name, "wrong password", from); code != 401 {
				t.Fatalf("%s, failure %d: %d %s, want 401", name, j+1, code, msg)
			}
		}
		// Now even the right password waits.
		code, msg, retry := login(name, "test password wang", from)
		if code != 429 || retry != "60" {
			t.Fatalf("%s after 3 failures: %d %q Retry-After %q, want 429 and 60", name, code, msg, retry)
		}
		refusals[i] = msg
	}
	if refusals[0] != refusals[1] {
		t.Errorf("a known name is refused with %q, an unknown one with %q: want the same", refusals[0], refusals[1])
	}
	// An address: six free failures over six names and the one that starts the
	// wait, then every name waits from it, and only from it.
	for i := range 7 {
		if code, _, _ := login(fmt.Sprint("guess", i), "wrong password", "198.51.100.7"); code != 401 {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	testUser(t, owner, city.Now, "zhao", []auth.Role{auth.GridWorker}, []string{"*"}, nil)
	if code, _, _ := login("zhao", "test password zhao", "198.51.100.7"); code != 429 {
		t.Errorf("zhao from the guessing address: %d, want 429", code)
	}
	if code, msg, _ := login("zhao", "test password zhao", "198.51.100.8"); code != 200 {
		t.Errorf("zhao from elsewhere: %d %s, want 200", code, msg)
	}
}

// TestSecurityHeaders checks the headers of the page, an asset, API answers
// (authenticated, refused, unrouted) and the health check.
func TestSecurityHeaders(t *testing.T) {
	page := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>onegrid</title>")},
		"assets/app-abc.js":  {Data: []byte("console.log(1)")},
		"assets/app-abc.css": {Data: []byte("body{}")},
	}
	_, ts, _, _ := hardServer(t, Config{Web: page}, nil)
	anon := &http.Client{Transport: http.DefaultTransport}
	get := func(path string, c *http.Client) *http.Response {
		resp, err := c.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	type want struct {
		status          int
		policy, frame   string
		cache           string
		varyCredentials bool
	}
	for _, tc := range []struct {
		path   string
		client *http.Client
		want   want
	}{
		{"/", anon, want{200, contentSecurityPolicy, "SAMEORIGIN", "no-cache", false}},
		{"/assets/app-abc.js", anon, want{200, apiPolicy, "DENY", "public, max-age=31536000, immutable", false}},
		{"/healthz", anon, want{200, apiPolicy, "DENY", "", false}},
		{"/api/v1/openapi.json", anon, want{200, apiPolicy, "DENY", "", false}},
		{"/api/v1/locate?lon=114.005&lat=22.505", http.DefaultClient, want{200, apiPolicy, "DENY", "private, no-store", true}},
		{"/api/v1/overview", http.DefaultClient, want{200, apiPolicy, "DENY", "private, no-cache", true}},
		{"/api/v1/events/summary", http.DefaultClient, want{200, apiPolicy, "DENY", "private, no-cache", true}},
		{"/api/v1/overview", anon, want{401, apiPolicy, "DENY", "private, no-store", true}},
		{"/nowhere", anon, want{404, apiPolicy, "DENY", "", false}},
	} {
		resp := get(tc.path, tc.client)
		h := resp.Header
		vary := strings.Join(h.Values("Vary"), ",")
		got := want{resp.StatusCode, h.Get("Content-Security-Policy"), h.Get("X-Frame-Options"), h.Get("Cache-Control"),
			hasToken(vary, "Cookie") && hasToken(vary, "Authorization")}
		if got != tc.want {
			t.Errorf("GET %s: %+v, want %+v", tc.path, got, tc.want)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: nosniff %q, referrer %q", tc.path, h.Get("X-Content-Type-Options"), h.Get("Referrer-Policy"))
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("GET %s: HSTS on an http server", tc.path)
		}
	}
	// Behind https: HSTS on every answer.
	s := New(Config{Web: page, BaseURL: "https://grid.example.org/"}, nil, nil)
	for _, path := range []string{"/", "/assets/app-abc.css", "/nowhere"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Header().Get("Strict-Transport-Security"); got != hstsValue {
			t.Errorf("https, GET %s: Strict-Transport-Security %q, want %q", path, got, hstsValue)
		}
	}
}

func TestPrivateCache(t *testing.T) {
	for _, tc := range []struct{ cc, vary, wantCC, wantVary string }{
		{"", "", "private, no-store", "Cookie,Authorization"},
		{"public, max-age=60", "", "private, max-age=60", "Cookie,Authorization"},
		{"public, max-age=86400, s-maxage=600, stale-while-revalidate=60", "Accept-Encoding", "private, max-age=86400, stale-while-revalidate=60", "Accept-Encoding,Cookie,Authorization"},
		{"no-cache", "cookie", "private, no-cache", "cookie,Authorization"},
		{"no-store", "", "no-store", "Cookie,Authorization"},
		{"private, max-age=5", "Cookie, Authorization", "private, max-age=5", "Cookie, Authorization"},
	} {
		h := http.Header{}
		if tc.cc != "" {
			h.Set("Cache-Control", tc.cc)
		}
		if tc.vary != "" {
			h.Set("Vary", tc.vary)
		}
		privateCache(h)
		if got, vary := h.Get("Cache-Control"), strings.Join(h.Values("Vary"), ","); got != tc.wantCC || vary != tc.wantVary {
			t.Errorf("%q, Vary %q: %q, Vary %q; want %q, Vary %q", tc.cc, tc.vary, got, vary, tc.wantCC, tc.wantVary)
		}
	}
}

// TestBaseURL: absolute links come from the configured base URL whatever the
// request's Host and X-Forwarded-* say, and identity-dependent TileJSON is private.
func TestBaseURL(t *testing.T) {
	ts := tileServerWith(t, Config{BaseURL: "https://grid.example.org"})
	const base = "https://grid.example.org"
	lie := []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "http", "Forwarded", "host=evil.example;proto=http"}
	fetch := func(path string) (map[string]any, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Host = "evil.example"
		for i := 0; i < len(lie); i += 2 {
			req.Header.Set(lie[i], lie[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if bytes.Contains(b, []byte("evil.example")) {
			t.Errorf("GET %s: the answer holds the request's host: %s", path, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return v, resp.Header
	}
	urls := func(v any) []string {
		var out []string
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, x := range v {
					if s, ok := x.(string); ok && (k == "href" || k == "url") {
						out = append(out, s)
					}
					walk(x)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		walk(v)
		return out
	}
	tj, h := fetch("/tiles.json")
	if tiles, _ := tj["tiles"].([]any); len(tiles) != 1 || !strings.HasPrefix(tiles[0].(string), base+"/tiles/all/{z}/{x}/{y}.pbf") {
		t.Errorf("/tiles.json tiles %v, want under %s", tj["tiles"], base)
	}
	if cc, vary := h.Get("Cache-Control"), strings.Join(h.Values("Vary"), ","); cc != "private, max-age=60" || !hasToken(vary, "Authorization") || !hasToken(vary, "Cookie") {
		t.Errorf("/tiles.json Cache-Control %q Vary %q: want private and to vary by credentials", cc, vary)
	}
	layer, _ := fetch("/tiles/admin.json")
	if tiles, _ := layer["tiles"].([]any); len(tiles) != 1 || !strings.HasPrefix(tiles[0].(string), base+"/tiles/admin/") {
		t.Errorf("/tiles/admin.json tiles %v", layer["tiles"])
	}
	for _, path := range []string{"/styles/command-center.json", "/ogc", "/ogc/collections", "/ogc/collections/buildings/items?limit=1&offset=1", "/api/v1/features/buildings?limit=1"} {
		v, _ := fetch(path)
		us := urls(v)
		if len(us) == 0 {
			t.Errorf("GET %s: no links", path)
		}
		for _, u := range us {
			if !strings.HasPrefix(u, base+"/") {
				t.Errorf("GET %s: link %s not under %s", path, u, base)
			}
		}
	}
}

// tileServerWith serves the api with cfg and tiles over the test city (as
// tileServer does).
func tileServerWith(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	srv, _ := tileServerOwner(t, cfg, tiles.Config{})
	return srv
}

// TestCSVInjection: cells that a spreadsheet would run are neutralised in the
// aggregates CSV; numbers, negative ones included, stay numbers.
func TestCSVInjection(t *testing.T) {
	_, ts, _, _ := hardServer(t, Config{}, nil)
	ids := []string{`"=HYPERLINK(\"http://x.example\",\"x\")"`, `"+1+1"`, `"-2+3"`, `"@SUM(A1)"`, `"\tTab"`, `"\rCR"`, `"-1"`, `-5`, `"1.5"`, `"safe"`}
	var feats []string
	for i, id := range ids {
		lon := 114.001 + float64(i)*0.001
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","id":%s,"geometry":{"type":"Polygon","coordinates":[[[%g,22.501],[%g,22.501],[%g,22.502],[%g,22.501]]]}}`,
			id, lon, lon+0.0005, lon+0.0005, lon))
	}
	body := `{"group_by":"polygons","metric":"households","format":"csv","polygons":{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + `]}}`
	resp, err := http.Post(ts.URL+"/api/v1/aggregates", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	recs, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	got := map[string]bool{}
	for _, r := range recs[1:] {
		got[r[0]] = true
	}
	for _, want := range []string{`'=HYPERLINK("http://x.example","x")`, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR", "-1", "-5", "1.5", "safe"} {
		if !got[want] {
			t.Errorf("no key %q in %q", want, recs)
		}
	}
}

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "plain": "plain", "福田区": "福田区", "=1+1": "'=1+1", "+1": "+1", "+1+1": "'+1+1", "-1": "-1", "-1.25": "-1.25",
		"-.5": "-.5", "-": "'-", "-1e3": "'-1e3", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx", " =1": " =1", "1-2": "1-2", "3.": "3.",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAccessLog: the access log names who, from where, the route, rows and
// status, and none of the search texts, filter values, body values or
// credentials the requests carried.
func TestAccessLog(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	_, ts, owner, city := hardServer(t, Config{}, log)
	testUser(t, owner, city.Now, "wang", []auth.Role{auth.GridWorker}, []string{"*"}, nil)
	var room fixture.Address
	for _, a := range city.Addresses {
		if a.Level == "room" {
			room = a
			break
		}
	}
	secrets := []string{room.Text, "张三丰", "李四家", "住宅区七号", "王五的楼", "not-the-password-42", "田七"}
	var hits struct {
		Addresses []json.RawMessage `json:"addresses"`
	}
	if code := getJSON(t, ts, "/api/v1/addresses"+qs("q", room.Text), &hits); code != 200 || len(hits.Addresses) == 0 {
		t.Fatalf("search for a room's address: %d, %d hits", code, len(hits.Addresses))
	}
	getJSON(t, ts, "/api/v1/addresses"+qs("q", "张三丰"), nil)
	getJSON(t, ts, fmt.Sprintf("/api/v1/addresses/%d", room.ID), nil)
	getJSON(t, ts, "/api/v1/features/buildings"+qs("use", "住宅区七号"), nil)
	getJSON(t, ts, "/ogc/collections/buildings/items"+qs("use", "王五的楼"), nil)
	postJSON(t, ts, "/api/v1/aggregates", `{"group_by":"polygons","metric":"households","polygons":{"type":"FeatureCollection","features":[{"type":"Feature","id":"李四家","geometry":{"type":"Polygon","coordinates":[[[114.001,22.501],[114.002,22.501],[114.002,22.502],[114.001,22.501]]]}}]}}`, nil)
	postJSON(t, ts, "/api/v1/session", `{"name":"田七","password":"not-the-password-42"}`, nil)
	postJSON(t, ts, "/api/v1/session", `{"name":"wang","password":"not-the-password-42"}`, nil)

	out := buf.String()
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), strings.Trim(fmt.Sprintf("%q", s), `"`)} {
			if strings.Contains(out, form) {
				t.Errorf("the log holds %q:\n%s", form, out)
			}
		}
	}
	// Each line says who, from where, the route and the status; the search its rows.
	type line struct {
		Msg, User, IP, Route string
		Status               int
		Rows                 *int
	}
	var lines []line
	for l := range strings.Lines(out) {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if x.Msg == "access" {
			lines = append(lines, x)
		}
	}
	if len(lines) != 8 {
		t.Fatalf("%d access lines, want 8:\n%s", len(lines), out)
	}
	first := lines[0]
	if first.User != "tester" || first.IP != "127.0.0.1" || first.Route != "GET /api/v1/addresses" || first.Status != 200 || first.Rows == nil || *first.Rows != len(hits.Addresses) {
		t.Errorf("search line %+v, want tester, 127.0.0.1, the route, 200, %d rows", first, len(hits.Addresses))
	}
	for _, l := range lines {
		if l.IP == "" || l.Route == "" || l.Status == 0 {
			t.Errorf("line %+v lacks ip, route or status", l)
		}
		if strings.Contains(l.Route, "?") {
			t.Errorf("route %q holds a query", l.Route)
		}
	}
}

// TestBodyTimeout: a body sent one byte at a time is cut off at the body's
// deadline with 408 and the connection closed, on an authenticated route and
// on the open login route.
func TestBodyTimeout(t *testing.T) {
	_, ts, _, _ := hardServer(t, Config{BodyTimeout: 300 * time.Millisecond}, nil)
	tok, _ := testTokens.Load(ts.Listener.Addr().String())
	for _, path := range []string{"/api/v1/aggregates", "/api/v1/session"} {
		c, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path, tok)
		stop := make(chan struct{})
		go func() { // one byte every 100 ms until the server hangs up
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		// The bound here only keeps a broken server from hanging the test.
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: no answer to a slow body: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !bytes.Contains(b, []byte(`"body_timeout"`)) {
			t.Errorf("%s: %d %s, want 408 body_timeout", path, resp.StatusCode, b)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("%s: the connection stayed open after the timeout", path)
		}
		close(stop)
		c.Close()
	}
}

// TestBodyDeadlineLifted: once a body has been read, the request may take
// longer than the body's deadline (here a login waiting for a password-check
// slot), and a request without a body (an event stream) has no deadline.
func TestBodyDeadlineLifted(t *testing.T) {
	s, ts, owner, city := hardServer(t, Config{BodyTimeout: 200 * time.Millisecond, StreamHeartbeat: 300 * time.Millisecond}, nil)
	testUser(t, owner, city.Now, "wang", []auth.Role{auth.GridWorker}, []string{"*"}, nil)
	var held []func()
	for range max(2, runtime.NumCPU()) {
		release, err := s.loginSlots.Enter(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	type answer struct {
		code int
		body []byte
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Post(ts.URL+"/api/v1/session", "application/json", strings.NewReader(`{"name":"wang","password":"test password wang"}`))
		if err != nil {
			got <- answer{0, []byte(err.Error())}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{resp.StatusCode, b}
	}()
	time.Sleep(700 * time.Millisecond) // the login waits past its body's deadline
	for _, release := range held {
		release()
	}
	a := <-got
	var info sessionInfo
	if err := json.Unmarshal(a.body, &info); a.code != 200 || err != nil || info.Name != "wang" {
		t.Fatalf("a login that waited past its body's deadline: %d %s", a.code, a.body)
	}

	resp, err := http.Get(ts.URL + "/api/v1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	deadline := time.Now().Add(time.Minute)
	for pings := 0; pings < 2; {
		line, err := br.ReadString('\n')
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("the stream ended: %v", err)
		}
		if strings.HasPrefix(line, ": ping") {
			pings++ // two heartbeats: 600 ms, three times the body deadline
		}
	}
}

// TestOpenAPIDocumentsLimits: every heavy route documents its 429, every
// route that reads a body its 408 (openapi.json stays true to routes.go).
func TestOpenAPIDocumentsLimits(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range apiRoutes {
		if rt.cost != light && rt.cost != heavy {
			t.Errorf("route %s states no cost (light or heavy)", rt.pattern)
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.TrimSuffix(strings.TrimSuffix(path, "{$}"), "/")
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			continue // TestOpenAPICoversRoutes says so for documented prefixes
		}
		// Logging in and changing the password are throttled too (TestLoginThrottle).
		limited := rt.cost == heavy || strings.HasPrefix(rt.pattern, "POST /api/v1/session")
		if _, ok := op.Responses["429"]; limited != ok {
			t.Errorf("route %s (limited %v): documents 429 %v", rt.pattern, limited, ok)
		}
		if _, ok := op.Responses["408"]; method == http.MethodPost && !ok {
			t.Errorf("route %s reads a body: 408 undocumented", rt.pattern)
		}
	}
}
