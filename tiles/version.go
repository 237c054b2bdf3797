package tiles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Channel is the NOTIFY channel on which the database announces layer changes; the
// payload is the comma-separated names of the changed layers.
const Channel = "onegrid_tiles"

// versionSet is the layer versions read at one moment.
type versionSet struct {
	v    map[string]int64
	read time.Time // when the read began
}

// round is one read of tile_layer_version shared by every request that arrived
// before it began.
type round struct {
	done chan struct{}
	set  *versionSet
	err  error
}

// versions hands out layer versions no older than the request asking for them.
//
// A request must not be answered from a version read before it arrived: a write
// committed just before the request would be missed. So each request waits for a
// read of tile_layer_version that began after it arrived; concurrent requests
// share reads (at most one in flight and one queued), so under load the cost is
// one round trip per batch, not per tile. With maxAge > 0 a read younger than
// maxAge is trusted, and a NOTIFY from any server's write expires it at once.
type versions struct {
	read   func(ctx context.Context) (map[string]int64, error)
	maxAge time.Duration

	mu      sync.Mutex
	last    *versionSet
	running *round
	queued  *round
}

const versionQuery = "SELECT layer, version FROM tile_layer_version"

// get returns versions read no earlier than maxAge before now (0: read after now).
func (vs *versions) get(ctx context.Context) (*versionSet, error) {
	now := time.Now()
	vs.mu.Lock()
	if vs.maxAge > 0 && vs.last != nil && now.Sub(vs.last.read) < vs.maxAge {
		last := vs.last
		vs.mu.Unlock()
		return last, nil
	}
	var r *round
	switch {
	case vs.running == nil:
		r = &round{done: make(chan struct{})}
		vs.running = r
		go vs.run(r)
	case vs.queued == nil:
		r = &round{done: make(chan struct{})}
		vs.queued = r
	default:
		r = vs.queued
	}
	vs.mu.Unlock()
	select {
	case <-r.done:
		return r.set, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (vs *versions) run(r *round) {
	for r != nil {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		v, err := vs.read(ctx)
		cancel()
		if err != nil {
			r.err = fmt.Errorf("read tile versions: %w", err)
		} else {
			r.set = &versionSet{v: v, read: start}
		}
		vs.mu.Lock()
		if r.set != nil && (vs.last == nil || !vs.last.read.After(start)) {
			vs.last = r.set
		}
		close(r.done)
		r = vs.queued
		vs.running, vs.queued = r, nil
		vs.mu.Unlock()
	}
}

// expire forgets the last read, so the next request reads again.
func (vs *versions) expire() {
	vs.mu.Lock()
	vs.last = nil
	vs.mu.Unlock()
}

// The listener connection is also the fence that makes the per-request version
// check cheap. PostgreSQL signals every listening backend while a NOTIFYing
// transaction commits, before the committer hears that its COMMIT succeeded, and a
// listening backend sends pending notifications before answering the next query on
// its connection. So once an empty query on the listener connection has been
// answered, every notification of a commit that finished before the query was sent
// has been received: if none arrived since the versions were last read, they are
// still current and the round costs one empty round trip on a dedicated connection
// (no pool, no parse, no plan, no rows); otherwise the versions are read again over
// the same connection. Between rounds the listener waits for notifications, so other
// servers' writes still expire trusted reads (VersionMaxAge) at once.

// fenceReq is one round's request for the versions, served by the listener.
type fenceReq struct {
	done chan struct{}
	v    map[string]int64
	err  error
}

// errNoFence means the listener is not connected: read the versions from the pool.
var errNoFence = errors.New("tile change listener not connected")

// fence hands rounds of the version check to the listener goroutine.
type fence struct {
	mu        sync.Mutex
	up        bool               // the listener connection is ready
	pending   []*fenceReq        // rounds waiting for the listener
	interrupt context.CancelFunc // ends the listener's idle wait; nil while busy

	notes   atomic.Int64     // notifications received on the connection
	applied int64            // notes when cur was read (listener goroutine only)
	cur     map[string]int64 // versions as of applied (listener goroutine only)
}

// readVersionsFenced reads the versions through the listener's fence, or from the
// pool when the listener is down.
func (s *Service) readVersionsFenced(ctx context.Context) (map[string]int64, error) {
	f := &s.fence
	f.mu.Lock()
	if !f.up {
		f.mu.Unlock()
		return s.readVersions(ctx)
	}
	r := &fenceReq{done: make(chan struct{})}
	f.pending = append(f.pending, r)
	if f.interrupt != nil {
		f.interrupt()
		f.interrupt = nil
	}
	f.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if errors.Is(r.err, errNoFence) {
		return s.readVersions(ctx)
	}
	return r.v, r.err
}

// listen LISTENs on Channel over its own connection until ctx ends, expiring the
// versions on every notification and after every reconnect (notifications may
// have been missed while disconnected).
func (s *Service) listen(ctx context.Context, connString string) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, connString)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("tile change listener disconnected; reconnecting", "error", err, "after", backoff)
		s.vers.expire()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (s *Service) listenOnce(ctx context.Context, connString string) error {
	f := &s.fence
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// An interrupted idle wait must leave the connection usable: give up the read
	// by deadline instead of sending the server a cancel request.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		f.notes.Add(1)
		s.vers.expire()
		s.notified.Add(1)
		s.log.LogAttrs(ctx, slog.LevelDebug, "tile layers changed", slog.String("layers", n.Payload))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	defer func() {
		// Hand waiting rounds back to the pool.
		f.mu.Lock()
		f.up = false
		reqs := f.pending
		f.pending, f.interrupt = nil, nil
		f.mu.Unlock()
		for _, r := range reqs {
			r.err = errNoFence
			close(r.done)
		}
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	f.cur = nil // read afresh on the first round
	s.vers.expire()
	f.mu.Lock()
	f.up = true
	f.mu.Unlock()
	s.listening.Store(true)
	defer s.listening.Store(false)
	for {
		f.mu.Lock()
		reqs := f.pending
		f.pending = nil
		var wctx context.Context
		var cancel context.CancelFunc
		if len(reqs) == 0 {
			wctx, cancel = context.WithCancel(ctx)
			f.interrupt = cancel
		}
		f.mu.Unlock()
		if len(reqs) == 0 {
			err := conn.PgConn().WaitForNotification(wctx)
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && (wctx.Err() == nil || conn.IsClosed()) {
				return fmt.Errorf("wait for notification: %w", err)
			}
			continue // a notification (counted by OnNotification) or a round to serve
		}
		v, err := s.fenceRound(ctx, conn)
		for _, r := range reqs {
			r.v, r.err = v, err
			close(r.done)
		}
		if err != nil {
			return err
		}
	}
}

// fenceRound returns versions no older than the moment it began: an empty query
// collects the notifications of every earlier commit; the versions are read again
// only if one has arrived since the last read.
func (s *Service) fenceRound(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	f := &s.fence
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := conn.PgConn().Exec(ctx, "").ReadAll(); err != nil {
		return nil, fmt.Errorf("fence: %w", err)
	}
	if n := f.notes.Load(); f.cur == nil || n != f.applied {
		rows, _ := conn.Query(ctx, versionQuery)
		v := map[string]int64{}
		var layer string
		var ver int64
		if _, err := pgx.ForEachRow(rows, []any{&layer, &ver}, func() error {
			v[layer] = ver
			return nil
		}); err != nil {
			return nil, err
		}
		f.cur, f.applied = v, n
	}
	return f.cur, nil
}
