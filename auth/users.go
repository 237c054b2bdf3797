package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Users manages identities for the CLI (`onegrid users …`). It runs as the
// schema's owner, as `ingest` and `gen` do, never inside serve.
type Users struct {
	db Owner
}

// Owner is an owner connection: a *pgxpool.Pool or *pgx.Conn of the role that ran
// the migrations.
type Owner interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// NewUsers returns the user manager over an owner connection.
func NewUsers(db Owner) *Users { return &Users{db: db} }

// User is a user as listed (never its password hash).
type User struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	DisplayName        string    `json:"display_name"`
	Status             string    `json:"status"`
	Roles              []Role    `json:"roles"`
	Units              []string  `json:"units"`
	Duties             []string  `json:"duties"`
	MustChangePassword bool      `json:"must_change_password"`
	CreatedAt          time.Time `json:"created_at"`
	Tokens             int       `json:"tokens"` // live API tokens
}

// NewUser is what Add needs.
type NewUser struct {
	Name        string
	DisplayName string
	Roles       []Role
	Units       []string // admin or grid codes; "*" for everything
	Duties      []string // category codes
	// Password, when empty, is generated and returned by Add; a generated
	// password must be changed at first login.
	Password string
}

// InputError is a bad argument to a user operation, safe to show.
type InputError struct{ Problem string }

func (e *InputError) Error() string { return e.Problem }

// Add creates a user and returns its password (the one given, or a generated
// one-time password that is shown here once and must be changed at first login).
func (u *Users) Add(ctx context.Context, n NewUser) (string, error) {
	if err := u.check(ctx, n); err != nil {
		return "", err
	}
	pw, mustChange := n.Password, false
	if pw == "" {
		pw, mustChange = NewPassword(), true
	} else if problem := CheckPasswordPolicy(pw); problem != "" {
		return "", &InputError{"password: " + problem}
	}
	hash, err := HashPassword(pw)
	if err != nil {
		return "", err
	}
	roles := make([]string, len(n.Roles))
	for i, r := range n.Roles {
		roles[i] = string(r)
	}
	duties := n.Duties
	if duties == nil {
		duties = []string{}
	}
	_, err = u.db.Exec(ctx, `INSERT INTO app_user (name, display_name, password_hash, roles, units, duties, must_change_password)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, n.Name, n.DisplayName, hash, roles, n.Units, duties, mustChange)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return "", &InputError{fmt.Sprintf("user %q exists", n.Name)}
	}
	if err != nil {
		return "", fmt.Errorf("add user %s: %w", n.Name, err)
	}
	return pw, nil
}

// check validates a new user: a well-formed name, known roles, units that exist.
func (u *Users) check(ctx context.Context, n NewUser) error {
	if !validName(n.Name) {
		return &InputError{fmt.Sprintf("name %q: 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", n.Name)}
	}
	if len(n.Roles) == 0 {
		return &InputError{"roles: at least one"}
	}
	for _, r := range n.Roles {
		if !slices.Contains(Roles, r) {
			return &InputError{fmt.Sprintf("role %q unknown; roles: %s", r, joinRoles(Roles))}
		}
	}
	if len(n.Units) == 0 {
		return &InputError{"units: at least one admin or grid code, or * for everything"}
	}
	for _, code := range n.Units {
		if code == "*" {
			continue
		}
		var ok bool
		if err := u.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM admin_area WHERE code = $1)
			OR EXISTS (SELECT 1 FROM grid WHERE code = $1 AND valid_to IS NULL)`, code).Scan(&ok); err != nil {
			return fmt.Errorf("check unit %s: %w", code, err)
		}
		if !ok {
			return &InputError{fmt.Sprintf("unit %q: no admin area or current grid has this code", code)}
		}
	}
	for _, d := range n.Duties {
		var ok bool
		if err := u.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM event_category WHERE code = $1)`, d).Scan(&ok); err != nil {
			return fmt.Errorf("check duty %s: %w", d, err)
		}
		if !ok {
			return &InputError{fmt.Sprintf("duty %q: no event category has this code", d)}
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// List returns every user, by name.
func (u *Users) List(ctx context.Context) ([]User, error) {
	rows, err := u.db.Query(ctx, `SELECT u.id, u.name, u.display_name, u.status, u.roles, u.units, u.duties,
		u.must_change_password, u.created_at,
		(SELECT count(*) FROM api_token t WHERE t.user_id = u.id AND t.revoked_at IS NULL AND t.expires_at > now())
		FROM app_user u ORDER BY u.name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		var x User
		var roles []string
		err := r.Scan(&x.ID, &x.Name, &x.DisplayName, &x.Status, &roles, &x.Units, &x.Duties, &x.MustChangePassword, &x.CreatedAt, &x.Tokens)
		for _, r := range roles {
			x.Roles = append(x.Roles, Role(r))
		}
		return x, err
	})
}

