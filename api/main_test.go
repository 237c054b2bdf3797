package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/internal/sdctest"
	qry "github.com/onegrid/onegrid/query"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fixtureServer returns a server over a fresh database holding the fixture city,
// its clock fixed at the city's "today".
func fixtureServer(t *testing.T, qc qry.Config) (*httptest.Server, *fixture.City) {
	t.Helper()
	return fixtureServerAt(t, qc, fixture.New())
}

// fixtureServerAt is fixtureServer over the given city (fixture.NewAt moves it
// in time).
func fixtureServerAt(t *testing.T, qc qry.Config, city *fixture.City) (*httptest.Server, *fixture.City) {
	t.Helper()
	owner, app := pgtest.Pair(t)
	if err := city.Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	var k keyring
	var err error
	if k.hh, err = sdctest.Keys(context.Background(), owner, "household"); err != nil {
		t.Fatal(err)
	}
	if k.ev, err = sdctest.Keys(context.Background(), owner, "event"); err != nil {
		t.Fatal(err)
	}
	cityKeys.Store(city, k)
	t.Cleanup(func() { cityKeys.Delete(city) })
	return serveAuthed(t, Config{Query: qc, Now: clock.Fixed(city.Now)}, owner, app), city
}

// keyring holds the record keys of a loaded city's households and events, by id
// (read from its database), for computing released values in the tests.
type keyring struct{ hh, ev map[int64]uint64 }

// cityKeys maps a city loaded by fixtureServerAt to its keyring.
var cityKeys sync.Map

// keysOf returns the record keys of a city loaded by fixtureServerAt.
func keysOf(t *testing.T, city *fixture.City) keyring {
	t.Helper()
	k, ok := cityKeys.Load(city)
	if !ok {
		t.Fatal("keysOf: the city was not loaded by fixtureServerAt")
	}
	return k.(keyring)
}

// testLog sends the server's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// getJSON fetches path and decodes a JSON answer into v (if non-nil), returning the status.
func getJSON(t *testing.T, ts *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp, v)
}

func postJSON(t *testing.T, ts *httptest.Server, path, body string, v any) int {
	t.Helper()
	resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(t, resp, v)
}

func decode(t *testing.T, resp *http.Response, v any) int {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", resp.Request.URL, err, b)
		}
	}
	return resp.StatusCode
}

// apiError is the error body.
type apiError struct {
	Error struct {
		Code, Message string
	}
}

func qs(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
