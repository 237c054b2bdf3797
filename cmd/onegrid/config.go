package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Config is everything the flags and the environment set. Each field has a flag and
// an environment variable; a flag wins over the environment, which wins over the default.
type Config struct {
	DatabaseURL  string        // DATABASE_URL: use this server instead of the embedded one
	DataDir      string        // ONEGRID_DATA_DIR: the embedded database's directory
	DBPort       int           // ONEGRID_DB_PORT: the embedded database's port
	DBListen     string        // ONEGRID_DB_LISTEN: the embedded database's TCP address ("" = socket only)
	Addr         string        // ONEGRID_ADDR: HTTP listen address
	LogLevel     string        // ONEGRID_LOG_LEVEL: debug, info, warn, error
	QueryTimeout time.Duration // ONEGRID_QUERY_TIMEOUT: bound on one request's database work
	// ONEGRID_HOTSPOT_INTERVAL: how often serve recomputes the standard hotspot set (0 = never)
	HotspotInterval time.Duration
}

// DefaultDataDir is where the embedded database lives unless told otherwise. Root's
// home is closed to the postgres user the cluster then runs as, so root uses /var/lib.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/onegrid"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "onegrid")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "onegrid")
	}
	return filepath.Join(os.TempDir(), "onegrid")
}

func (c *Config) flagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL + PostGIS server to use instead of the embedded one (DATABASE_URL)")
	fs.StringVar(&c.DataDir, "data-dir", env("ONEGRID_DATA_DIR", DefaultDataDir()), "directory of the embedded database (ONEGRID_DATA_DIR)")
	fs.IntVar(&c.DBPort, "db-port", envInt("ONEGRID_DB_PORT", 54329), "port of the embedded database (ONEGRID_DB_PORT)")
	fs.StringVar(&c.DBListen, "db-listen", env("ONEGRID_DB_LISTEN", "127.0.0.1"), "loopback address the embedded database listens on; empty for its unix socket only (ONEGRID_DB_LISTEN)")
	fs.StringVar(&c.Addr, "addr", env("ONEGRID_ADDR", "localhost:8080"), "HTTP listen address (ONEGRID_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", env("ONEGRID_LOG_LEVEL", "info"), "log level: debug, info, warn, error (ONEGRID_LOG_LEVEL)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", envDuration("ONEGRID_QUERY_TIMEOUT", 10*time.Second), "longest a request's database work may take (ONEGRID_QUERY_TIMEOUT)")
	fs.DurationVar(&c.HotspotInterval, "hotspot-interval", envDuration("ONEGRID_HOTSPOT_INTERVAL", 5*time.Minute), "how often serve recomputes the standard hotspot analyses; 0 disables (ONEGRID_HOTSPOT_INTERVAL)")
	return fs
}

func (c *Config) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.DBPort <= 0 || c.DBPort > 65535 {
		return fmt.Errorf("--db-port %d: must be 1..65535", c.DBPort)
	}
	if c.HotspotInterval < 0 || (c.HotspotInterval > 0 && c.HotspotInterval < 10*time.Second) {
		return fmt.Errorf("--hotspot-interval %v: must be 0 (off) or at least 10s", c.HotspotInterval)
	}
	return nil
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}
