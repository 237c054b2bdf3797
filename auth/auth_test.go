package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// setup loads the fixture city (users need units that exist) and returns the
// owner's user store and an authenticator on the application role, its clock
// at the city's today.
func setup(t testing.TB) (*auth.Users, *auth.Authenticator, *pgxpool.Pool) {
	t.Helper()
	owner, app := pgtest.Pair(t)
	if err := fixture.New().Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	return auth.NewUsers(owner), auth.NewAuthenticator(app, auth.Config{Now: clock.Fixed(fixture.Now), CacheTTL: -1}), owner
}

func TestLoginSessionToken(t *testing.T) {
	t.Parallel()
	users, a, _ := setup(t)
	ctx := context.Background()
	if _, err := users.Add(ctx, auth.NewUser{Name: "wang", DisplayName: "王", Roles: []auth.Role{auth.GridWorker},
		Units: []string{fixture.GridA}, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []auth.Credentials{{"wang", "wrong password"}, {"nobody", "correct horse battery"}, {"", ""}, {"wang", strings.Repeat("x", 2000)}} {
		if _, err := a.Authenticate(ctx, bad); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login %q: %v, want bad credentials", bad.Name, err)
		}
	}
	p, err := a.Authenticate(ctx, auth.Credentials{Name: "wang", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "wang" || !p.Has(auth.GridWorker) || len(p.Scope.Units) != 1 || p.Scope.Units[0] != fixture.GridA ||
		!p.Scope.Can(scope.CanHouseholds) || p.Scope.Can(scope.CanUsers) {
		t.Errorf("principal %+v", p)
	}
	cookie, expires, err := a.StartSession(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := expires.Sub(fixture.Now); got != 12*time.Hour {
		t.Errorf("session lives %v, want 12h by the server's clock", got)
	}
	s, err := a.Session(ctx, cookie)
	if err != nil || s.UserID != p.UserID || s.Via != "session" {
		t.Fatalf("session: %+v %v", s, err)
	}
	if !auth.CheckCSRF(cookie, auth.CSRFToken(cookie)) || auth.CheckCSRF(cookie, auth.CSRFToken(cookie+"x")) || auth.CheckCSRF(cookie, "") {
		t.Error("CSRF token check")
	}
	for _, bad := range []string{"", "short", cookie + "x", strings.Repeat("A", 43)} {
		if _, err := a.Session(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("session %q: %v", bad, err)
		}
	}
	tok, err := users.CreateToken(ctx, "wang", "tablet", fixture.Now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, auth.TokenPrefix) {
		t.Errorf("token %q lacks the prefix", tok)
	}
	if p, err := a.Token(ctx, tok); err != nil || p.Name != "wang" || p.Via != "token" {
		t.Fatalf("token: %+v %v", p, err)
	}
	if _, err := users.CreateToken(ctx, "wang", "tablet", fixture.Now, time.Hour); err == nil {
		t.Error("a second token of the same name")
	}
	if err := users.RevokeToken(ctx, "wang", "tablet", fixture.Now); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, tok); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked token: %v", err)
	}
	// An expired token, by the server's clock.
	late, err := users.CreateToken(ctx, "wang", "old", fixture.Now.Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, late); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired token: %v", err)
	}
	// Disabling ends the session.
	if err := users.SetStatus(ctx, "wang", false, fixture.Now); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, cookie); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("session of a disabled user: %v", err)
	}
	if _, err := a.Authenticate(ctx, auth.Credentials{Name: "wang", Password: "correct horse battery"}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("login of a disabled user: %v", err)
	}
}

