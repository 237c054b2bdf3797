package limit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeTime is a clock the test moves by hand.
type fakeTime struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeTime() *fakeTime { return &fakeTime{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

func mustRefuse(t *testing.T, err error, retry time.Duration) {
	t.Helper()
	var r *Refused
	if !errors.As(err, &r) {
		t.Fatalf("err = %v, want *Refused", err)
	}
	if r.RetryAfter != retry {
		t.Fatalf("RetryAfter = %v, want %v (%s)", r.RetryAfter, retry, r.Problem)
	}
}

func TestBucket(t *testing.T) {
	ft := newFakeTime()
	l := New(Config{Rate: 0.5, Burst: 3, Now: ft.now})
	ctx := context.Background()
	for i := range 3 {
		if _, err := l.Enter(ctx, "wang"); err != nil {
			t.Fatalf("request %d of a burst of 3: %v", i+1, err)
		}
	}
	// Empty: one token comes back after 1/0.5 = 2 s.
	_, err := l.Enter(ctx, "wang")
	mustRefuse(t, err, 2*time.Second)
	if _, err := l.Enter(ctx, "li"); err != nil {
		t.Fatalf("another identity has its own bucket: %v", err)
	}
	ft.add(1500 * time.Millisecond) // 0.75 tokens: 0.5 s to go, said as 1 s
	_, err = l.Enter(ctx, "wang")
	mustRefuse(t, err, time.Second)
	ft.add(500 * time.Millisecond)
	if _, err := l.Enter(ctx, "wang"); err != nil {
		t.Fatalf("after 2 s: %v", err)
	}
	_, err = l.Enter(ctx, "wang")
	mustRefuse(t, err, 2*time.Second)
	// A long pause fills the bucket to Burst, not beyond.
	ft.add(time.Hour)
	for i := range 3 {
		if _, err := l.Enter(ctx, "wang"); err != nil {
			t.Fatalf("after a pause, request %d: %v", i+1, err)
		}
	}
	_, err = l.Enter(ctx, "wang")
	mustRefuse(t, err, 2*time.Second)
}

func TestSlots(t *testing.T) {
	l := New(Config{Concurrent: 2, Queue: 1, Wait: time.Minute})
	ctx := context.Background()
	r1, err := l.Enter(ctx, "wang")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Enter(ctx, "wang")
	if err != nil {
		t.Fatal(err)
	}
	// The third waits in the queue, the fourth is refused at once.
	got := make(chan error, 1)
	go func() {
		release, err := l.Enter(ctx, "wang")
		if err == nil {
			release()
		}
		got <- err
	}()
	waitFor(t, func() bool { return l.waiting("wang") == 1 })
	_, err = l.Enter(ctx, "wang")
	mustRefuse(t, err, time.Second)
	if release, err := l.Enter(ctx, "li"); err != nil {
		t.Fatalf("another identity has its own slots: %v", err)
	} else {
		release()
	}
	select {
	case err := <-got:
		t.Fatalf("the third request ran while two were in progress (err %v)", err)
	default:
	}
	r1()
	if err := <-got; err != nil {
		t.Fatalf("the waiting request, once a slot freed: %v", err)
	}
	r2()
	// All slots free again.
	for range 2 {
		if _, err := l.Enter(ctx, "wang"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSlotWaitEnds(t *testing.T) {
	l := New(Config{Concurrent: 1, Wait: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := l.Enter(ctx, "wang"); err != nil {
		t.Fatal(err)
	}
	_, err := l.Enter(ctx, "wang")
	mustRefuse(t, err, time.Second)

	ctx, cancel := context.WithCancel(ctx)
	l = New(Config{Concurrent: 1, Wait: time.Hour})
	if _, err := l.Enter(ctx, "wang"); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { _, err := l.Enter(ctx, "wang"); got <- err }()
	waitFor(t, func() bool { return l.waiting("wang") == 1 })
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("a waiting request whose client left: %v, want context.Canceled", err)
	}
	if n := l.waiting("wang"); n != 0 {
		t.Fatalf("%d still waiting", n)
	}
}

func TestSweep(t *testing.T) {
	ft := newFakeTime()
	l := New(Config{Rate: 1, Burst: 2, Concurrent: 1, Now: ft.now})
	ctx := context.Background()
	hold, err := l.Enter(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		release, err := l.Enter(ctx, fmt.Sprint("ip:", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	// Each of the 3000 used a token; once the buckets are full again they are
	// forgotten; the one in progress and one that has just used a token are not.
	ft.add(5 * time.Second)
	if release, err := l.Enter(ctx, "recent"); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	l.mu.Lock()
	l.sweep(ft.now())
	_, busy := l.m["busy"]
	_, recent := l.m["recent"]
	n := len(l.m)
	l.mu.Unlock()
	if !busy || !recent || n != 2 {
		t.Fatalf("after the sweep: %d identities (busy kept: %v, recent kept: %v), want those two", n, busy, recent)
	}
	hold()
	if _, err := l.Enter(ctx, "busy"); err != nil {
		t.Fatal(err)
	}
}

func TestNilLimiter(t *testing.T) {
	if l := New(Config{}); l != nil {
		t.Fatal("a limiter that limits nothing should be nil")
	}
	var l *Limiter
	release, err := l.Enter(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func (l *Limiter) waiting(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.m[key]; e != nil {
		return e.waiting
	}
	return 0
}

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func TestLogins(t *testing.T) {
	ft := newFakeTime()
	l := NewLogins(LoginConfig{FreeByName: 2, FreeByAddr: 5, Base: time.Second, Max: 4 * time.Second, Forget: time.Hour, Now: ft.now})
	check := func(name, addr string, retry time.Duration) {
		t.Helper()
		err := l.Check(name, addr)
		if retry == 0 {
			if err != nil {
				t.Fatalf("Check(%s, %s) = %v, want nil", name, addr, err)
			}
			return
		}
		mustRefuse(t, err, retry)
	}
	// Two free failures, then 1 s, 2 s, 4 s, 4 s (Max).
	l.Fail("admin", "10.0.0.1")
	l.Fail("admin", "10.0.0.1")
	check("admin", "10.0.0.2", 0)
	for _, want := range []time.Duration{1, 2, 4, 4} {
		l.Fail("admin", "10.0.0.2")
		check("admin", "10.0.0.3", want*time.Second)
		ft.add(want * time.Second)
		check("admin", "10.0.0.3", 0)
	}
	// A name that does not exist is counted the same way (the throttle knows no
	// users), and its answer is the same.
	l.Fail("nosuchuser", "10.0.0.4")
	l.Fail("nosuchuser", "10.0.0.4")
	l.Fail("nosuchuser", "10.0.0.4")
	err1 := l.Check("nosuchuser", "10.0.0.9")
	l.Fail("admin", "10.0.0.5")
	err2 := l.Check("admin", "10.0.0.9")
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Fatalf("unknown name %v, known name %v: want the same refusal", err1, err2)
	}
	// The address: five free failures over any names, then it waits for every name.
	for i := range 5 {
		l.Fail(fmt.Sprint("guess", i), "192.0.2.7")
	}
	check("someone", "192.0.2.7", 0)
	l.Fail("guess5", "192.0.2.7")
	check("someone", "192.0.2.7", time.Second)
	// Success forgets the name's failures, not the address's.
	ft.add(time.Minute)
	l.Succeed("admin")
	l.Fail("admin", "10.0.0.6")
	check("admin", "10.0.0.7", 0)
	l.Fail("guess6", "192.0.2.7")
	check("other", "192.0.2.7", 2*time.Second)
	// An hour after the last failure, a name starts over.
	ft.add(time.Hour + time.Second)
	l.Fail("nosuchuser", "10.0.0.8")
	check("nosuchuser", "10.0.0.10", 0)
}

// BenchmarkEnter is what a heavy request pays to pass the limits: a token and a
// slot taken and given back, from as many goroutines as CPUs, over 100 identities.
func BenchmarkEnter(b *testing.B) {
	l := New(Config{Rate: 1e9, Burst: 1 << 30, Concurrent: 64})
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprint("user:", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			release, err := l.Enter(ctx, keys[i%len(keys)])
			if err != nil {
				b.Fatal(err)
			}
			release()
			i++
		}
	})
}
