// Package limit bounds what one client may ask of the server: per identity, a
// token bucket of requests and a number of requests in progress at once
// (Limiter); per login name and per client address, a growing wait after failed
// logins (Logins); for the whole server, a cap on open connections (Listener).
//
// Everything is held in memory by one process. Limits measure elapsed time, as
// timeouts do, so they read the monotonic clock (time.Now; Config.Now in tests),
// never the server's domain clock, which tests fix and --now moves.
package limit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"
)

// Refused is a request a limit turns away: which limit, in words safe to show,
// and how long to wait before trying again (whole seconds, at least one).
type Refused struct {
	Problem    string
	RetryAfter time.Duration
}

func (e *Refused) Error() string { return e.Problem }

// refused builds a Refused whose RetryAfter is d rounded up to whole seconds.
func refused(d time.Duration, format string, args ...any) *Refused {
	s := max(1, int64(math.Ceil(d.Seconds())))
	return &Refused{Problem: fmt.Sprintf(format, args...), RetryAfter: time.Duration(s) * time.Second}
}

// The defaults serve uses for expensive requests: a command-centre screen asks
// for about ten at each click (its figures, one per tag, the event summary),
// so a burst of 100 and 10 a second let a person click freely, while four at a
// time keep one identity from holding more of the database's connections.
const (
	DefaultRate       = 10
	DefaultBurst      = 100
	DefaultConcurrent = 4
)

// Config of a Limiter. A zero Rate has no token bucket, a zero Concurrent no cap
// on requests in progress.
type Config struct {
	// Rate is how many requests a second an identity's bucket refills with.
	Rate float64
	// Burst is the bucket's size: requests an identity may make at once after a
	// pause (default: Rate rounded up, at least 1).
	Burst int
	// Concurrent is how many requests of one identity may be in progress at once.
	Concurrent int
	// Queue is how many more may wait for one of those slots (default
	// 4×Concurrent); a request beyond them is refused at once.
	Queue int
	// Wait is the longest a request waits for a slot (default 10 s).
	Wait time.Duration
	// What names the limited thing in messages ("expensive requests").
	What string
	// Now reads the time (default time.Now).
	Now func() time.Time
}

// Limiter holds a token bucket and request slots per identity.
type Limiter struct {
	cfg     Config
	mu      sync.Mutex
	m       map[string]*entry
	sweepAt int
}

type entry struct {
	tokens  float64
	last    time.Time     // when tokens was computed
	slots   chan struct{} // one value per request in progress; nil without Concurrent
	waiting int           // requests waiting for a slot
}

// New returns a limiter; nil when cfg limits nothing.
func New(cfg Config) *Limiter {
	if cfg.Rate <= 0 && cfg.Concurrent <= 0 {
		return nil
	}
	if cfg.Rate > 0 && cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.Rate)))
	}
	if cfg.Concurrent > 0 && cfg.Queue <= 0 {
		cfg.Queue = 4 * cfg.Concurrent
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.What == "" {
		cfg.What = "requests"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, m: map[string]*entry{}, sweepAt: 1024}
}

// Enter admits a request of identity key: it takes a token from the key's
// bucket and then one of its slots, waiting for a slot while the key's queue
// has room, at most Wait and no longer than ctx. It returns the function that
// gives the slot back (call it when the request ends), or a *Refused, or ctx's
// error. A nil Limiter admits everything.
func (l *Limiter) Enter(ctx context.Context, key string) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	now := l.cfg.Now()
	l.mu.Lock()
	e := l.m[key]
	if e == nil {
		if len(l.m) >= l.sweepAt {
			l.sweep(now)
		}
		e = &entry{tokens: float64(l.cfg.Burst), last: now}
		if l.cfg.Concurrent > 0 {
			e.slots = make(chan struct{}, l.cfg.Concurrent)
		}
		l.m[key] = e
	}
	if l.cfg.Rate > 0 {
		e.refill(now, l.cfg.Rate, l.cfg.Burst)
		if e.tokens < 1 {
			wait := time.Duration((1 - e.tokens) / l.cfg.Rate * float64(time.Second))
			l.mu.Unlock()
			return nil, refused(wait, "too many %s: at most %g a second (bursts of %d); try again later", l.cfg.What, l.cfg.Rate, l.cfg.Burst)
		}
		e.tokens--
	}
	if e.slots == nil {
		l.mu.Unlock()
		return func() {}, nil
	}
	release = func() { <-e.slots }
	select {
	case e.slots <- struct{}{}:
		l.mu.Unlock()
		return release, nil
	default:
	}
	if e.waiting >= l.cfg.Queue {
		l.mu.Unlock()
		return nil, refused(time.Second, "too many %s at once: at most %d in progress and %d waiting; try again later", l.cfg.What, l.cfg.Concurrent, l.cfg.Queue)
	}
	e.waiting++ // an entry with waiters is never swept
	l.mu.Unlock()
	timer := time.NewTimer(l.cfg.Wait)
	defer timer.Stop()
	select {
	case e.slots <- struct{}{}:
	case <-timer.C:
		err = refused(time.Second, "too many %s at once: at most %d in progress; waited %s for one to end", l.cfg.What, l.cfg.Concurrent, l.cfg.Wait)
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.mu.Lock()
	e.waiting--
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return release, nil
}

func (e *entry) refill(now time.Time, rate float64, burst int) {
	if d := now.Sub(e.last); d > 0 {
		e.tokens = math.Min(float64(burst), e.tokens+d.Seconds()*rate)
		e.last = now
	}
}

// sweep forgets identities at rest: no request in progress or waiting and a
// full bucket, so forgetting them changes nothing. Called with mu held.
func (l *Limiter) sweep(now time.Time) {
	for k, e := range l.m {
		if e.waiting > 0 || len(e.slots) > 0 {
			continue
		}
		if l.cfg.Rate > 0 {
			e.refill(now, l.cfg.Rate, l.cfg.Burst)
			if e.tokens < float64(l.cfg.Burst) {
				continue
			}
		}
		delete(l.m, k)
	}
	l.sweepAt = max(1024, 2*len(l.m))
}

// size is the number of identities held (tests).
func (l *Limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
