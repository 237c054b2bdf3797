// Package pgtest gives tests a real PostgreSQL + PostGIS database: a fresh
// database per test, cloned from a template migrated once per server.
//
// The server is ONEGRID_TEST_DATABASE_URL when set (a role that may create
// databases), otherwise a throw-away cluster that Main starts for the test binary
// and removes afterwards. Where no server can be had the test is skipped with the
// reason, except under CI=true, where that is a failure.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/pgcluster"
	"github.com/onegrid/onegrid/schema"
)

var (
	serverURL  string // connection string of the admin database
	serverErr  error
	clusterDir string
	cluster    *pgcluster.Cluster

	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Main runs the tests of a package that uses New; call it from TestMain.
func Main(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

func run(m *testing.M) int {
	if u := os.Getenv("ONEGRID_TEST_DATABASE_URL"); u != "" {
		serverURL = u
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := startCluster(ctx); err != nil {
		serverErr = err
	}
	defer func() {
		if cluster != nil {
			_ = cluster.Stop(context.Background())
		}
		if clusterDir != "" {
			os.RemoveAll(clusterDir)
		}
	}()
	return m.Run()
}

func startCluster(ctx context.Context) error {
	reapStale(os.TempDir())
	dir, err := os.MkdirTemp("", dirPattern)
	if err != nil {
		return err
	}
	clusterDir = dir
	if err := claim(dir); err != nil {
		return err
	}
	// The cluster may run as user postgres, which must be able to enter the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	c, err := pgcluster.New(pgcluster.Config{
		Dir:  dir,
		Port: freePort(),
		// A throw-away cluster: durability buys nothing here.
		Settings: []string{"fsync = off", "synchronous_commit = off", "full_page_writes = off", "shared_buffers = 128MB"},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	if _, err := c.Start(ctx); err != nil {
		return err
	}
	cluster = c
	serverURL = c.ConnString("postgres")
	return nil
}

// freePort picks a port number for the cluster's socket name; the cluster does not
// listen on TCP, so only the socket file name has to be unique.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 20000 + rand.IntN(30000)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// unavailable skips, or under CI fails, a test that cannot have a database.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("no PostgreSQL + PostGIS for this test: %v (run `make test`, which installs it, or set ONEGRID_TEST_DATABASE_URL)", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// ConnString returns the connection string of a fresh, migrated database that is
// dropped when the test ends.
func ConnString(t testing.TB) string {
	t.Helper()
	if serverURL == "" && serverErr == nil {
		serverErr = fmt.Errorf("pgtest.Main was not called from TestMain")
	}
	if serverErr != nil {
		unavailable(t, serverErr)
	}
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		if os.Getenv("CI") == "true" || !strings.Contains(templateErr.Error(), "connect") {
			t.Fatalf("pgtest: template database: %v", templateErr)
		}
		unavailable(t, templateErr)
	}
	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		unavailable(t, err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("onegrid_test_%d_%d", os.Getpid(), rand.Uint32())
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{templateName}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return withDatabase(serverURL, name)
}

// AppUser is the login role tests connect as to act as `onegrid serve`: a member
// of schema.AppRole, so row-level security applies to it.
const AppUser = "onegrid_serve_test"

var appRoleOnce sync.Once
var appRoleErr error

// AppConnString returns the connection string of the database of conn (one of
// ConnString's) as the application role, which is created once per server.
func AppConnString(t testing.TB, conn string) string {
	t.Helper()
	appRoleOnce.Do(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			appRoleErr = err
			return
		}
		defer admin.Close(ctx)
		// Several test binaries may share one server: one of them creates the role.
		if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7340021204)"); err != nil {
			appRoleErr = err
			return
		}
		defer admin.Exec(ctx, "SELECT pg_advisory_unlock(7340021204)") //nolint:errcheck
		appRoleErr = schema.EnsureLoginRole(ctx, admin, AppUser, "")
	})
	if appRoleErr != nil {
		t.Fatalf("pgtest: application role: %v", appRoleErr)
	}
	return withUser(conn, AppUser)
}

// NewApp returns a pool on the database of conn as the application role.
func NewApp(t testing.TB, conn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), AppConnString(t, conn))
	if err != nil {
		t.Fatalf("pgtest: connect as the application role: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// withUser returns conn with its user replaced by name.
func withUser(conn, name string) string {
	if strings.Contains(conn, "://") {
		u, err := url.Parse(conn)
		if err != nil {
			return conn
		}
		u.User = url.User(name)
		return u.String()
	}
	return conn + " user=" + name
}

// New returns a pool on a fresh, migrated database that is dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), ConnString(t))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ensureTemplate creates, once per server and schema, a migrated template database.
// Its name carries a hash of the migrations so a changed schema gets a new template.
func ensureTemplate(ctx context.Context) (string, error) {
	ms, err := schema.Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		h.Write([]byte(m.Name))
		h.Write([]byte(m.SQL))
	}
	name := "onegrid_template_" + hex.EncodeToString(h.Sum(nil))[:12]

	admin, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	// Several test binaries may share one server: one of them builds the template.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7340021203)"); err != nil {
		return "", err
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(7340021203)") //nolint:errcheck
	var ready bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&ready); err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	building := name + "_building"
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	db, err := pgx.Connect(ctx, withDatabase(serverURL, building))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	_, err = schema.Migrate(ctx, db)
	db.Close(ctx)
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

// withDatabase returns conn with its database replaced by name.
func withDatabase(conn, name string) string {
	if strings.Contains(conn, "://") {
		u := strings.SplitN(conn, "?", 2)
		base := u[0][:strings.LastIndex(u[0], "/")+1] + name
		if len(u) == 2 {
			return base + "?" + u[1]
		}
		return base
	}
	// In keyword/value form the last occurrence of a keyword wins.
	return conn + " dbname=" + name
}

// Cluster is the throw-away cluster of this test binary, nil with ONEGRID_TEST_DATABASE_URL.
func Cluster() *pgcluster.Cluster { return cluster }

// Pair returns two pools on one fresh, migrated database: the owner's (for
// loading fixtures, as ingest and gen do) and the application role's (what
// `onegrid serve` connects as, under row-level security).
func Pair(t testing.TB) (owner, app *pgxpool.Pool) {
	t.Helper()
	conn := ConnString(t)
	owner, err := pgxpool.New(context.Background(), conn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(owner.Close)
	return owner, NewApp(t, conn)
}