// SetStatus disables or re-enables a user. Disabling also ends the user's web
// sessions and revokes their API tokens (a running server trusts a checked
// session for at most its cache time, 10 s by default).
func (u *Users) SetStatus(ctx context.Context, name string, active bool, at time.Time) error {
	status := "disabled"
	if active {
		status = "active"
	}
	tag, err := u.db.Exec(ctx, `WITH u AS (UPDATE app_user SET status = $2, changed_at = $3 WHERE name = $1 RETURNING id),
		s AS (DELETE FROM web_session WHERE $2 = 'disabled' AND user_id IN (SELECT id FROM u)),
		t AS (UPDATE api_token SET revoked_at = $3 WHERE $2 = 'disabled' AND revoked_at IS NULL AND user_id IN (SELECT id FROM u))
		SELECT id FROM u`, name, status, at)
	if err != nil {
		return fmt.Errorf("set user %s %s: %w", name, status, err)
	}
	if tag.RowsAffected() == 0 {
		return &InputError{fmt.Sprintf("user %q not found", name)}
	}
	return nil
}

// ResetPassword gives a user a new one-time password (returned, to be shown
// once) and ends their sessions.
func (u *Users) ResetPassword(ctx context.Context, name string, at time.Time) (string, error) {
	pw := NewPassword()
	hash, err := HashPassword(pw)
	if err != nil {
		return "", err
	}
	var n int
	err = u.db.QueryRow(ctx, `WITH u AS (UPDATE app_user SET password_hash = $2, must_change_password = true, changed_at = $3
		WHERE name = $1 RETURNING id), s AS (DELETE FROM web_session WHERE user_id IN (SELECT id FROM u))
		SELECT count(*) FROM u`, name, hash, at).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("reset password of %s: %w", name, err)
	}
	if n == 0 {
		return "", &InputError{fmt.Sprintf("user %q not found", name)}
	}
	return pw, nil
}

// CreateToken makes a named API token for a user, valid for ttl from at, and
// returns it (shown once: only its hash is kept).
func (u *Users) CreateToken(ctx context.Context, user, name string, at time.Time, ttl time.Duration) (string, error) {
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\x00\n\r") {
		return "", &InputError{"token name: 1-100 characters on one line"}
	}
	if ttl <= 0 || ttl > 366*24*time.Hour {
		return "", &InputError{"expiry: more than 0 and at most a year"}
	}
	secret := newSecret()
	tag, err := u.db.Exec(ctx, `INSERT INTO api_token (user_id, name, token_hash, created_at, expires_at)
		SELECT id, $2, $3, $4, $5 FROM app_user WHERE name = $1 AND status = 'active'`,
		user, name, hashSecret(secret), at, at.Add(ttl))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return "", &InputError{fmt.Sprintf("user %q already has a token named %q (revoke it first)", user, name)}
	}
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return "", &InputError{fmt.Sprintf("user %q not found or disabled", user)}
	}
	return TokenPrefix + secret, nil
}

// RevokeToken revokes a user's named token.
func (u *Users) RevokeToken(ctx context.Context, user, name string, at time.Time) error {
	tag, err := u.db.Exec(ctx, `UPDATE api_token t SET revoked_at = $3 FROM app_user u
		WHERE u.id = t.user_id AND u.name = $1 AND t.name = $2 AND t.revoked_at IS NULL`, user, name, at)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &InputError{fmt.Sprintf("user %q has no live token named %q", user, name)}
	}
	return nil
}

