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
	"github.com/jackc/pgx/v5/pgproto3"
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
	start chan struct{} // closed when a queued round may begin
	done  chan struct{}
	set   *versionSet
	err   error
}

// versions hands out layer versions no older than the request asking for them.
//
// A request must not be answered from a version read before it arrived: a write
// committed just before the request would be missed. So each request waits for a
// read of tile_layer_version that began after it arrived; concurrent requests
// share reads (at most one in flight and one queued), so under load the cost is
// one round trip per batch, not per tile. The request that opens a round runs it
// itself and the others wait for it: handing every round to another goroutine
// cost two goroutine switches per tile. With maxAge > 0 a read younger than
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
	switch {
	case vs.running == nil:
		r := &round{done: make(chan struct{})}
		vs.running = r
		vs.mu.Unlock()
		vs.run(ctx, r)
		return r.set, r.err
	case vs.queued == nil:
		// The next round, which this request runs as soon as the running one ends
		// (a round must begin after every request it answers arrived).
		r := &round{start: make(chan struct{}), done: make(chan struct{})}
		vs.queued = r
		vs.mu.Unlock()
		select {
		case <-r.start:
			vs.run(ctx, r)
			return r.set, r.err
		case <-ctx.Done():
			// Others may be waiting for the round: run it without this request.
			go func() {
				<-r.start
				vs.run(context.WithoutCancel(ctx), r)
			}()
			return nil, ctx.Err()
		}
	default:
		r := vs.queued
		vs.mu.Unlock()
		select {
		case <-r.done:
			return r.set, r.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// run reads the versions for round r and starts the queued round, if any. The
// read is shared, so one impatient request does not cancel it.
func (vs *versions) run(ctx context.Context, r *round) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
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
	next := vs.queued
	vs.running, vs.queued = next, nil
	if next != nil {
		close(next.start)
	}
	vs.mu.Unlock()
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
// listening backend sends pending notifications before it next reports
// ReadyForQuery. So once a Sync message on the listener connection has been
// answered, every notification of a commit that finished before the Sync was sent
// has been received: if none arrived since the versions were last read, they are
// still current and the round costs one round trip on a dedicated connection
// (no pool, no query, not even an empty transaction: a Sync outside an extended
// query costs the backend a third less than an empty query, and the server half);
// otherwise the versions are read again over the same connection.
//
// The request running a round uses the connection itself. While rounds keep
// coming the listener goroutine leaves the connection alone; only after a quiet
// spell (linger) does it take it back to wait for notifications, which keeps the
// socket drained and, with VersionMaxAge, expires trusted reads at once when
// another server writes. Interrupting that wait for every round, as an earlier
// version did, cost a quarter of the server's CPU on a small tile (a cancelled
// read, a context watcher and two goroutine hand-offs per round). Notifications
// that arrive while no one reads are kept by the kernel and read before the next
// round's answer, so strictness does not depend on the wait.

// fence lends the listener connection to the rounds of the version check.
type fence struct {
	// linger is how long the connection stays lent after a round before the
	// listener takes it back (0: at once).
	linger time.Duration

	tok  chan *pgx.Conn // holds the connection while it is lent and unused
	wake chan struct{}  // tells the listener a round ended (linger 0 only)

	mu        sync.Mutex
	up        bool               // the listener connection is ready
	down      chan struct{}      // closed when the listener connection goes away
	want      int                // rounds using or waiting for the connection
	interrupt context.CancelFunc // ends the listener's wait; nil unless waiting
	lastUse   time.Time          // when the last round gave the connection back
	failed    error              // why a round closed the connection

	notes   atomic.Int64     // notifications received on the connection
	applied int64            // notes when cur was read (holder of the connection only)
	cur     map[string]int64 // versions as of applied (holder of the connection only)
}

// errNoFence means the listener is not connected: read the versions from the pool.
var errNoFence = errors.New("tile change listener not connected")

// readVersionsFenced reads the versions through the listener's fence, or from the
// pool when the listener is down.
func (s *Service) readVersionsFenced(ctx context.Context) (map[string]int64, error) {
	f := &s.fence
	f.mu.Lock()
	if !f.up {
		f.mu.Unlock()
		return s.readVersions(ctx)
	}
	f.want++
	if f.interrupt != nil {
		f.interrupt()
		f.interrupt = nil
	}
	down := f.down
	f.mu.Unlock()
	var conn *pgx.Conn
	select {
	case conn = <-f.tok:
	case <-down:
	case <-ctx.Done():
	}
	var v map[string]int64
	err := errNoFence
	if conn != nil {
		v, err = s.fenceRound(ctx, conn)
		if err != nil {
			// The listener reconnects when it takes the connection back (and
			// reports err); this round and the next go to the pool.
			conn.Close(context.WithoutCancel(ctx))
		}
	}
	f.mu.Lock()
	f.want--
	if conn != nil {
		if err != nil {
			if f.up {
				f.failed = err
			}
			f.up = false
			err = errNoFence
		}
		f.lastUse = time.Now()
		f.tok <- conn
		if f.want == 0 && f.linger == 0 {
			select {
			case f.wake <- struct{}{}:
			default:
			}
		}
	}
	f.mu.Unlock()
	switch {
	case conn == nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, errNoFence):
		return s.readVersions(ctx)
	}
	return v, err
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
		s.log.LogAttrs(ctx, slog.LevelDebug, "tile change", slog.String("layers", n.Payload))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	held := true // the listener has the connection (false: lent to rounds)
	var down chan struct{}
	defer func() {
		// Send rounds to the pool, and wait for a round still using the
		// connection before closing it.
		f.mu.Lock()
		f.up = false
		if down != nil {
			close(down)
		}
		f.interrupt = nil
		f.mu.Unlock()
		if !held {
			<-f.tok
		}
		conn.Close(context.Background())
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	f.cur = nil // read afresh on the first round
	s.vers.expire()
	down = make(chan struct{})
	f.mu.Lock()
	f.up, f.down = true, down
	f.mu.Unlock()
	s.listening.Store(true)
	defer s.listening.Store(false)
	linger := time.NewTimer(0)
	defer linger.Stop()
	for {
		if !held {
			// Take the connection back once no round has used it for linger.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-linger.C:
			case <-f.wake:
			}
			f.mu.Lock()
			if idle := time.Since(f.lastUse); f.want > 0 || idle < f.linger {
				linger.Reset(max(f.linger-idle, time.Millisecond))
				f.mu.Unlock()
				continue
			}
			conn = <-f.tok // want == 0: the connection is in tok
			held = true
			failed := f.failed
			f.failed = nil
			f.mu.Unlock()
			if conn.IsClosed() {
				if failed == nil {
					failed = errors.New("connection closed")
				}
				return fmt.Errorf("version round: %w", failed)
			}
		}
		f.mu.Lock()
		if f.want > 0 {
			f.tok <- conn
			held = false
			linger.Reset(f.linger)
			f.mu.Unlock()
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		f.interrupt = cancel
		f.mu.Unlock()
		err := conn.PgConn().WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && (wctx.Err() == nil || conn.IsClosed()) {
			return fmt.Errorf("wait for notification: %w", err)
		}
		// A notification (counted by OnNotification) or a round wants the connection.
	}
}

// fenceRound returns versions no older than the moment it began: a Sync collects
// the notifications of every earlier commit (counted by OnNotification as they are
// received); the versions are read again only if one has arrived since the last
// read.
func (s *Service) fenceRound(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	f := &s.fence
	pc := conn.PgConn()
	fe := pc.Frontend()
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		return nil, fmt.Errorf("fence: %w", err)
	}
	for {
		msg, err := pc.ReceiveMessage(ctx)
		if err != nil {
			return nil, fmt.Errorf("fence: %w", err)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			return nil, fmt.Errorf("fence: %w", pgconn.ErrorResponseToPgError(e))
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
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

// fenceLinger is how long the listener leaves its connection lent to the rounds of
// a strict server after the last one: under load the next round comes within
// microseconds, and an idle server's connection is waiting again soon after.
const fenceLinger = 50 * time.Millisecond
