package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/sdc"
)

// Config is everything the flags and the environment set. Each field has a flag and
// an environment variable; a flag wins over the environment, which wins over the default.
type Config struct {
	DatabaseURL  string        // DATABASE_URL: use this server instead of the embedded one (as the schema's owner)
	AppURL       string        // ONEGRID_APP_DATABASE_URL: what serve connects as (the application role)
	PublicUnits  string        // ONEGRID_PUBLIC_UNITS: units anonymous visitors see aggregates of ("" = no anonymous access)
	DataDir      string        // ONEGRID_DATA_DIR: the embedded database's directory
	DBPort       int           // ONEGRID_DB_PORT: the embedded database's port
	DBListen     string        // ONEGRID_DB_LISTEN: the embedded database's TCP address ("" = socket only)
	Addr         string        // ONEGRID_ADDR: HTTP listen address
	LogLevel     string        // ONEGRID_LOG_LEVEL: debug, info, warn, error
	QueryTimeout time.Duration // ONEGRID_QUERY_TIMEOUT: bound on one request's database work

	TileCacheMB        int           // ONEGRID_TILE_CACHE_MB: tile cache size (gzipped tiles), 0 = off
	TileTimeout        time.Duration // ONEGRID_TILE_TIMEOUT: longest one tile may take to render (then 503)
	TileVersionMaxAge  time.Duration // ONEGRID_TILE_VERSION_MAX_AGE: how long a layer-version read is trusted
	TileDBConns        int           // ONEGRID_TILE_DB_CONNS: size of the tile connection pool
	MinCount           int           // ONEGRID_MIN_COUNT: disclosure-control threshold and rounding base (package sdc)
	PolygonMaxVertices int           // ONEGRID_POLYGON_MAX_VERTICES: cap on an uploaded polygon's vertices
	PolygonMaxAreaKm2  float64       // ONEGRID_POLYGON_MAX_AREA_KM2: cap on an uploaded polygon's area
	MicroGridBand      string        // ONEGRID_MICRO_GRID_BAND: households and people a micro-grid should have, "50-110/150-330"
	GridBand           string        // ONEGRID_GRID_BAND: the same for grids ("" = no check)
	// ONEGRID_HOTSPOT_INTERVAL: how often serve recomputes the standard hotspot set (0 = never)
	HotspotInterval time.Duration
	// ONEGRID_NOW: where the clock starts ("" = the system clock); it then advances.
	Now string

	// clock is the one clock of this run, from Now: every package gets it.
	clock clock.Clock
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
	fs.StringVar(&c.AppURL, "app-database-url", env("ONEGRID_APP_DATABASE_URL", ""), "what serve connects as: a login role that is a member of onegrid_app, neither superuser nor BYPASSRLS; the embedded database has one (ONEGRID_APP_DATABASE_URL)")
	fs.StringVar(&c.PublicUnits, "public-units", env("ONEGRID_PUBLIC_UNITS", ""), "admin or grid codes (or *) whose disclosure-controlled aggregates anonymous visitors may see; empty: no anonymous access (ONEGRID_PUBLIC_UNITS)")
	fs.StringVar(&c.DataDir, "data-dir", env("ONEGRID_DATA_DIR", DefaultDataDir()), "directory of the embedded database (ONEGRID_DATA_DIR)")
	fs.IntVar(&c.DBPort, "db-port", envInt("ONEGRID_DB_PORT", 54329), "port of the embedded database (ONEGRID_DB_PORT)")
	fs.StringVar(&c.DBListen, "db-listen", env("ONEGRID_DB_LISTEN", "127.0.0.1"), "loopback address the embedded database listens on; empty for its unix socket only (ONEGRID_DB_LISTEN)")
	fs.StringVar(&c.Addr, "addr", env("ONEGRID_ADDR", "localhost:8080"), "HTTP listen address (ONEGRID_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", env("ONEGRID_LOG_LEVEL", "info"), "log level: debug, info, warn, error (ONEGRID_LOG_LEVEL)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", envDuration("ONEGRID_QUERY_TIMEOUT", 10*time.Second), "longest a request's database work may take (ONEGRID_QUERY_TIMEOUT)")
	fs.IntVar(&c.TileCacheMB, "tile-cache-mb", envInt("ONEGRID_TILE_CACHE_MB", 256), "in-memory tile cache size in MB of gzipped tiles; 0 turns it off (ONEGRID_TILE_CACHE_MB)")
	fs.DurationVar(&c.TileTimeout, "tile-timeout", envDuration("ONEGRID_TILE_TIMEOUT", 5*time.Second), "longest one tile may take to render before the client gets 503 (ONEGRID_TILE_TIMEOUT)")
	fs.DurationVar(&c.TileVersionMaxAge, "tile-version-max-age", envDuration("ONEGRID_TILE_VERSION_MAX_AGE", 0), "how long a read of the tile layer versions is trusted; 0 checks per request so no tile predates a committed write (ONEGRID_TILE_VERSION_MAX_AGE)")
	fs.IntVar(&c.TileDBConns, "tile-db-conns", envInt("ONEGRID_TILE_DB_CONNS", 0), "connections in the tile pool; 0 = max(4, CPUs) (ONEGRID_TILE_DB_CONNS)")
	fs.IntVar(&c.MinCount, "min-count", envInt("ONEGRID_MIN_COUNT", 5), "disclosure control: counts below this are suppressed and every other released count (aggregates, grid load, buildings, tiles, hotspots) is rounded to a multiple of it (ONEGRID_MIN_COUNT)")
	fs.IntVar(&c.PolygonMaxVertices, "polygon-max-vertices", envInt("ONEGRID_POLYGON_MAX_VERTICES", 10000), "most vertices an uploaded polygon may have (ONEGRID_POLYGON_MAX_VERTICES)")
	fs.Float64Var(&c.PolygonMaxAreaKm2, "polygon-max-area-km2", envFloat("ONEGRID_POLYGON_MAX_AREA_KM2", 2500), "largest area in km² an uploaded polygon may cover (ONEGRID_POLYGON_MAX_AREA_KM2)")
	fs.StringVar(&c.MicroGridBand, "micro-grid-band", env("ONEGRID_MICRO_GRID_BAND", "50-110/150-330"), "households/people band of a micro-grid, min-max/min-max (ONEGRID_MICRO_GRID_BAND)")
	fs.StringVar(&c.GridBand, "grid-band", env("ONEGRID_GRID_BAND", ""), "households/people band of a grid, min-max/min-max; empty for none (ONEGRID_GRID_BAND)")
	fs.StringVar(&c.Now, "now", env("ONEGRID_NOW", ""), "start the clock at this time (RFC 3339, or a date in China time) and let it run; empty for the system clock: every \"last N days\", age and overdue flag counts from it (ONEGRID_NOW)")
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
	if c.TileCacheMB < 0 {
		return fmt.Errorf("--tile-cache-mb %d: must be 0 or more", c.TileCacheMB)
	}
	if c.TileTimeout <= 0 {
		return fmt.Errorf("--tile-timeout %s: must be positive", c.TileTimeout)
	}
	if c.TileDBConns < 0 {
		return fmt.Errorf("--tile-db-conns %d: must be 0 or more", c.TileDBConns)
	}
	if c.MinCount < 1 || c.MinCount > sdc.MaxK {
		return fmt.Errorf("--min-count %d: must be 1..%d", c.MinCount, sdc.MaxK)
	}
	if c.PolygonMaxVertices < 4 || c.PolygonMaxAreaKm2 <= 0 {
		return fmt.Errorf("--polygon-max-vertices %d, --polygon-max-area-km2 %g: must allow a polygon", c.PolygonMaxVertices, c.PolygonMaxAreaKm2)
	}
	for flag, v := range map[string]string{"--micro-grid-band": c.MicroGridBand, "--grid-band": c.GridBand} {
		if v != "" {
			if _, err := parseBand(v); err != nil {
				return fmt.Errorf("%s %q: %w", flag, v, err)
			}
		}
	}
	clk, err := clock.Parse(c.Now)
	if err != nil {
		return fmt.Errorf("--now %w", err)
	}
	c.clock = clk
	if c.HotspotInterval < 0 || (c.HotspotInterval > 0 && c.HotspotInterval < 10*time.Second) {
		return fmt.Errorf("--hotspot-interval %v: must be 0 (off) or at least 10s", c.HotspotInterval)
	}
	return nil
}

