package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
)

// TestPublicMode: without --public-units nothing answers an anonymous request
// but the open routes; with them, the anonymous public gets disclosure-
// controlled aggregates of those units and no row of any kind.
func TestPublicMode(t *testing.T) {
	t.Parallel()
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	city := fixture.New()
	if err := city.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	if err := owner.QueryRow(ctx, `SELECT unit_prefixes($1)`, []string{fixture.StreetNY}).Scan(&prefixes); err != nil {
		t.Fatal(err)
	}
	now := clock.Fixed(city.Now)
	for _, tc := range []struct {
		name   string
		public *auth.Principal
	}{{"no public mode", nil}, {"public units", auth.PublicPrincipal(prefixes)}} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Now: now, Auth: auth.NewAuthenticator(app, auth.Config{Now: now}), Public: tc.public}, app, discardLog())
			for _, c := range []struct {
				method, path, body string
				public             int // status with a public mode; without one every protected route says 401
			}{
				{"GET", "/healthz", "", 200},
				{"GET", "/api/v1/overview", "", 200},
				{"POST", "/api/v1/aggregates", `{"group_by":"grid","metric":"households"}`, 200},
				{"GET", "/api/v1/features/events", "", 403},
				{"GET", "/api/v1/addresses?q=" + "南园路", "", 403},
				{"GET", "/api/v1/households?unit=" + fixture.GridA, "", 403},
				{"GET", "/api/v1/stream", "", 403},
				{"GET", "/api/v1/audit", "", 403},
			} {
				req, _ := http.NewRequest(c.method, "http://onegrid.test"+c.path, strings.NewReader(c.body))
				if c.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				want := c.public
				if tc.public == nil && c.path != "/healthz" {
					want = http.StatusUnauthorized
				}
				if w.Code != want {
					t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, w.Code, want, truncateBody(w.Body.Bytes()))
				}
				if tc.public != nil && c.path == "/api/v1/aggregates" {
					// Only the public units' groups: 南园街道's grids.
					if strings.Contains(w.Body.String(), "440304001") {
						t.Errorf("public aggregates answer 园岭街道's grids: %s", truncateBody(w.Body.Bytes()))
					}
				}
			}
		})
	}
}
