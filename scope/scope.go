// Package scope owns jurisdiction: what one request may see, and the one rule
// "inside this unit" that SQL, tiles and the live stream share.
//
// A unit (district, street, community, grid, micro-grid) is the subtree of codes
// that start with its prefix: 440304 for the district 440304000000, 440304001 for
// a street, a grid's own code for a grid (the SQL function unit_prefix is the one
// definition of a unit's prefix). A Scope is a set of such prefixes — the
// caller's jurisdiction — with the capabilities the caller's roles allow and
// the event categories that are the caller's duty.
//
// The database is the guarantee. Every request runs in a transaction that Begin
// opens with the scope's identity set (set_config(…, true), that is SET LOCAL),
// and PostgreSQL's row-level security policies (schema/0701_scope.sql) answer
// only rows inside it: a query that forgets its WHERE gets nothing outside the
// jurisdiction, and a connection without an identity gets nothing at all. The
// application's own checks stay as well (Inside mirrors the SQL rule for the
// live stream and in-memory tiles).
package scope

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Capabilities a scope may carry; package auth says which roles allow which.
const (
	CanRows       = "rows"       // read located rows: addresses, buildings, events and their steps
	CanHouseholds = "households" // read household rows (tags, masked personal fields)
	CanPersonal   = "personal"   // unmask personal fields, with a stated reason (audited)
	CanAggregates = "aggregates" // read disclosure-controlled aggregates, roll-ups and hotspot results
	CanEvents     = "events"     // report events and move them through the loop
	CanAudit      = "audit"      // read the audit log
	CanUsers      = "users"      // manage users
	CanLoads      = "loads"      // read load runs and their rejected raw rows
	CanSensitive  = "sensitive"  // see every sensitive event exactly, whatever the duties
)

// Scope is what one request may see and do.
type Scope struct {
	UserID int64  // 0 for the server's own background work
	User   string // the user's name, for the audit log
	// Units are the unit prefixes of the jurisdiction; [""] is everything.
	Units []string
	// Caps are the capabilities the roles allow.
	Caps []string
	// Duties are category prefixes whose sensitive events are the user's duty.
	Duties []string
}

// System is the server's own background work (the standard hotspot set, the
// tile snapshots of the whole city, the demo pulse): everything, and no
// capability that concerns a person (unmasking, the audit log, users).
func System() Scope {
	return Scope{User: "onegrid", Units: []string{""},
		Caps: []string{CanRows, CanHouseholds, CanAggregates, CanEvents, CanLoads, CanSensitive}}
}

// Aggregating is the scope an aggregate computation runs in: the same
// jurisdiction, reading the rows it counts (households, events) even when the
// caller may not read those rows themselves. Only code whose output is
// disclosure-controlled counts uses it (query's aggregates and loads, the
// hotspot analyses, the tile snapshots of aggregate layers): the database still
// confines it to the jurisdiction, and the caller still never sees a row. A
// scope without CanAggregates gets nothing more.
func (s Scope) Aggregating() Scope {
	if !s.Can(CanAggregates) {
		return s
	}
	a := s
	a.Caps = slices.Clone(s.Caps)
	for _, c := range []string{CanRows, CanHouseholds} {
		if !slices.Contains(a.Caps, c) {
			a.Caps = append(a.Caps, c)
		}
	}
	return a
}

// Inside reports whether code lies in the unit with the given prefix. It mirrors
// the SQL function inside(code, prefix) (schema/0701_scope.sql): codes are
// compared byte-wise, as in the "C" collation.
func Inside(code, prefix string) bool { return strings.HasPrefix(code, prefix) }

// All reports whether the scope is everything.
func (s Scope) All() bool { return slices.Contains(s.Units, "") }

// Can reports whether the scope carries a capability.
func (s Scope) Can(c string) bool { return slices.Contains(s.Caps, c) }

// Contains reports whether a row located by code (its finest grid, or its admin
// area, or "" when it lies outside every area) is inside the jurisdiction.
func (s Scope) Contains(code string) bool {
	for _, u := range s.Units {
		if Inside(code, u) {
			return true
		}
	}
	return false
}

// Duty reports whether a category's sensitive events are shown exactly.
func (s Scope) Duty(category string) bool {
	if s.Can(CanSensitive) {
		return true
	}
	for _, d := range s.Duties {
		if Inside(category, d) {
			return true
		}
	}
	return false
}

// Envelope returns the longest prefix common to every unit (the range an index
// scans) and whether it is the jurisdiction exactly. A scope without units has
// no envelope (ok false) and sees nothing.
func (s Scope) Envelope() (prefix string, exact, ok bool) {
	if len(s.Units) == 0 {
		return "", false, false
	}
	if s.All() {
		return "", true, true
	}
	prefix = s.Units[0]
	for _, u := range s.Units[1:] {
		n := 0
		for n < len(prefix) && n < len(u) && prefix[n] == u[n] {
			n++
		}
		prefix = prefix[:n]
	}
	exact = true
	for _, u := range s.Units {
		if u != prefix {
			exact = false
		}
	}
	return prefix, exact, true
}