// EnsureAdmin creates the first administrator when the database has no user:
// name "admin", units everything, a one-time password returned to be printed
// once. ok is false when users exist (nothing is done).
func (u *Users) EnsureAdmin(ctx context.Context) (password string, ok bool, err error) {
	var n int
	if err := u.db.QueryRow(ctx, `SELECT count(*) FROM app_user`).Scan(&n); err != nil {
		return "", false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	pw, err := u.Add(ctx, NewUser{Name: "admin", DisplayName: "Administrator", Roles: []Role{Admin}, Units: []string{"*"}})
	if err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// DemoPassword is the password of every user Demo makes (stated in the README:
// a demo city only; a real deployment adds its users with `onegrid users add`).
const DemoPassword = "onegrid-demo"

// Demo makes one user per role for a demo city, in the jurisdictions those roles
// have in practice: the command centre and the analyst the whole area, the
// planner its busiest district, an officer that district's busiest street (with
// the sensitive categories as duties), a handler the same street, a grid worker
// that street's busiest grid, an auditor and an administrator. Existing names
// are kept; it returns the users it made.
func (u *Users) Demo(ctx context.Context) ([]NewUser, error) {
	var district, street, grid *string
	var sensitive []string
	err := u.db.QueryRow(ctx, `
WITH d AS (SELECT left(admin_code, 6) AS p, count(*) n FROM household WHERE admin_code ~ '^[0-9]{12}$' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1),
     s AS (SELECT left(h.admin_code, 9) AS p, count(*) n FROM household h, d WHERE starts_with(h.admin_code, d.p) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1),
     g AS (SELECT gr.code, count(*) n FROM household h JOIN grid gr ON gr.level = 'grid' AND gr.valid_to IS NULL
           AND starts_with(h.grid_code, gr.code), s WHERE starts_with(h.admin_code, s.p) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1)
SELECT (SELECT p || '000000' FROM d), (SELECT p || '000' FROM s), (SELECT code FROM g),
       ARRAY(SELECT code FROM event_category WHERE sensitive ORDER BY code)`).Scan(&district, &street, &grid, &sensitive)
	if err != nil {
		return nil, fmt.Errorf("demo users: find units: %w", err)
	}
	if district == nil || street == nil || grid == nil {
		return nil, &InputError{"demo users: the database holds no generated city (run onegrid gen first)"}
	}
	want := []NewUser{
		{Name: "admin", DisplayName: "管理员 Administrator", Roles: []Role{Admin}, Units: []string{"*"}},
		{Name: "command", DisplayName: "指挥中心 Command centre", Roles: []Role{Command}, Units: []string{"*"}},
		{Name: "planner", DisplayName: "规划 Planner", Roles: []Role{Planner}, Units: []string{*district}},
		{Name: "officer", DisplayName: "街道干部 Street officer", Roles: []Role{Officer}, Units: []string{*street}, Duties: sensitive},
		{Name: "handler", DisplayName: "部门处置 Department handler", Roles: []Role{Handler}, Units: []string{*street}},
		{Name: "worker", DisplayName: "网格员 Grid worker", Roles: []Role{GridWorker}, Units: []string{*grid}},
		{Name: "analyst", DisplayName: "上级分析 Analyst", Roles: []Role{Analyst}, Units: []string{"*"}},
		{Name: "auditor", DisplayName: "审计 Auditor", Roles: []Role{Auditor}, Units: []string{"*"}},
	}
	var made []NewUser
	for _, n := range want {
		var exists bool
		if err := u.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_user WHERE name = $1)`, n.Name).Scan(&exists); err != nil {
			return nil, err
		}
		if exists {
			continue
		}
		n.Password = DemoPassword
		if _, err := u.Add(ctx, n); err != nil {
			return nil, err
		}
		made = append(made, n)
	}
	return made, nil
}
