package tiles

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFlightRendersOnce(t *testing.T) {
	var g flight
	var runs atomic.Int32
	release := make(chan struct{})
	base := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := g.do(context.Background(), base, "k", func(ctx context.Context) (*cached, error) {
				runs.Add(1)
				<-release
				return &cached{key: "k"}, nil
			})
			if err != nil || c.key != "k" {
				t.Errorf("got %v, %v", c, err)
			}
		}()
	}
	waitWaiters(t, &g, "k", 20)
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("rendered %d times, want 1", n)
	}
}

// TestFlightCancel: the render is cancelled when the last waiting client goes away,
// not before; the first client, which renders, returns when the render ends.
func TestFlightCancel(t *testing.T) {
	var g flight
	base := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	started := make(chan struct{})
	cancelled := make(chan struct{})
	fn := func(ctx context.Context) (*cached, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, err := g.do(ctx1, base, "k", fn); errs <- err }()
	<-started
	go func() { _, err := g.do(ctx2, base, "k", fn); errs <- err }()
	waitWaiters(t, &g, "k", 2)
	cancel1()
	select {
	case <-cancelled:
		t.Fatal("render cancelled while a client still waits")
	case <-time.After(20 * time.Millisecond):
	}
	cancel2()
	select {
	case <-cancelled:
	case <-time.After(time.Second):
		t.Fatal("render not cancelled after every client left")
	}
	for range 2 {
		if err := <-errs; err != context.Canceled {
			t.Errorf("got %v, want %v", err, context.Canceled)
		}
	}
}

// TestFlightLeaderLeaves: a render whose only client goes away is cancelled.
func TestFlightLeaderLeaves(t *testing.T) {
	var g flight
	base := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	_, err := g.do(ctx, base, "k", func(ctx context.Context) (*cached, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err != context.Canceled {
		t.Fatalf("got %v, want %v", err, context.Canceled)
	}
	if len(g.calls) != 0 {
		t.Fatalf("%d calls left", len(g.calls))
	}
}

func TestCacheBound(t *testing.T) {
	c := newCache(10_000)
	for i := range 100 {
		c.add(&cached{key: string(rune('a'+i%26)) + string(rune(i)), gz: make([]byte, 500)})
	}
	st := c.stats()
	if st.Bytes > 10_000 || st.Entries == 0 || st.Evictions == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// waitWaiters waits until n clients wait on key's render: a fixed sleep let a
// late goroutine on a loaded machine join after the render ended and start a
// second one, or leave the render with one client too few.
func waitWaiters(t *testing.T, g *flight, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		got := 0
		if c := g.calls[key]; c != nil {
			got = c.waiters
		}
		g.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d clients wait on %q, want %d", got, key, n)
		}
	}
}
