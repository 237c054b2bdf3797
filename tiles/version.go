package tiles

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
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
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.vers.expire()
	s.listening.Store(true)
	defer s.listening.Store(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		s.vers.expire()
		s.notified.Add(1)
		s.log.LogAttrs(ctx, slog.LevelDebug, "tile layers changed", slog.String("layers", n.Payload))
	}
}
