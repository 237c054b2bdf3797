package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
)

// Test servers require authentication like the real one. Each test server gets
// a user with the given roles and units (default: an administrator of
// everything) and an API token, which tokenTransport adds to every request the
// test makes to that server without an Authorization header of its own.

var testTokens sync.Map // server host → token

type tokenTransport struct{ base http.RoundTripper }

func (t tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") == "" {
		if tok, ok := testTokens.Load(r.URL.Host); ok {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+tok.(string))
		}
	}
	return t.base.RoundTrip(r)
}

func init() {
	http.DefaultClient.Transport = tokenTransport{base: http.DefaultTransport}
	client.Transport = tokenTransport{base: client.Transport}
}

// testUser makes a user on the owner connection and returns an API token of it,
// valid for an hour from now by the given clock (the server's).
func testUser(t testing.TB, owner *pgxpool.Pool, now time.Time, name string, roles []auth.Role, units, duties []string) string {
	t.Helper()
	ctx := context.Background()
	u := auth.NewUsers(owner)
	if _, err := u.Add(ctx, auth.NewUser{Name: name, Roles: roles, Units: units, Duties: duties, Password: "test password " + name}); err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	tok, err := u.CreateToken(ctx, name, "test", now, time.Hour)
	if err != nil {
		t.Fatalf("token of %s: %v", name, err)
	}
	return tok
}

// serveAuthed serves s on an httptest server whose requests carry the token of
// an administrator of everything (unless the test sets its own Authorization).
func serveAuthed(t testing.TB, cfg Config, owner, app *pgxpool.Pool) *httptest.Server {
	t.Helper()
	_, ts := serveServer(t, cfg, owner, app, nil)
	return ts
}

// serveServer is serveAuthed that also returns the Server, logging to log (nil:
// nowhere).
func serveServer(t testing.TB, cfg Config, owner, app *pgxpool.Pool, log *slog.Logger) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Auth == nil {
		cfg.Auth = auth.NewAuthenticator(app, auth.Config{Now: cfg.Now})
	}
	tok := testUser(t, owner, clock.Or(cfg.Now)(), "tester", []auth.Role{auth.Admin}, []string{"*"}, nil)
	// The public base URL is the test server's own, known once it listens.
	ts := httptest.NewUnstartedServer(nil)
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ts.Listener.Addr().String()
	}
	if log == nil {
		log = discardLog()
	}
	s := New(cfg, app, log)
	ts.Config.Handler = s
	ts.Start()
	testTokens.Store(ts.Listener.Addr().String(), tok)
	t.Cleanup(func() { s.Close(); ts.Close(); testTokens.Delete(ts.Listener.Addr().String()) })
	return s, ts
}
