package tiles

import (
	"context"
	"sync"
)

// flight renders each uncached tile once however many requests ask for it at the
// same time. Unlike x/sync/singleflight it cancels the render when every request
// waiting for it has gone away, and only then: one impatient client does not fail
// the others.
type flight struct {
	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done    chan struct{}
	val     *cached
	err     error
	waiters int
	cancel  context.CancelFunc
}

// do returns the result of fn for key, running fn once for concurrent callers. fn
// gets a context that ends when all callers have given up (or at its timeout,
// which base sets); ctx is this caller's.
//
// The first caller runs fn itself (a goroutine per render cost a hand-off per
// tile); if its client goes away while others wait, it renders on for them and
// returns when fn does.
func (g *flight) do(ctx context.Context, base func() (context.Context, context.CancelFunc), key string, fn func(context.Context) (*cached, error)) (*cached, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call{}
	}
	if c, ok := g.calls[key]; ok {
		c.waiters++
		g.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			g.leave(key, c)
			return nil, ctx.Err()
		}
	}
	rctx, cancel := base()
	c := &call{done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.calls[key] = c
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { g.leave(key, c) })
	c.val, c.err = fn(rctx)
	stop()
	cancel()
	g.mu.Lock()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	g.mu.Unlock()
	close(c.done)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.val, c.err
}

// leave withdraws one waiter of c and cancels the render when none is left.
func (g *flight) leave(key string, c *call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if g.calls[key] == c {
			delete(g.calls, key) // a later request starts afresh
		}
	}
}
