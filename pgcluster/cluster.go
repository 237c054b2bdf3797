// Package pgcluster owns onegrid's embedded default database: a private
// PostgreSQL 15 + PostGIS cluster in a data directory that onegrid initialises,
// starts, checks and stops itself.
//
// Layout of the data directory:
//
//	<dir>/pgdata/        the cluster (PG_VERSION, postmaster.pid, the unix socket)
//	<dir>/password       the password of the "onegrid" role for loopback TCP clients
//	<dir>/postgres.log   the server log
//
// PostgreSQL refuses to run as root; when onegrid runs as root the cluster's
// programs run as the unprivileged "postgres" system user that Debian's
// postgresql package creates, and <dir>/pgdata belongs to that user.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Major is the PostgreSQL major version onegrid manages.
const Major = 15

// Role and Database are the superuser role and the database of the cluster;
// AppUser is the login role `onegrid serve` connects as over the socket (a
// member of the schema's application role, without superuser or BYPASSRLS).
const (
	Role     = "onegrid"
	Database = "onegrid"
	AppUser  = "onegrid_serve"
)

// Config says where and how the cluster runs.
type Config struct {
	Dir    string // data directory (see the package comment)
	Port   int    // port of the unix socket and, when Listen is set, of TCP
	Listen string // loopback address for TCP clients, e.g. "127.0.0.1"; "" for the socket only
	// Settings are extra postgresql.conf lines written at initdb, e.g. "fsync = off" for tests.
	Settings []string
	BinDir   string // PostgreSQL server programs; found with pg_config when empty
	Logger   *slog.Logger
}

// Cluster is one managed cluster.
type Cluster struct {
	cfg    Config
	bin    string
	runAs  *syscall.Credential
	log    *slog.Logger
	pgdata string
}

// New finds the server programs and PostGIS and says in one line what to install
// when they are missing.
func New(cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pgcluster: no data directory given (--data-dir / ONEGRID_DATA_DIR)")
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("pgcluster: port %d out of range 1..65535 (--db-port / ONEGRID_DB_PORT)", cfg.Port)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: data directory %q: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	bin, err := findBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	if err := checkPostGIS(bin); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, bin: bin, log: cfg.Logger, pgdata: filepath.Join(dir, "pgdata")}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("pgcluster: running as root needs the unprivileged system user \"postgres\" to run the cluster: install the Debian package postgresql-15 (make setup does)")
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return c, nil
}

func findBinDir(configured string) (string, error) {
	var candidates []string
	if configured != "" {
		candidates = append(candidates, configured)
	} else {
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		candidates = append(candidates, fmt.Sprintf("/usr/lib/postgresql/%d/bin", Major))
	}
	for _, dir := range candidates {
		out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		if major := parseMajor(string(out)); major != Major {
			continue
		}
		for _, prog := range []string{"initdb", "pg_ctl"} {
			if _, err := os.Stat(filepath.Join(dir, prog)); err != nil {
				return "", fmt.Errorf("pgcluster: %s missing from %s: install the Debian package postgresql-%d", prog, dir, Major)
			}
		}
		return dir, nil
	}
	return "", fmt.Errorf("pgcluster: PostgreSQL %d server programs not found (looked in %s): install the Debian package postgresql-%d (make setup does)", Major, strings.Join(candidates, ", "), Major)
}

// parseMajor reads "postgres (PostgreSQL) 15.18 (Debian ...)".
func parseMajor(versionOutput string) int {
	f := strings.Fields(versionOutput)
	for i, w := range f {
		if w == "(PostgreSQL)" && i+1 < len(f) {
			major, _, _ := strings.Cut(f[i+1], ".")
			n, _ := strconv.Atoi(major)
			return n
		}
	}
	return 0
}

func checkPostGIS(bin string) error {
	share := fmt.Sprintf("/usr/share/postgresql/%d", Major)
	if out, err := exec.Command(filepath.Join(bin, "pg_config"), "--sharedir").Output(); err == nil {
		share = strings.TrimSpace(string(out))
	} else if out, err := exec.Command("pg_config", "--sharedir").Output(); err == nil {
		share = strings.TrimSpace(string(out))
	}
	for _, ext := range []string{"postgis", "pg_trgm", "btree_gist"} {
		if _, err := os.Stat(filepath.Join(share, "extension", ext+".control")); err != nil {
			pkg := fmt.Sprintf("postgresql-%d-postgis-3", Major)
			if ext != "postgis" {
				pkg = fmt.Sprintf("postgresql-contrib (postgresql-%d)", Major)
			}
			return fmt.Errorf("pgcluster: extension %s not found in %s: install the Debian package %s (make setup does)", ext, share, pkg)
		}
	}
	return nil
}

