package limit

import (
	"sync"
	"time"
)

// LoginConfig says how failed logins slow down the next ones.
type LoginConfig struct {
	// FreeByName and FreeByAddr are the failures a login name, and a client
	// address, may have before they must wait (defaults 5 and 20: an office
	// behind one address mistypes more often than one person).
	FreeByName, FreeByAddr int
	// Base is the first wait; each further failure doubles it, up to Max
	// (defaults 1 s and 15 min).
	Base, Max time.Duration
	// Forget is how long after its last failure a name or address starts
	// over (default 1 h).
	Forget time.Duration
	// Now reads the time (default time.Now).
	Now func() time.Time
}

// Logins throttles password guessing: after FreeByName failed logins for a
// name, or FreeByAddr from a client address, the next login for that name, or
// from that address, must wait, twice as long after each further failure.
// Unknown names count as names, so a refused login says nothing about whether
// the name exists.
type Logins struct {
	cfg     LoginConfig
	mu      sync.Mutex
	m       map[string]*failures // "n:" + name, "a:" + address
	sweepAt int
}

type failures struct {
	n     int
	last  time.Time // of the last failure
	until time.Time // no login before
}

// maxLoginKeys bounds the names and addresses remembered; beyond it, failures
// of new ones go uncounted until old ones are forgotten.
const maxLoginKeys = 200_000

// NewLogins returns a login throttle.
func NewLogins(cfg LoginConfig) *Logins {
	if cfg.FreeByName <= 0 {
		cfg.FreeByName = 5
	}
	if cfg.FreeByAddr <= 0 {
		cfg.FreeByAddr = 20
	}
	if cfg.Base <= 0 {
		cfg.Base = time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = 15 * time.Minute
	}
	if cfg.Forget <= 0 {
		cfg.Forget = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Logins{cfg: cfg, m: map[string]*failures{}, sweepAt: 1024}
}

// Check returns a *Refused while the name or the address must wait, else nil.
// The answer is the same whichever of the two is waiting.
func (l *Logins) Check(name, addr string) error {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range []string{"n:" + name, "a:" + addr} {
		if f := l.m[k]; f != nil && now.Before(f.until) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	if wait > 0 {
		return refused(wait, "login: too many failed attempts; wait and try again")
	}
	return nil
}

// Fail records a failed login of name from addr.
func (l *Logins) Fail(name, addr string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail("n:"+name, l.cfg.FreeByName, now)
	l.fail("a:"+addr, l.cfg.FreeByAddr, now)
}

func (l *Logins) fail(key string, free int, now time.Time) {
	f := l.m[key]
	if f == nil {
		if len(l.m) >= l.sweepAt {
			l.sweep(now)
		}
		if len(l.m) >= maxLoginKeys {
			return
		}
		f = &failures{}
		l.m[key] = f
	}
	if now.Sub(f.last) > l.cfg.Forget {
		f.n = 0
	}
	f.n++
	f.last = now
	if over := f.n - free; over > 0 {
		wait := l.cfg.Max
		if over <= 30 {
			wait = min(l.cfg.Max, l.cfg.Base<<(over-1))
		}
		f.until = now.Add(wait)
	}
}

// Succeed forgets the failures of name (not of the address: one account's
// success must not reset the guessing budget of an address trying others).
func (l *Logins) Succeed(name string) {
	l.mu.Lock()
	delete(l.m, "n:"+name)
	l.mu.Unlock()
}

// sweep forgets names and addresses whose last failure is older than Forget
// and that are not waiting. Called with mu held.
func (l *Logins) sweep(now time.Time) {
	for k, f := range l.m {
		if now.Sub(f.last) > l.cfg.Forget && !now.Before(f.until) {
			delete(l.m, k)
		}
	}
	l.sweepAt = max(1024, 2*len(l.m))
}
