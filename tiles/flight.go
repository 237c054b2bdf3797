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
func (g *flight) do(ctx context.Context, base func() (context.Context, context.CancelFunc), key string, fn func(context.Context) (*cached, error)) (*cached, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call{}
	}
	c, ok := g.calls[key]
	if ok {
		c.waiters++
	} else {
		rctx, cancel := base()
		c = &call{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[key] = c
		go func() {
			c.val, c.err = fn(rctx)
			cancel()
			g.mu.Lock()
			if g.calls[key] == c {
				delete(g.calls, key)
			}
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		g.mu.Lock()
		c.waiters--
		if c.waiters == 0 {
			c.cancel()
			if g.calls[key] == c {
				delete(g.calls, key) // a later request starts afresh
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}
