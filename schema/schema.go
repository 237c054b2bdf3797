// Package schema owns the database schema: embedded, forward-only SQL migrations
// applied one file per transaction and recorded in schema_migration.
//
// Files are named NNNN_name.sql and applied in name order. A file never changes
// after it has landed; a change is a new file. Migrate applies every file not yet
// recorded, so a file merged later with a lower number than one already applied
// is still applied.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed *.sql
var files embed.FS

// Migration is one embedded SQL file.
type Migration struct {
	Name string
	SQL  string
}

// Migrations returns the embedded migrations in the order they are applied.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Name: n, SQL: string(b)})
	}
	return out, nil
}

// Conn is what Migrate needs: a *pgx.Conn or a *pgxpool.Pool.
type Conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

// MigrationError says which file failed and, where PostgreSQL names it, where.
type MigrationError struct {
	File     string
	Position int32 // 1-based character offset into the file, 0 if unknown
	Line     int   // line of Position in the file, 0 if unknown
	Err      error
}

func (e *MigrationError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("migration %s line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("migration %s: %v", e.File, e.Err)
}

func (e *MigrationError) Unwrap() error { return e.Err }

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migration (
	name       text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrationLock serialises concurrent Migrate calls (several serve processes starting
// at once) through a transaction-level advisory lock.
const migrationLock = 7_340_021_202

// Migrate applies every embedded migration that has not been applied yet, each in its
// own transaction, and returns the names it applied. Running it again applies nothing.
func Migrate(ctx context.Context, db Conn) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	if _, err := db.Exec(ctx, createVersionTable); err != nil {
		return nil, fmt.Errorf("create schema_migration: %w", err)
	}
	var applied []string
	for _, m := range ms {
		done, err := apply(ctx, db, m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Name)
		}
	}
	if len(applied) > 0 {
		// The whole area's role gets what migrations granted the application
		// role (schema/0706).
		if _, err := db.Exec(ctx, "SELECT app_city_sync()"); err != nil {
			return applied, fmt.Errorf("sync onegrid_app_city: %w", err)
		}
	}
	return applied, nil
}

func apply(ctx context.Context, db Conn, m Migration) (bool, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.Name, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return false, fmt.Errorf("migration %s: lock: %w", m.Name, err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migration WHERE name = $1)", m.Name).Scan(&exists); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if exists {
		return false, nil
	}
	// The simple protocol lets a file hold many statements.
	if _, err := tx.Exec(ctx, m.SQL, pgx.QueryExecModeSimpleProtocol); err != nil {
		return false, newMigrationError(m, err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO schema_migration (name) VALUES ($1)", m.Name); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, newMigrationError(m, err)
	}
	return true, nil
}

func newMigrationError(m Migration, err error) error {
	me := &MigrationError{File: m.Name, Err: err}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Position > 0 {
		me.Position = pgErr.Position
		runes := []rune(m.SQL)
		if int(pgErr.Position) <= len(runes) {
			me.Line = strings.Count(string(runes[:pgErr.Position-1]), "\n") + 1
		}
	}
	return me
}

// AppRole is the group role `onegrid serve` runs as (schema/0700_identity.sql):
// neither superuser nor BYPASSRLS, so row-level security applies to it.
// AppCityRole is its twin for callers of the whole area (schema/0702).
const (
	AppRole     = "onegrid_app"
	AppCityRole = "onegrid_app_city"
	AppWideRole = "onegrid_app_wide"
)

// EnsureLoginRole makes name a login role that is a member of AppRole (and
// nothing more), creating it when missing; password may be empty for a role
// that logs in only over the local socket. The connection must be the schema's
// owner with the right to create roles (the embedded cluster's superuser).
func EnsureLoginRole(ctx context.Context, db Conn, name, password string) error {
	q := "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = " + quoteLiteral(name) + ") THEN CREATE ROLE " +
		pgx.Identifier{name}.Sanitize() + " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$"
	if _, err := db.Exec(ctx, q); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" { // a concurrent creator won
			return fmt.Errorf("create login role %s: %w", name, err)
		}
	}
	if password != "" {
		if _, err := db.Exec(ctx, "ALTER ROLE "+pgx.Identifier{name}.Sanitize()+" PASSWORD "+quoteLiteral(password)); err != nil {
			return fmt.Errorf("set password of role %s: %w", name, err)
		}
	}
	for _, r := range []string{AppRole, AppCityRole, AppWideRole} {
		if _, err := db.Exec(ctx, "GRANT "+r+" TO "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("grant %s to %s: %w", r, name, err)
		}
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// leakproofFuncs are the functions whose LEAKPROOF mark lets row-level security
// use an index (migrations 0703 and 0704, which need a superuser to set it).
var leakproofFuncs = []string{"geometry_overlaps", "geometry_contains", "geometry_within", "geometry_distance_centroid",
	"similarity_op", "word_similarity_op", "textlike", "close_hist_bin"}

// CheckLeakproof lists the functions that lack the LEAKPROOF mark onegrid's
// queries need under row-level security (on a server whose migrations ran
// without a superuser, or after an extension upgrade recreated them): serve
// answers correctly without them, but scans where it would use an index.
func CheckLeakproof(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT proname FROM pg_proc WHERE proname = ANY ($1) AND NOT proleakproof ORDER BY 1`, leakproofFuncs)
	if err != nil {
		return nil, fmt.Errorf("check leakproof functions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