// DataDir is the cluster's PGDATA.
func (c *Cluster) DataDir() string { return c.pgdata }

// ConnString is a pgx/libpq connection string over the unix socket, as the
// superuser.
func (c *Cluster) ConnString(database string) string { return c.ConnStringAs(Role, database) }

// ConnStringAs is a connection string over the unix socket as another role
// (local connections are trusted: the socket's directory is the cluster's).
func (c *Cluster) ConnStringAs(role, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", c.pgdata, c.cfg.Port, role, database)
}

// TCPURL is the URL a loopback TCP client (psql, QGIS, ogr2ogr) uses; "" without TCP.
func (c *Cluster) TCPURL() string {
	if c.cfg.Listen == "" {
		return ""
	}
	pw, _ := os.ReadFile(filepath.Join(c.cfg.Dir, "password"))
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", Role, strings.TrimSpace(string(pw)),
		net.JoinHostPort(c.cfg.Listen, strconv.Itoa(c.cfg.Port)), Database)
}

// Status of a cluster.
type Status struct {
	Initialised bool
	Running     bool
	PID         int
}

// Status reports whether the cluster exists and runs, without changing anything.
func (c *Cluster) Status() (Status, error) {
	var st Status
	if _, err := os.Stat(filepath.Join(c.pgdata, "PG_VERSION")); err != nil {
		return st, nil
	}
	st.Initialised = true
	pid, alive, err := c.postmaster()
	if err != nil {
		return st, err
	}
	st.Running, st.PID = alive, pid
	return st, nil
}

