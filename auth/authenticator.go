package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/scope"
)

// DB is what the authenticator needs: the server's pool (connected as the
// application role; it reaches the identity tables only through the schema's
// SECURITY DEFINER functions).
type DB interface {
	scope.Beginner
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Credentials are what someone presents to a Provider.
type Credentials struct {
	Name     string
	Password string
}

// Provider proves who presents some credentials. The password provider below is
// onegrid's own; an OpenID Connect provider would verify an ID token instead and
// map its subject to a user, and the sessions and scopes after it stay the same.
type Provider interface {
	Authenticate(ctx context.Context, c Credentials) (*Principal, error)
}

// Config of the authenticator.
type Config struct {
	// SessionTTL is how long a web session lives (default 12 hours: a shift).
	SessionTTL time.Duration
	// CacheTTL is how long a checked session or token is trusted without asking
	// the database again (default 10 s): a disabled user or a revoked token stops
	// working within it. 0 takes the default; negative disables the cache.
	CacheTTL time.Duration
	// Now is the clock (sessions and tokens expire by it).
	Now clock.Clock
}

// Authenticator checks logins, sessions and API tokens for the HTTP server.
type Authenticator struct {
	db  DB
	cfg Config

	mu    sync.Mutex
	cache map[string]cached // by "s:"/"t:" + hash
}

type cached struct {
	p       *Principal
	expires time.Time // of the session or token
	checked time.Time
}

// NewAuthenticator returns an authenticator over the server's pool.
func NewAuthenticator(db DB, cfg Config) *Authenticator {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = 10 * time.Second
	}
	cfg.Now = clock.Or(cfg.Now)
	return &Authenticator{db: db, cfg: cfg, cache: map[string]cached{}}
}

const userByName = `SELECT id, name, display_name, password_hash, status, roles, units, prefixes, duties, must_change_password
	FROM auth_user_by_name($1)`

