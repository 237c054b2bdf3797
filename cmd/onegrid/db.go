package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/pgcluster"
	"github.com/onegrid/onegrid/schema"
)

func init() { commands["db"] = runDB }

func (m *Main) cluster() (*pgcluster.Cluster, error) {
	return pgcluster.New(pgcluster.Config{Dir: m.Config.DataDir, Port: m.Config.DBPort, Listen: m.Config.DBListen, Logger: m.Log})
}

// connString returns DATABASE_URL, or starts the embedded database (stopping it at
// Close if this run started it) and returns its connection string.
func (m *Main) connString(ctx context.Context) (string, error) {
	if m.Config.DatabaseURL != "" {
		return m.Config.DatabaseURL, nil
	}
	c, err := m.cluster()
	if err != nil {
		return "", err
	}
	started, err := c.Start(ctx)
	if err != nil {
		return "", err
	}
	if started {
		m.onClose(func() error { return c.Stop(context.Background()) })
	}
	return c.ConnString(pgcluster.Database), nil
}

// openDB connects to the database as the schema's owner, migrating it when
// migrate is set.
func (m *Main) openDB(ctx context.Context, migrate bool) (*pgxpool.Pool, error) {
	conn, err := m.connString(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := m.openPool(ctx, conn)
	if err != nil {
		return nil, err
	}
	if migrate {
		applied, err := schema.Migrate(ctx, pool)
		if err != nil {
			return nil, err
		}
		if len(applied) > 0 {
			m.Log.Info("migrated", "applied", applied)
		}
	}
	return pool, nil
}

// openPool connects a pool (closed at Close).
func (m *Main) openPool(ctx context.Context, conn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// A request whose client went away cancels its query and the pool keeps
	// the connection (as the tile pool does, see tiles.Open).
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	m.onClose(func() error { pool.Close(); return nil })
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return pool, nil
}

func init() {
	commands["migrate"] = func(ctx context.Context, m *Main, args []string) error {
		fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprintln(fs.Output(), "usage: onegrid migrate [global flags]\n\nApply the pending schema migrations (serve, gen, ingest and hotspots do so too).")
		}
		if err := m.parseFlags(fs, args); err != nil {
			return err
		}
		if err := unexpectedArgs(fs); err != nil {
			return err
		}
		_, err := m.openDB(ctx, true)
		return err
	}
}

const dbUsage = `usage: onegrid db start|stop|status|psql [psql args]|app-role NAME [--password-stdin]

Manage the embedded database by hand: start (it keeps running until db stop;
prints its connection strings), stop, status (exit 3 when not running), psql
(a psql session on the database; what follows psql goes to psql). app-role
makes a login role for serve on an external server (a member of the
application role, neither superuser nor BYPASSRLS) and prints its password
once, or reads it with --password-stdin.
`

// runDB manages the embedded database by hand: a cluster started here keeps
// running after the command returns, until `onegrid db stop`.
func runDB(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("db", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), dbUsage) }
	if err := m.parseFlagsToArg(fs, args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) == 0 {
		return usageError{msg: "db needs start, stop, status, psql or app-role (onegrid db -h)"}
	}
	if args[0] == "app-role" {
		return m.appRole(ctx, args[1:])
	}
	if args[0] != "psql" {
		// Flags may follow the subcommand too; psql's arguments are psql's.
		sub := flag.NewFlagSet("db "+args[0], flag.ContinueOnError)
		sub.Usage = func() { fmt.Fprint(sub.Output(), dbUsage) }
		if err := m.parseFlags(sub, args[1:]); err != nil {
			return err
		}
		if err := unexpectedArgs(sub); err != nil {
			return err
		}
	}
	if m.Config.DatabaseURL != "" && args[0] != "psql" {
		return errors.New("DATABASE_URL is set: onegrid uses that server and manages no embedded database")
	}
	c, err := m.cluster()
	if err != nil {
		return err
	}
	switch args[0] {
	case "start":
		started, err := c.Start(ctx)
		if err != nil {
			return err
		}
		if !started {
			fmt.Fprintln(m.Stdout, "already running")
		}
		fmt.Fprintf(m.Stdout, "socket: %s\n", c.ConnString(pgcluster.Database))
		if u := c.TCPURL(); u != "" {
			fmt.Fprintf(m.Stdout, "tcp:    %s\n", u)
		}
		return nil
	case "stop":
		return c.Stop(ctx)
	case "status":
		st, err := c.Status()
		if err != nil {
			return err
		}
		switch {
		case !st.Initialised:
			fmt.Fprintf(m.Stdout, "not initialised (%s)\n", c.DataDir())
			return exitError(3)
		case !st.Running:
			fmt.Fprintf(m.Stdout, "stopped (%s)\n", c.DataDir())
			return exitError(3)
		}
		fmt.Fprintf(m.Stdout, "running, pid %d (%s)\nsocket: %s\n", st.PID, c.DataDir(), c.ConnString(pgcluster.Database))
		return nil
	case "psql":
		var cmdArgs []string
		if m.Config.DatabaseURL != "" {
			cmdArgs = []string{m.Config.DatabaseURL}
		} else {
			if _, err := m.connString(ctx); err != nil {
				return err
			}
		}
		cmd := c.Psql(ctx, args[1:]...)
		if cmdArgs != nil {
			cmd.Args = append([]string{cmd.Args[0]}, append(cmdArgs, args[1:]...)...)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, m.Stdout, m.Stderr
		return cmd.Run()
	}
	return usageError{msg: fmt.Sprintf("unknown db command %q: use start, stop, status or psql", args[0])}
}

type exitError int

func (e exitError) Error() string { return "" }
func (e exitError) ExitCode() int { return int(e) }

// appRole makes a login role for serve on an external server: a member of the
// application role, neither superuser nor BYPASSRLS, with a generated password
// printed once (or --password-stdin). It runs as the schema's owner, which must
// be allowed to create roles.
func (m *Main) appRole(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("db app-role", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), dbUsage) }
	stdinPw := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	// NAME may come before or after the flags.
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{msg: fmt.Sprintf("db app-role: unexpected argument %q", fs.Arg(1))}
	}
	name := fs.Arg(0)
	if name == "" || !regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`).MatchString(name) {
		return usageError{msg: "usage: onegrid db app-role NAME [--password-stdin] (NAME: a-z, 0-9, _)"}
	}
	pw := auth.NewPassword()
	if *stdinPw {
		line, err := bufio.NewReader(m.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("--password-stdin: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	if err := schema.EnsureLoginRole(ctx, db, name, pw); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "role %s: LOGIN, member of %s, no superuser, no BYPASSRLS\n", name, schema.AppRole)
	if !*stdinPw {
		fmt.Fprintf(m.Stdout, "password: %s\n(shown once; put it in --app-database-url / ONEGRID_APP_DATABASE_URL)\n", pw)
	}
	return nil
}