// postmaster reads postmaster.pid and says whether that process still runs.
func (c *Cluster) postmaster() (pid int, alive bool, err error) {
	b, err := os.ReadFile(filepath.Join(c.pgdata, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("pgcluster: read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false, nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return pid, false, nil
	}
	return pid, bytes.Contains(cmdline, []byte("postgres")), nil
}

// Start initialises the cluster when needed, starts it unless it already runs, and
// makes sure the database and its extensions exist. It reports whether it started
// the server, so that the caller stops only what it started.
func (c *Cluster) Start(ctx context.Context) (started bool, err error) {
	if err := c.initdb(ctx); err != nil {
		return false, err
	}
	pid, alive, err := c.postmaster()
	if err != nil {
		return false, err
	}
	if alive {
		c.log.Info("database already running", "pid", pid, "dir", c.pgdata)
	} else {
		if pid != 0 {
			// A crashed run leaves postmaster.pid behind; postgres would refuse to
			// start on it only if the pid were reused by another postgres.
			c.log.Warn("removing stale postmaster.pid left by a crashed run", "pid", pid, "dir", c.pgdata)
			if err := os.Remove(filepath.Join(c.pgdata, "postmaster.pid")); err != nil {
				return false, fmt.Errorf("pgcluster: remove stale postmaster.pid: %w", err)
			}
		}
		if err := c.checkPortFree(); err != nil {
			return false, err
		}
		if err := c.start(ctx); err != nil {
			return false, err
		}
		started = true
	}
	if err := c.ensureDatabase(ctx, Database); err != nil {
		if started {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
		return false, err
	}
	return started, nil
}

func (c *Cluster) checkPortFree() error {
	if c.cfg.Listen != "" {
		l, err := net.Listen("tcp", net.JoinHostPort(c.cfg.Listen, strconv.Itoa(c.cfg.Port)))
		if err != nil {
			return fmt.Errorf("pgcluster: port %d on %s is in use by another program: choose another with --db-port (ONEGRID_DB_PORT)", c.cfg.Port, c.cfg.Listen)
		}
		l.Close()
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	version, err := os.ReadFile(filepath.Join(c.pgdata, "PG_VERSION"))
	switch {
	case err == nil:
		if v := strings.TrimSpace(string(version)); v != strconv.Itoa(Major) {
			return fmt.Errorf("pgcluster: data directory %s was created by PostgreSQL %s, this onegrid runs PostgreSQL %d: choose another directory with --data-dir (ONEGRID_DATA_DIR); onegrid does not touch it", c.pgdata, v, Major)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("pgcluster: read %s: %w", filepath.Join(c.pgdata, "PG_VERSION"), err)
	}
	if entries, err := os.ReadDir(c.pgdata); err == nil && len(entries) > 0 {
		return fmt.Errorf("pgcluster: %s exists, is not empty and is not a PostgreSQL data directory: choose another directory with --data-dir (ONEGRID_DATA_DIR); onegrid does not touch it", c.pgdata)
	}
	if err := os.MkdirAll(c.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.cfg.Dir, err)
	}
	if err := os.MkdirAll(c.pgdata, 0o700); err != nil {
		return fmt.Errorf("pgcluster: create %s: %w", c.pgdata, err)
	}
	if c.runAs != nil {
		if err := c.checkReachable(); err != nil {
			return err
		}
		if err := os.Chown(c.pgdata, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
			return fmt.Errorf("pgcluster: give %s to user postgres: %w", c.pgdata, err)
		}
	}
	pwFile := filepath.Join(c.cfg.Dir, "password")
	if _, err := os.Stat(pwFile); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(pwFile, []byte(rand.Text()+"\n"), 0o600); err != nil {
			return fmt.Errorf("pgcluster: write password: %w", err)
		}
	}
	// initdb reads the password file as the cluster user, so hand it a copy it can read.
	tmpPw := filepath.Join(c.pgdata, ".initpw")
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return fmt.Errorf("pgcluster: read password: %w", err)
	}
	if err := os.WriteFile(tmpPw, pw, 0o600); err != nil {
		return fmt.Errorf("pgcluster: write password: %w", err)
	}
	if c.runAs != nil {
		_ = os.Chown(tmpPw, int(c.runAs.Uid), int(c.runAs.Gid))
	}
	// initdb wants an empty directory: keep the password copy beside it instead.
	tmpPw2 := c.pgdata + ".initpw"
	if err := os.Rename(tmpPw, tmpPw2); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer os.Remove(tmpPw2)
	c.log.Info("initialising database cluster", "dir", c.pgdata)
	out, err := c.run(ctx, "initdb", "-D", c.pgdata, "-U", Role, "-E", "UTF8", "--locale=C.UTF-8",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+tmpPw2)
	if err != nil {
		return fmt.Errorf("pgcluster: initdb %s: %w\n%s", c.pgdata, err, lastLines(out, 5))
	}
	conf := append([]string{
		"# written by onegrid",
		"unix_socket_permissions = 0770",
		"max_connections = 100",
		"shared_buffers = 512MB",
		"work_mem = 32MB",
		"maintenance_work_mem = 512MB",
		"max_wal_size = 4GB",
		// No replication or WAL archiving for the embedded database: with minimal
		// WAL, a bulk load into a table created or truncated in the same
		// transaction (onegrid gen) skips the WAL and syncs the files at commit,
		// and index builds skip it too. Crash safety is unchanged. A cluster that
		// must feed a standby or PITR is an external one (DATABASE_URL).
		"wal_level = minimal",
		"max_wal_senders = 0",
		"checkpoint_timeout = 15min",
		"random_page_cost = 1.1",
		"effective_cache_size = 8GB",
		// JIT compilation costs more than it saves on the short queries tiles make.
		"jit = off",
		// A backend whose client went away (a loader killed mid-insert) stops its
		// query within a second instead of running it to the end with its locks.
		"client_connection_check_interval = " + ConnectionCheckInterval,
	}, c.cfg.Settings...)
	f, err := os.OpenFile(filepath.Join(c.pgdata, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + strings.Join(conf, "\n") + "\n"); err != nil {
		return fmt.Errorf("pgcluster: write postgresql.conf: %w", err)
	}
	return nil
}

// checkReachable makes sure the postgres user can enter every directory above the
// data directory; root's home, for one, is closed to it.
func (c *Cluster) checkReachable() error {
	for dir := filepath.Dir(c.pgdata); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode().Perm()
		ok := mode&0o001 != 0 || (st.Uid == c.runAs.Uid && mode&0o100 != 0) || (st.Gid == c.runAs.Gid && mode&0o010 != 0)
		if !ok {
			return fmt.Errorf("pgcluster: the cluster runs as user postgres, which cannot enter %s: choose a data directory outside it with --data-dir (ONEGRID_DATA_DIR)", dir)
		}
		if dir == "/" || dir == "." {
			return nil
		}
	}
}

func (c *Cluster) start(ctx context.Context) error {
	logFile := filepath.Join(c.cfg.Dir, "postgres.log")
	if c.runAs != nil {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		f.Close()
		_ = os.Chown(logFile, int(c.runAs.Uid), int(c.runAs.Gid))
	}
	opts := fmt.Sprintf("-p %d -k '%s' -h '%s'", c.cfg.Port, c.pgdata, c.cfg.Listen)
	c.log.Info("starting database", "dir", c.pgdata, "port", c.cfg.Port, "listen", c.cfg.Listen)
	out, err := c.run(ctx, "pg_ctl", "-D", c.pgdata, "-l", logFile, "-o", opts, "-w", "-t", "120", "start")
	if err != nil {
		tail, _ := os.ReadFile(logFile)
		return fmt.Errorf("pgcluster: start %s: %w\n%s%s", c.pgdata, err, lastLines(out, 3), lastLines(tail, 8))
	}
	return nil
}

// Stop shuts the server down (fast mode: sessions are cancelled, nothing is lost).
func (c *Cluster) Stop(ctx context.Context) error {
	_, alive, err := c.postmaster()
	if err != nil || !alive {
		return err
	}
	c.log.Info("stopping database", "dir", c.pgdata)
	out, err := c.run(ctx, "pg_ctl", "-D", c.pgdata, "-m", "fast", "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("pgcluster: stop %s: %w\n%s", c.pgdata, err, lastLines(out, 5))
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, prog), args...)
	// Keep terminal signals away from the server: onegrid stops it itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.runAs}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	return cmd.CombinedOutput()
}

// EnsureDatabase creates database name with the extensions onegrid needs, if missing.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	return c.ensureDatabase(ctx, name)
}