func TestOneTimePassword(t *testing.T) {
	t.Parallel()
	users, a, _ := setup(t)
	ctx := context.Background()
	pw, ok, err := users.EnsureAdmin(ctx)
	if err != nil || !ok || len(pw) < 20 {
		t.Fatalf("first admin: %q %v %v", pw, ok, err)
	}
	if _, again, _ := users.EnsureAdmin(ctx); again {
		t.Error("a second first admin")
	}
	p, err := a.Authenticate(ctx, auth.Credentials{Name: "admin", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if !p.MustChangePassword || len(p.Scope.Caps) != 0 || len(p.Scope.Units) != 0 {
		t.Errorf("a one-time password's session may do more than change it: %+v", p.Scope)
	}
	if err := a.ChangePassword(ctx, p, "wrong", "a brand new password"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("change with a wrong old password: %v", err)
	}
	var pe *auth.PolicyError
	if err := a.ChangePassword(ctx, p, pw, "short"); !errors.As(err, &pe) {
		t.Errorf("a short new password: %v", err)
	}
	if err := a.ChangePassword(ctx, p, pw, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	p, err = a.Authenticate(ctx, auth.Credentials{Name: "admin", Password: "a brand new password"})
	if err != nil || p.MustChangePassword || !p.Scope.All() || !p.Scope.Can(scope.CanUsers) {
		t.Fatalf("after the change: %+v %v", p, err)
	}
	if _, err := a.Authenticate(ctx, auth.Credentials{Name: "admin", Password: pw}); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("the one-time password still works: %v", err)
	}
	// A reset gives a new one-time password and ends the sessions.
	cookie, _, err := a.StartSession(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	pw2, err := users.ResetPassword(ctx, "admin", fixture.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Session(ctx, cookie); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("session after a reset: %v", err)
	}
	if p, err := a.Authenticate(ctx, auth.Credentials{Name: "admin", Password: pw2}); err != nil || !p.MustChangePassword {
		t.Errorf("after a reset: %+v %v", p, err)
	}
	var ie *auth.InputError
	if _, err := users.ResetPassword(ctx, "nobody", fixture.Now); !errors.As(err, &ie) {
		t.Errorf("reset of an unknown user: %v", err)
	}
}

func TestUserInput(t *testing.T) {
	t.Parallel()
	users, _, _ := setup(t)
	ctx := context.Background()
	for _, n := range []auth.NewUser{
		{Name: "Bad Name", Roles: []auth.Role{auth.Planner}, Units: []string{"*"}},
		{Name: "x", Roles: nil, Units: []string{"*"}},
		{Name: "x", Roles: []auth.Role{"mayor"}, Units: []string{"*"}},
		{Name: "x", Roles: []auth.Role{auth.Planner}},
		{Name: "x", Roles: []auth.Role{auth.Planner}, Units: []string{"999999000000"}},
		{Name: "x", Roles: []auth.Role{auth.Officer}, Units: []string{"*"}, Duties: []string{"99"}},
		{Name: "x", Roles: []auth.Role{auth.Planner}, Units: []string{"*"}, Password: "short"},
	} {
		var ie *auth.InputError
		if _, err := users.Add(ctx, n); !errors.As(err, &ie) {
			t.Errorf("add %+v: %v, want an input error", n, err)
		}
	}
	if _, err := auth.ParseRoles("planner, mayor"); err == nil {
		t.Error("ParseRoles accepts an unknown role")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("秘密 password")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := auth.HashPassword("秘密 password")
	if h == h2 || !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hashes %q %q: want salted Argon2id PHC strings", h, h2)
	}
}

// BenchmarkSessionCheck is what an established session costs a request: the
// cached check (most requests) and the database check (after the cache time).
func BenchmarkSessionCheck(b *testing.B) {
	owner, app := pgtest.Pair(b)
	ctx := context.Background()
	if err := fixture.New().Load(ctx, owner); err != nil {
		b.Fatal(err)
	}
	users := auth.NewUsers(owner)
	if _, err := users.Add(ctx, auth.NewUser{Name: "wang", Roles: []auth.Role{auth.GridWorker}, Units: []string{fixture.GridA}, Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	tok, err := users.CreateToken(ctx, "wang", "bench", fixture.Now, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 0}, {"database", -1}} {
		a := auth.NewAuthenticator(app, auth.Config{Now: clock.Fixed(fixture.Now), CacheTTL: tc.ttl})
		p, err := a.Authenticate(ctx, auth.Credentials{Name: "wang", Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		cookie, _, err := a.StartSession(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("session/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Session(ctx, cookie); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("token/"+tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := a.Token(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("login", func(b *testing.B) {
		a := auth.NewAuthenticator(app, auth.Config{Now: clock.Fixed(fixture.Now)})
		for b.Loop() {
			if _, err := a.Authenticate(ctx, auth.Credentials{Name: "wang", Password: "correct horse battery"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
