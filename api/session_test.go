package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestSessionCookieLifetime: the session cookie says how long it lives as
// Max-Age, which the browser counts from its own clock, so a server whose
// clock is a year away from the browser's (--now, a demo, a test) still gets
// its cookie kept for the session's 12 hours; an Expires from the server's
// clock would be a year in the browser's past, and the cookie dropped at once.
func TestSessionCookieLifetime(t *testing.T) {
	t.Parallel()
	for _, shift := range []int{-1, 1} {
		owner, app := pgtest.Pair(t)
		now := time.Now().AddDate(shift, 0, 0).UTC().Truncate(time.Second)
		ts := serveAuthed(t, Config{Now: clock.Fixed(now), Auth: auth.NewAuthenticator(app, auth.Config{Now: clock.Fixed(now)})}, owner, app)
		const name = "cookie"
		if _, err := auth.NewUsers(owner).Add(context.Background(), auth.NewUser{Name: name, Roles: []auth.Role{auth.Command}, Units: []string{"*"}, Password: "cookie test password"}); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/session", strings.NewReader(`{"name":"`+name+`","password":"cookie test password"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Transport{}).RoundTrip(req) // no test token: a login
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("clock %+d year: login %s", shift, resp.Status)
		}
		var c *http.Cookie
		for _, x := range resp.Cookies() {
			if x.Name == sessionCookie {
				c = x
			}
		}
		switch {
		case c == nil:
			t.Fatalf("clock %+d year: no session cookie", shift)
		case c.MaxAge != 12*3600:
			t.Errorf("clock %+d year: Max-Age %d, want %d (the session's life)", shift, c.MaxAge, 12*3600)
		case !c.Expires.IsZero():
			t.Errorf("clock %+d year: Expires %v from the server's clock", shift, c.Expires)
		case !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/":
			t.Errorf("clock %+d year: cookie %+v, want HttpOnly, SameSite=Strict, Path=/", shift, c)
		}
	}
}
