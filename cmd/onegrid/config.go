package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/limit"
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
	DataKeyFile  string        // ONEGRID_DATA_KEY_FILE: the data key sealing clear personal values (datakey.go)
	BaseURL      string        // ONEGRID_BASE_URL: the public base URL of absolute links ("" = from --addr)
	MaxConns     int           // ONEGRID_MAX_CONNS: HTTP connections open at once (0 = no cap)
	BodyTimeout  time.Duration // ONEGRID_BODY_TIMEOUT: longest a request's body may take to arrive
	RateLimit    float64       // ONEGRID_RATE_LIMIT: expensive requests a second per identity (0 = none)
	RateBurst    int           // ONEGRID_RATE_BURST: the bucket of RateLimit
	Concurrency  int           // ONEGRID_CONCURRENCY_LIMIT: expensive requests in progress per identity (0 = no cap)
	// ONEGRID_TRUSTED_PROXIES: reverse proxies whose X-Forwarded-For names the client
	TrustedProxies string

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
	// proxies are TrustedProxies parsed.
	proxies []netip.Prefix
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
	fs.StringVar(&c.DataKeyFile, "data-key-file", env("ONEGRID_DATA_KEY_FILE", ""), "file holding the data key that seals clear personal values, created (0600) at first use; default: data.key in --data-dir with the embedded database, none with --database-url (ONEGRID_DATA_KEY_FILE)")
	fs.StringVar(&c.Addr, "addr", env("ONEGRID_ADDR", "localhost:8080"), "HTTP listen address (ONEGRID_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", env("ONEGRID_LOG_LEVEL", "info"), "log level: debug, info, warn, error (ONEGRID_LOG_LEVEL)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", envDuration("ONEGRID_QUERY_TIMEOUT", 10*time.Second), "longest a request's database work may take (ONEGRID_QUERY_TIMEOUT)")
	fs.StringVar(&c.BaseURL, "base-url", env("ONEGRID_BASE_URL", ""), "public base URL of the server (https://grid.example.org): absolute links in TileJSON, the style and OGC answers use it, never the request's Host; https also turns on HSTS and Secure cookies; empty: http:// and --addr (ONEGRID_BASE_URL)")
	fs.IntVar(&c.MaxConns, "max-conns", envInt("ONEGRID_MAX_CONNS", 1000), "HTTP connections open at once; more wait to be accepted; 0 for no cap (ONEGRID_MAX_CONNS)")
	fs.DurationVar(&c.BodyTimeout, "body-timeout", envDuration("ONEGRID_BODY_TIMEOUT", 30*time.Second), "longest a request's body may take to arrive; then 408 and the connection closes (ONEGRID_BODY_TIMEOUT)")
	fs.Float64Var(&c.RateLimit, "rate-limit", envFloat("ONEGRID_RATE_LIMIT", limit.DefaultRate), "expensive requests (aggregates, features, search, hotspots…) a second per user, or per client address for the anonymous public; 0 for no limit (ONEGRID_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", envInt("ONEGRID_RATE_BURST", limit.DefaultBurst), "expensive requests an identity may make at once after a pause (ONEGRID_RATE_BURST)")
	fs.IntVar(&c.Concurrency, "concurrency-limit", envInt("ONEGRID_CONCURRENCY_LIMIT", limit.DefaultConcurrent), "expensive requests of one identity in progress at once; more wait their turn (up to 4 times as many, at most --query-timeout); 0 for no cap (ONEGRID_CONCURRENCY_LIMIT)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("ONEGRID_TRUSTED_PROXIES", ""), "comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (for limits and login throttling); empty: the client is the connection's peer (ONEGRID_TRUSTED_PROXIES)")
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

// parse parses args with fs (from flagSet) and validates the result.
func (c *Config) parse(fs *flag.FlagSet, args []string) (err error) {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return c.validate()
}

// validate checks the values and makes the clock; each error names its flag.
func (c *Config) validate() error {
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
	if c.BaseURL != "" {
		if c.BaseURL, err = parseBaseURL(c.BaseURL); err != nil {
			return fmt.Errorf("--base-url %w", err)
		}
	}
	switch {
	case c.MaxConns < 0:
		return fmt.Errorf("--max-conns %d: must be 0 (no cap) or more", c.MaxConns)
	case c.BodyTimeout <= 0:
		return fmt.Errorf("--body-timeout %v: must be positive", c.BodyTimeout)
	case c.RateLimit < 0 || math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0):
		return fmt.Errorf("--rate-limit %v: must be 0 (no limit) or a positive number", c.RateLimit)
	case c.RateLimit > 0 && c.RateBurst < 1:
		return fmt.Errorf("--rate-burst %d: must be at least 1", c.RateBurst)
	case c.Concurrency < 0:
		return fmt.Errorf("--concurrency-limit %d: must be 0 (no cap) or more", c.Concurrency)
	}
	if c.proxies, err = parsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies %w", err)
	}
	return nil
}

// parseBaseURL checks a public base URL: http or https, a host, nothing after
// it (the server answers at the root); it returns it without a trailing slash.
func parseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q: want http://host[:port] or https://host[:port]", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%q: only the scheme and host[:port]; onegrid answers at the root of its host", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// parsePrefixes reads comma-separated addresses (one host each) and CIDR prefixes.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q: not an address or CIDR prefix", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
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
