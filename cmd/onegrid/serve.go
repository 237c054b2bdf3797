package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/onegrid/onegrid/api"
	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/event/pulse"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/limit"
	"github.com/onegrid/onegrid/schema"
	"github.com/onegrid/onegrid/tiles"
	"github.com/onegrid/onegrid/web"
)

func init() { commands["serve"] = runServe }

// serveFlags are serve's own flags (after the command), each with an
// environment variable; a flag wins.
type serveFlags struct {
	DemoPulse     bool    // ONEGRID_DEMO_PULSE: run the demo pulse (event/pulse)
	DemoPulseRate float64 // ONEGRID_DEMO_PULSE_RATE: its new events a minute
}

func (f *serveFlags) parse(m *Main, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: onegrid serve [global flags] [--demo-pulse [--demo-pulse-rate N]]\n\nServe the command-centre screen, its tiles and APIs at --addr; migrate first.")
		fs.PrintDefaults()
	}
	on, _ := strconv.ParseBool(env("ONEGRID_DEMO_PULSE", "false"))
	fs.BoolVar(&f.DemoPulse, "demo-pulse", on, "keep a demo city alive: a trickle of new events like its own and its open events moved on through the loop (ONEGRID_DEMO_PULSE)")
	fs.Float64Var(&f.DemoPulseRate, "demo-pulse-rate", envFloat("ONEGRID_DEMO_PULSE_RATE", pulse.DefaultRate), "the demo pulse's new events a minute, on average (ONEGRID_DEMO_PULSE_RATE)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if err := unexpectedArgs(fs); err != nil {
		return err
	}
	if f.DemoPulseRate <= 0 || f.DemoPulseRate > 6000 || math.IsNaN(f.DemoPulseRate) {
		return usageError{msg: fmt.Sprintf("--demo-pulse-rate %g: must be above 0 and at most 6000 a minute", f.DemoPulseRate)}
	}
	return nil
}

// runServe serves HTTP until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func runServe(ctx context.Context, m *Main, args []string) error {
	var f serveFlags
	if err := f.parse(m, args); err != nil {
		return err
	}
	// Listen first so a busy port fails before the database is started.
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: choose another address with --addr (ONEGRID_ADDR)", m.Config.Addr, err)
	}
	return m.serve(ctx, ln, f)
}

func (m *Main) serve(ctx context.Context, ln net.Listener, f serveFlags) error {
	defer ln.Close()
	// As the schema's owner: migrate, make the first administrator, find what
	// serve connects as. Then the owner's connection closes: serve itself runs as
	// the application role, under row-level security.
	owner, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	if pw, made, err := auth.NewUsers(owner).EnsureAdmin(ctx); err != nil {
		return err
	} else if made {
		fmt.Fprintf(m.Stdout, "\nfirst administrator: admin\none-time password:   %s\n(shown once: log in and choose your own; more users: onegrid users add)\n\n", pw)
	}
	appConn, err := m.appConnString(ctx, owner)
	if err != nil {
		return err
	}
	public, err := m.publicPrincipal(ctx, owner)
	if err != nil {
		return err
	}
	owner.Close()
	db, err := m.openPool(ctx, appConn)
	if err != nil {
		return err
	}
	if err := checkAppRole(ctx, db); err != nil {
		return err
	}
	if missing, err := schema.CheckLeakproof(ctx, db); err != nil {
		return err
	} else if len(missing) > 0 {
		m.Log.Warn("functions lack LEAKPROOF, so row-level security keeps their conditions off the indexes: as a superuser, run schema/0703 and 0704 again (see README)", "functions", missing)
	}
	if f.DemoPulse {
		// It works as the system (scope.System) in transactions of its own, logs
		// and retries what fails; serve waits for it to stop.
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = pulse.New(db, pulse.Config{Rate: f.DemoPulseRate, Now: m.Config.clock, Log: m.Log}).Run(pctx)
		}()
		defer func() { stop(); <-done }()
	}
	hot := hotspot.New(db, hotspot.Config{Log: m.Log, Now: m.Config.clock, MinCount: m.Config.MinCount})
	if m.Config.HotspotInterval > 0 {
		go hot.Schedule(ctx, m.Config.HotspotInterval)
	}
	ts, err := m.openTiles(ctx, appConn)
	if err != nil {
		return err
	}
	key, err := m.dataKey()
	if err != nil {
		return err
	}
	base := m.Config.BaseURL
	if base == "" {
		var guessed bool
		if base, guessed = defaultBaseURL(m.Config.Addr, ln.Addr()); guessed {
			m.Log.Warn("listening on every interface: absolute links (TileJSON, OGC) name "+base+"; set --base-url to the URL clients use", "base_url", base)
		}
	}
	handler := api.New(api.Config{QueryTimeout: m.Config.QueryTimeout, Query: m.Config.queryConfig(), Tiles: ts, Web: web.Dist(),
		Hotspots: hot, Now: m.Config.clock, Auth: auth.NewAuthenticator(db, auth.Config{Now: m.Config.clock}), Public: public,
		DataKey: key, BaseURL: base, BodyTimeout: m.Config.BodyTimeout, TrustedProxies: m.Config.proxies,
		Limits: limit.Config{Rate: m.Config.RateLimit, Burst: m.Config.RateBurst, Concurrent: m.Config.Concurrency}}, db, m.Log)
	if !web.Built() {
		m.Log.Warn("the command-centre page is not built: / says so; run make web and rebuild")
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	// Shutdown waits for handlers; event streams end only when told to.
	srv.RegisterOnShutdown(handler.Close)
	defer handler.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limit.Listener(ln, m.Config.MaxConns)) }()
	m.Log.Info("serving", "url", "http://"+ln.Addr().String(), "base_url", base)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// defaultBaseURL is the public base URL when --base-url is not set: http://,
// the host of --addr and the port the server listens on. When --addr names
// every interface the host is a guess, localhost, and guessed is true.
func defaultBaseURL(addr string, ln net.Addr) (base string, guessed bool) {
	host, _, _ := net.SplitHostPort(addr)
	_, port, err := net.SplitHostPort(ln.String())
	if err != nil {
		return "http://" + ln.String(), false
	}
	if host == "" || net.ParseIP(host).IsUnspecified() {
		host, guessed = "localhost", true
	}
	return "http://" + net.JoinHostPort(host, port), guessed
}

// openTiles starts the tile service on its own pool (closed at Close).
func (m *Main) openTiles(ctx context.Context, conn string) (*tiles.Service, error) {
	conns := m.Config.TileDBConns
	if conns == 0 {
		conns = max(4, runtime.NumCPU())
	}
	ts, err := tiles.Open(ctx, conn, tiles.Config{
		CacheBytes:    int64(m.Config.TileCacheMB) << 20,
		Timeout:       m.Config.TileTimeout,
		MinCount:      m.Config.MinCount,
		VersionMaxAge: m.Config.TileVersionMaxAge,
		MaxConns:      int32(conns),
		Now:           m.Config.clock,
	}, m.Log)
	if err != nil {
		return nil, err
	}
	m.onClose(func() error { ts.Close(); return nil })
	return ts, nil
}