// Key names what the scope sees and may do, for caches and ETags: two scopes
// with the same key are served the same tiles. It holds no personal value.
func (s Scope) Key() string {
	if s.All() && s.Can(CanRows) && s.Can(CanSensitive) {
		return "all"
	}
	units := slices.Clone(s.Units)
	caps := slices.Clone(s.Caps)
	duties := slices.Clone(s.Duties)
	slices.Sort(units)
	slices.Sort(caps)
	slices.Sort(duties)
	h := sha256.Sum256([]byte(strings.Join(units, ",") + "|" + strings.Join(caps, ",") + "|" + strings.Join(duties, ",")))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// The database roles a transaction runs as (schema/0702, 0707): the whole
// area's callers as CityRole, whose policies are one-time checks of the
// identity; wide jurisdictions (a district, a street) as WideRole, whose
// policies filter on the jurisdiction's range; narrow ones (a community, a
// grid) as Role, whose policies are ranges an index answers. The login role
// serve connects as is a member of all three.
const (
	Role     = "onegrid_app"
	CityRole = "onegrid_app_city"
	WideRole = "onegrid_app_wide"
)

// wideBelow is the length of a community's prefix: a jurisdiction whose common
// prefix is shorter (a district, a street; several units far apart) is wide.
const wideBelow = 12

// role is the database role a transaction of the scope runs as (schema/0702,
// 0707): the plans differ, the rows answered do not.
func (s Scope) role() string {
	prefix, _, ok := s.Envelope()
	switch {
	case !ok:
		return Role
	case s.All():
		return CityRole
	case len(prefix) < wideBelow:
		return WideRole
	}
	return Role
}

// setSQL sets the role and identity of the transaction it runs in (set_config's
// third argument: local to the transaction, as SET LOCAL). The identity is one
// setting, onegrid.id (schema/0791: fewer settings to set and undo per
// statement); setFreshSQL also has the statements after it planned for their
// own values (see FreshPlan).
const (
	setSQL      = `SELECT set_config('role', $1, true), set_config('onegrid.id', $2, true)`
	setFreshSQL = setSQL + `, set_config('plan_cache_mode', 'force_custom_plan', true)`
)

// identity returns the role a transaction of the scope runs as and the value
// of onegrid.id: user_id|caps|units|scope|exact|duties|user, the lists
// comma-framed (",rows,households,"), the scope "=" and the common prefix (so
// that everything, "=", is not empty). A scope without units sets only who it
// is, with an empty scope, so every policy answers nothing. A value holding
// '|', a quote, a backslash or a NUL is refused: no name or code holds one.
func (s Scope) identity() (role, id string, err error) {
	list := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return "," + strings.Join(v, ",") + ","
	}
	prefix, exact, ok := s.Envelope()
	var f []string
	if !ok {
		role = Role
		f = []string{strconv.FormatInt(s.UserID, 10), "", "", "", "f", "", s.User}
	} else {
		role = s.role()
		e := "f"
		if exact {
			e = "t"
		}
		f = []string{strconv.FormatInt(s.UserID, 10), list(s.Caps), list(s.Units), "=" + prefix, e, list(s.Duties), s.User}
	}
	for i, v := range f {
		if strings.ContainsAny(v, "|'\\\x00") {
			return "", "", fmt.Errorf("scope: %s holds a character that is never in a name or code", identityFields[i])
		}
	}
	return role, strings.Join(f, "|"), nil
}

// identityFields name onegrid.id's fields, in order (app_setting, schema/0791).
var identityFields = []string{"user_id", "caps", "units", "scope", "exact", "duties", "user"}

// queue puts the identity statement first in b; fresh adds plan_cache_mode.
func (s Scope) queue(b *pgx.Batch, fresh bool) error {
	role, id, err := s.identity()
	if err != nil {
		return err
	}
	q := setSQL
	if fresh {
		q = setFreshSQL
	}
	b.Queue(q, role, id)
	return nil
}

// Beginner starts transactions: a *pgxpool.Pool, a *pgxpool.Conn or a *pgx.Conn.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Begin starts a transaction that carries the scope's identity. The caller
// commits or rolls it back; the identity ends with it. BEGIN and the identity
// travel in one round trip (one simple-protocol message).
func Begin(ctx context.Context, db Beginner, s Scope) (pgx.Tx, error) {
	q, err := s.beginSQL()
	if err != nil {
		return nil, err
	}
	return db.BeginTx(ctx, pgx.TxOptions{BeginQuery: q})
}

// beginSQL is BEGIN followed by setSQL with the scope's values as literals
// (identity refuses the characters a literal would need escaped).
func (s Scope) beginSQL() (string, error) {
	role, id, err := s.identity()
	if err != nil {
		return "", err
	}
	return "BEGIN; " + strings.NewReplacer("$1", "'"+role+"'", "$2", "'"+id+"'").Replace(setSQL), nil
}

// Apply sets the scope's identity on a transaction begun elsewhere (a
// read-only snapshot, say); it lasts until the transaction ends.
func Apply(ctx context.Context, tx pgx.Tx, s Scope) error {
	role, id, err := s.identity()
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, setSQL, role, id)
	return err
}

// Run runs fn in a transaction that carries the scope's identity and commits
// it when fn succeeds.
func Run(ctx context.Context, db Beginner, s Scope, fn func(tx pgx.Tx) error) error {
	tx, err := Begin(ctx, db, s)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Queue puts the identity first in a batch: pgx sends a batch in one round trip
// and PostgreSQL runs it as one implicit transaction, so every statement queued
// after it runs with the identity, at no extra round trip (the tile path).
func (s Scope) Queue(b *pgx.Batch) error { return s.queue(b, false) }

// DB is what a scoped query needs: the transaction Begin opened (pgx.Tx), or
// Read's ReadDB. The domain packages' own DB interfaces start from it.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
