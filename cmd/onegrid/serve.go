package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/onegrid/onegrid/api"
	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/tiles"
	"github.com/onegrid/onegrid/web"
)

func init() { commands["serve"] = runServe }

// runServe serves HTTP until ctx ends (SIGINT/SIGTERM), then shuts down gracefully.
func runServe(ctx context.Context, m *Main, args []string) error {
	if len(args) > 0 {
		return usageError{msg: "serve takes no arguments (flags go before the command)"}
	}
	// Listen first so a busy port fails before the database is started.
	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w: choose another address with --addr (ONEGRID_ADDR)", m.Config.Addr, err)
	}
	return m.serve(ctx, ln)
}

func (m *Main) serve(ctx context.Context, ln net.Listener) error {
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
	hot := hotspot.New(db, hotspot.Config{Log: m.Log, Now: m.Config.clock, MinCount: m.Config.MinCount})
	if m.Config.HotspotInterval > 0 {
		go hot.Schedule(ctx, m.Config.HotspotInterval)
	}
	ts, err := m.openTiles(ctx, appConn)
	if err != nil {
		return err
	}
	handler := api.New(api.Config{QueryTimeout: m.Config.QueryTimeout, Query: m.Config.queryConfig(), Tiles: ts, Web: web.Dist(),
		Hotspots: hot, Now: m.Config.clock, Auth: auth.NewAuthenticator(db, auth.Config{Now: m.Config.clock}), Public: public}, db, m.Log)
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
	go func() { errc <- srv.Serve(ln) }()
	m.Log.Info("serving", "url", "http://"+ln.Addr().String())
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
