package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/pgcluster"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs `onegrid <args> --addr <free port>` (args hold "serve") until
// the returned stop is called.
func startServe(t *testing.T, args ...string) (m *Main, addr string, stop func() error) {
	t.Helper()
	return startServeWith(t, args, nil)
}

// startServeWith runs `onegrid <args> --addr <free port> <serveArgs>` (args or
// serveArgs hold "serve") until the returned stop is called.
func startServeWith(t *testing.T, args, serveArgs []string) (m *Main, addr string, stop func() error) {
	t.Helper()
	addr = freeAddr(t)
	var out bytes.Buffer
	m = NewMain(&out, &out)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, append(append(args, "--addr", addr), serveArgs...)) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("serve exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return m, addr, func() error {
		cancel()
		err := <-errc
		if cerr := m.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	return getJSONAs(t, "", url, v)
}

// getJSONAs fetches url with an API token ("" for none).
func getJSONAs(t *testing.T, token, url string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode
}

// TestServeWithDatabaseURL: with an external server, serve migrates as the
// owner (DATABASE_URL) and serves as the application role
// (ONEGRID_APP_DATABASE_URL), requiring a token for everything but health.
func TestServeWithDatabaseURL(t *testing.T) {
	url, token := opsDatabase(t)
	// Global flags after the command, as in `onegrid serve --addr :8081`.
	_, addr, stop := startServe(t, "serve", "--database-url", url, "--app-database-url", pgtest.AppConnString(t, url))
	var health map[string]string
	if code := getJSON(t, "http://"+addr+"/healthz", &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, health)
	}
	var stats struct{ Tables map[string]int64 }
	if code := getJSON(t, "http://"+addr+"/api/v1/stats", &stats); code != 401 {
		t.Fatalf("stats without a token: %d, want 401", code)
	}
	if code := getJSONAs(t, token, "http://"+addr+"/api/v1/stats", &stats); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	for _, table := range []string{"address", "building", "household", "grid", "event", "admin_area"} {
		if n, ok := stats.Tables[table]; !ok || n != 0 {
			t.Errorf("stats[%s] = %d, %v; want 0 on an empty database", table, n, ok)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

// TestServeEmbeddedDatabase is `make demo` in small: serve with no DATABASE_URL
// starts the private cluster, migrates, serves, and stops the cluster on shutdown.
func TestServeEmbeddedDatabase(t *testing.T) {
	if pgtest.Cluster() == nil && os.Getenv("ONEGRID_TEST_DATABASE_URL") == "" {
		if _, err := pgcluster.New(pgcluster.Config{Dir: "/tmp/x", Port: 1}); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
	dir, err := os.MkdirTemp("", "onegrid-serve-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, portStr, _ := net.SplitHostPort(freeAddr(t))
	t.Setenv("DATABASE_URL", "")
	m, addr, stop := startServe(t, "--data-dir", dir, "--db-port", portStr, "serve")
	if out := m.Stdout.(*bytes.Buffer).String(); !strings.Contains(out, "first administrator: admin") || !strings.Contains(out, "one-time password:") {
		t.Errorf("a new database's first serve does not print the first administrator's one-time password:\n%s", out)
	}
	var health map[string]string
	if code := getJSON(t, "http://"+addr+"/healthz", &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("healthz: %d %v", code, health)
	}
	c, err := m.cluster()
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Status(); !st.Running {
		t.Fatal("embedded database not running while serving")
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if st, _ := c.Status(); st.Running {
		t.Fatal("embedded database still running after serve stopped")
	}
}

// TestServeRefusesSuperuser: serve will not run as a role that bypasses
// row-level security, nor as the owner without an application role.
func TestServeRefusesSuperuser(t *testing.T) {
	url := pgtest.ConnString(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--database-url", url, "--app-database-url", url}, "superuser"},
		{[]string{"--database-url", url}, "--app-database-url"},
	} {
		var out bytes.Buffer
		m := NewMain(&out, &out)
		err := m.Run(context.Background(), append(tc.args, "--addr", freeAddr(t), "serve"))
		m.Close()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an error naming %s", tc.args[2:], err, tc.want)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := NewMain(&out, &out).Run(context.Background(), []string{"frobnicate"})
	if err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("got %v", err)
	}
	if ec, ok := err.(exitCoder); !ok || ec.ExitCode() != 2 {
		t.Fatalf("exit code: %v", err)
	}
}

// opsDatabase is a fresh migrated database on the test server and an API token
// of an administrator "ops" in it, for tests that serve it.
func opsDatabase(t *testing.T) (url, token string) {
	t.Helper()
	url = pgtest.ConnString(t)
	ctx := context.Background()
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	users := auth.NewUsers(owner)
	if _, err := users.Add(ctx, auth.NewUser{Name: "ops", Roles: []auth.Role{auth.Admin}, Units: []string{"*"}, Password: "a long test password"}); err != nil {
		t.Fatal(err)
	}
	// The server runs on the system clock here, so the token is valid from it.
	token, err = users.CreateToken(ctx, "ops", "test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return url, token
}
