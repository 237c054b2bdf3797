package pgcluster_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/pgcluster"
)

// newCluster returns a cluster in a fresh directory, or skips (fails under CI)
// where PostgreSQL or PostGIS is not installed.
func newCluster(t *testing.T, listen string, port int) (c *pgcluster.Cluster, dir string) {
	t.Helper()
	// t.TempDir's parent is closed to other users; the cluster may run as postgres.
	dir, err := os.MkdirTemp("", "onegrid-cluster-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if port == 0 {
		port = freePort(t)
	}
	c, err = pgcluster.New(pgcluster.Config{Dir: dir, Port: port, Listen: listen, Settings: []string{"fsync = off", "shared_buffers = 32MB"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c, dir
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	c, _ := newCluster(t, "127.0.0.1", 0)
	if st, _ := c.Status(); st.Initialised || st.Running {
		t.Fatalf("fresh directory reports %+v", st)
	}
	started, err := c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !started {
		t.Fatal("first Start did not start the server")
	}
	st, err := c.Status()
	if err != nil || !st.Running || st.PID == 0 {
		t.Fatalf("after Start: %+v, %v", st, err)
	}

	started, err = c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if started {
		t.Fatal("second Start started a server again instead of reusing the running one")
	}

	for _, conn := range []string{c.ConnString(pgcluster.Database), c.TCPURL()} {
		db, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Fatalf("connect %s: %v", conn, err)
		}
		var collate, postgis string
		var trgm bool
		err = db.QueryRow(ctx, `SELECT current_setting('lc_collate'), postgis_lib_version(),
			EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')`).Scan(&collate, &postgis, &trgm)
		db.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if collate != "C.UTF-8" || !trgm || !strings.HasPrefix(postgis, "3.") {
			t.Fatalf("collate %q, postgis %q, pg_trgm %v; want C.UTF-8, 3.x, true", collate, postgis, trgm)
		}
	}
	// pg_trgm must see Chinese characters, which it ignores under the C locale.
	db, err := pgx.Connect(ctx, c.ConnString(pgcluster.Database))
	if err != nil {
		t.Fatal(err)
	}
	var sim float64
	if err := db.QueryRow(ctx, "SELECT similarity('福田区福华路', '福田区福华一路')").Scan(&sim); err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)
	if sim <= 0 {
		t.Fatalf("similarity of two Chinese addresses = %v; pg_trgm is ignoring Chinese", sim)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Status(); st.Running || !st.Initialised {
		t.Fatalf("after Stop: %+v", st)
	}
	// A stopped cluster starts again on the same data.
	if started, err := c.Start(ctx); err != nil || !started {
		t.Fatalf("restart: started=%v err=%v", started, err)
	}
}

func TestStalePostmasterPID(t *testing.T) {
	ctx := context.Background()
	c, _ := newCluster(t, "", 0)
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(c.DataDir(), "postmaster.pid")
	lock, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// What a crashed run leaves: the lock file naming a process that is gone.
	stale := "999999" + string(lock[strings.IndexByte(string(lock), '\n'):])
	if err := os.WriteFile(pidFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.Status(); st.Running {
		t.Fatal("a stale postmaster.pid is reported as running")
	}
	started, err := c.Start(ctx)
	if err != nil {
		t.Fatalf("start over a stale postmaster.pid: %v", err)
	}
	if !started {
		t.Fatal("start over a stale postmaster.pid did not start the server")
	}
}

func TestRefusesForeignDirectories(t *testing.T) {
	ctx := context.Background()
	t.Run("other PostgreSQL version", func(t *testing.T) {
		c, _ := newCluster(t, "", 0)
		if err := os.MkdirAll(c.DataDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.DataDir(), "PG_VERSION"), []byte("14\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := c.Start(ctx)
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL 14") || !strings.Contains(err.Error(), "--data-dir") {
			t.Fatalf("got %v, want an error naming PostgreSQL 14 and --data-dir", err)
		}
		if b, _ := os.ReadFile(filepath.Join(c.DataDir(), "PG_VERSION")); string(b) != "14\n" {
			t.Fatal("the foreign data directory was changed")
		}
	})
	t.Run("not a data directory", func(t *testing.T) {
		c, _ := newCluster(t, "", 0)
		if err := os.MkdirAll(c.DataDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		keep := filepath.Join(c.DataDir(), "thesis.tex")
		if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := c.Start(ctx)
		if err == nil || !strings.Contains(err.Error(), "not a PostgreSQL data directory") {
			t.Fatalf("got %v, want a refusal", err)
		}
		if b, _ := os.ReadFile(keep); string(b) != "mine" {
			t.Fatal("a file in the foreign directory was changed")
		}
	})
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, _ := newCluster(t, "127.0.0.1", l.Addr().(*net.TCPAddr).Port)
	_, err = c.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "--db-port") {
		t.Fatalf("got %v, want an error saying the port is in use and naming --db-port", err)
	}
}

func TestMissingServerNamesThePackage(t *testing.T) {
	_, err := pgcluster.New(pgcluster.Config{Dir: t.TempDir(), Port: 5555, BinDir: "/nonexistent/bin"})
	if err == nil || !strings.Contains(err.Error(), "postgresql-15") {
		t.Fatalf("got %v, want one line naming the Debian package postgresql-15", err)
	}
	if strings.Count(err.Error(), "\n") > 0 {
		t.Fatalf("error spans several lines: %q", err)
	}
	if _, err := exec.LookPath("pg_config"); err != nil {
		t.Log("pg_config not on PATH; the fallback /usr/lib/postgresql/15/bin was used")
	}
}

// TestConnectionCheckInterval: a new cluster checks for vanished clients, and
// so does one initialised without the setting (an older onegrid's) once Start
// has run on it.
func TestConnectionCheckInterval(t *testing.T) {
	ctx := context.Background()
	c, _ := newCluster(t, "", 0)
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	show := func() string {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.ConnString(pgcluster.Database))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var v string
		if err := conn.QueryRow(ctx, "SHOW client_connection_check_interval").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := show(); v != pgcluster.ConnectionCheckInterval {
		t.Fatalf("new cluster: client_connection_check_interval = %s, want %s", v, pgcluster.ConnectionCheckInterval)
	}
	// As an older onegrid left it: the setting switched off in postgresql.conf.
	conf := filepath.Join(c.DataDir(), "postgresql.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	old := strings.ReplaceAll(string(b), "client_connection_check_interval = "+pgcluster.ConnectionCheckInterval, "client_connection_check_interval = 0")
	if old == string(b) {
		t.Fatal("postgresql.conf does not set client_connection_check_interval")
	}
	if err := os.WriteFile(conf, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if v := show(); v != pgcluster.ConnectionCheckInterval {
		t.Errorf("existing cluster after Start: client_connection_check_interval = %s, want %s", v, pgcluster.ConnectionCheckInterval)
	}
}