// queryConfig is the query package's configuration.
func (c *Config) queryConfig() query.Config {
	bands := map[string]query.Band{}
	for level, v := range map[string]string{"micro_grid": c.MicroGridBand, "grid": c.GridBand} {
		if b, err := parseBand(v); err == nil && v != "" {
			bands[level] = b
		}
	}
	return query.Config{
		MinCount: c.MinCount,
		Polygon:  query.PolygonLimits{MaxVertices: c.PolygonMaxVertices, MaxAreaKm2: c.PolygonMaxAreaKm2},
		Band:     bands,
		Now:      c.clock,
	}
}

// parseBand parses "minHouseholds-maxHouseholds/minPeople-maxPeople".
func parseBand(s string) (query.Band, error) {
	var b query.Band
	if _, err := fmt.Sscanf(s, "%d-%d/%d-%d", &b.MinHouseholds, &b.MaxHouseholds, &b.MinPeople, &b.MaxPeople); err != nil {
		return b, fmt.Errorf("want households and people ranges as 50-110/150-330")
	}
	if b.MinHouseholds < 0 || b.MinHouseholds > b.MaxHouseholds || b.MinPeople < 0 || b.MinPeople > b.MaxPeople {
		return b, fmt.Errorf("each range must be min-max with 0 <= min <= max")
	}
	return b, nil
}

func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
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