func (c *Cluster) ensureDatabase(ctx context.Context, name string) error {
	conn, err := connectRetry(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connect: %w", err)
	}
	if err := ensureSettings(ctx, conn); err != nil {
		conn.Close(ctx)
		return err
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	}
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	db, err := pgx.Connect(ctx, c.ConnString(name))
	if err != nil {
		return fmt.Errorf("pgcluster: connect %s: %w", name, err)
	}
	defer db.Close(ctx)
	for _, ext := range []string{"postgis", "pg_trgm", "btree_gist"} {
		if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+ext); err != nil {
			return fmt.Errorf("pgcluster: create extension %s: %w", ext, err)
		}
	}
	return nil
}

// ConnectionCheckInterval is the embedded cluster's client_connection_check_interval:
// how often a backend running a query checks that its client is still there,
// and cancels the query when it is not. PostgreSQL's default, 0, lets the
// query of a killed client run to its end, holding its locks all the while.
const ConnectionCheckInterval = "1s"

// ensureSettings gives a cluster initialised before a setting existed in
// initdb's list the settings it lacks, with ALTER SYSTEM (postgresql.auto.conf)
// and a reload, so that every cluster onegrid starts has them.
func ensureSettings(ctx context.Context, conn *pgx.Conn) error {
	var v string
	if err := conn.QueryRow(ctx, "SELECT current_setting('client_connection_check_interval')").Scan(&v); err != nil {
		return fmt.Errorf("pgcluster: read client_connection_check_interval: %w", err)
	}
	if v != "0" {
		return nil
	}
	if _, err := conn.Exec(ctx, "ALTER SYSTEM SET client_connection_check_interval = '"+ConnectionCheckInterval+"'"); err != nil {
		return fmt.Errorf("pgcluster: set client_connection_check_interval: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("pgcluster: reload configuration: %w", err)
	}
	return nil
}

// connectRetry rides out the moment between pg_ctl's "ready" and the first
// accepted connection.
func connectRetry(ctx context.Context, conn string) (*pgx.Conn, error) {
	var lastErr error
	for i := 0; i < 50; i++ {
		c, err := pgx.Connect(ctx, conn)
		if err == nil {
			return c, nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, lastErr
}

// Psql returns a command that runs psql against the cluster's database.
func (c *Cluster) Psql(ctx context.Context, args ...string) *exec.Cmd {
	psql := filepath.Join(c.bin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	return exec.CommandContext(ctx, psql, append([]string{c.ConnString(Database)}, args...)...)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