// Authenticate checks a name and password (the password Provider).
func (a *Authenticator) Authenticate(ctx context.Context, c Credentials) (*Principal, error) {
	if !validName(c.Name) || len(c.Password) > 1024 {
		// Not a name any user can have (NUL, not UTF-8, too long…): no query.
		_, _ = checkPassword(dummyHash, c.Password)
		return nil, ErrBadCredentials
	}
	var (
		id                      int64
		name, display, status   string
		hash                    *string
		roles, units, pfx, duty []string
		mustChange              bool
	)
	err := a.db.QueryRow(ctx, userByName, c.Name).Scan(&id, &name, &display, &hash, &status, &roles, &units, &pfx, &duty, &mustChange)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (hash == nil || status != "active") {
		_, _ = checkPassword(dummyHash, c.Password) // the same time as a wrong password
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	ok, err := checkPassword(*hash, c.Password)
	if err != nil {
		return nil, fmt.Errorf("login %s: stored hash: %w", name, err)
	}
	if !ok {
		return nil, ErrBadCredentials
	}
	return newPrincipal(id, name, display, roles, units, pfx, duty, mustChange, "session"), nil
}

// StartSession returns a new session's cookie value for a principal that a
// Provider has just authenticated.
func (a *Authenticator) StartSession(ctx context.Context, p *Principal) (token string, expires time.Time, err error) {
	token = newSecret()
	now := a.cfg.Now()
	expires = now.Add(a.cfg.SessionTTL)
	if _, err := a.db.Exec(ctx, `SELECT auth_session_create($1, $2, $3, $4)`, hashSecret(token), p.UserID, now, expires); err != nil {
		return "", time.Time{}, fmt.Errorf("start session: %w", err)
	}
	return token, expires, nil
}

// EndSession ends a session (logout).
func (a *Authenticator) EndSession(ctx context.Context, token string) error {
	if !wellFormed(token) {
		return nil
	}
	h := hashSecret(token)
	a.forget("s:" + string(h))
	_, err := a.db.Exec(ctx, `SELECT auth_session_end($1)`, h)
	return err
}

const userBySession = `SELECT id, name, display_name, status, roles, units, prefixes, duties, must_change_password, token_id, expires_at
	FROM auth_user_by_session($1, $2)`
const userByToken = `SELECT id, name, display_name, status, roles, units, prefixes, duties, must_change_password, token_id, expires_at
	FROM auth_user_by_token($1, $2)`

// Session returns the principal of a live session cookie.
func (a *Authenticator) Session(ctx context.Context, token string) (*Principal, error) {
	if !wellFormed(token) {
		return nil, ErrUnauthenticated
	}
	return a.lookup(ctx, "s:", hashSecret(token), userBySession, "session")
}

// Token returns the principal of a live API token ("ogt_…").
func (a *Authenticator) Token(ctx context.Context, token string) (*Principal, error) {
	secret, ok := parseToken(token)
	if !ok {
		return nil, ErrUnauthenticated
	}
	return a.lookup(ctx, "t:", hashSecret(secret), userByToken, "token")
}

func (a *Authenticator) lookup(ctx context.Context, kind string, hash []byte, sql, via string) (*Principal, error) {
	now := a.cfg.Now()
	key := kind + string(hash)
	if a.cfg.CacheTTL > 0 {
		a.mu.Lock()
		c, ok := a.cache[key]
		a.mu.Unlock()
		if ok && now.Before(c.expires) && now.Sub(c.checked) < a.cfg.CacheTTL {
			return c.p, nil
		}
	}
	var (
		id                      int64
		name, display, status   string
		roles, units, pfx, duty []string
		mustChange              bool
		tokenID                 *int64
		expires                 time.Time
	)
	err := a.db.QueryRow(ctx, sql, hash, now).Scan(&id, &name, &display, &status, &roles, &units, &pfx, &duty, &mustChange, &tokenID, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		a.forget(key)
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", via, err)
	}
	p := newPrincipal(id, name, display, roles, units, pfx, duty, mustChange, via)
	if tokenID != nil {
		// Record use at most once a minute (the function skips recent ones).
		if _, err := a.db.Exec(ctx, `SELECT auth_token_used($1, $2)`, *tokenID, now); err != nil {
			return nil, fmt.Errorf("check token: %w", err)
		}
	}
	if a.cfg.CacheTTL > 0 {
		a.mu.Lock()
		if len(a.cache) > 100_000 { // a bound, not an eviction policy: start over
			clear(a.cache)
		}
		a.cache[key] = cached{p: p, expires: expires, checked: now}
		a.mu.Unlock()
	}
	return p, nil
}

func (a *Authenticator) forget(key string) {
	a.mu.Lock()
	delete(a.cache, key)
	a.mu.Unlock()
}

// ChangePassword sets a user's own new password after checking the old one.
func (a *Authenticator) ChangePassword(ctx context.Context, p *Principal, old, new string) error {
	if _, err := a.Authenticate(ctx, Credentials{Name: p.Name, Password: old}); err != nil {
		return err
	}
	if problem := CheckPasswordPolicy(new); problem != "" {
		return &PolicyError{Problem: "password: " + problem}
	}
	if new == old {
		return &PolicyError{Problem: "password: the new password must differ from the old"}
	}
	hash, err := HashPassword(new)
	if err != nil {
		return err
	}
	// The function changes only the caller's own password: it runs with the
	// caller's identity (a scope with the user id, whatever else it allows).
	id := scope.Scope{UserID: p.UserID, User: p.Name}
	err = scope.Run(ctx, a.db, id, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SELECT auth_set_password($1, $2)`, p.UserID, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	a.mu.Lock()
	for k, c := range a.cache {
		if c.p.UserID == p.UserID {
			delete(a.cache, k)
		}
	}
	a.mu.Unlock()
	return nil
}

// PolicyError is a rejected new value (a weak password), safe to show.
type PolicyError struct{ Problem string }

func (e *PolicyError) Error() string { return e.Problem }
