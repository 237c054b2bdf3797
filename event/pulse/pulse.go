// Package pulse keeps a demo city alive: a trickle of new events like the
// city's own, written through the normal write path (event.Create), and its open
// events moved on through the loop (dispatched, handled, resolved, closed), so
// that the command centre's live feed, tiles and figures move as in a real one.
// onegrid serve runs it with --demo-pulse; it is off unless asked.
//
// New events imitate the database's own recent events, whatever city they
// describe: the pulse samples the events of the 30 days up to the clock's now
// (or up to the latest event before it), and each new event copies a sampled
// event's category, severity, source, dataset and address, at its place moved by
// a few metres, reported now. Sampling reproduces the city's category mix,
// severities, sources and places, its planted hotspots included; the hour of
// day follows too: where the sample holds at least 100 events reported at the
// current hour (China time), each new event copies one of those (fewer would
// repeat too few places), and the rate rises and falls with that hour's share
// of the day (within half and twice the configured rate). Gaps between events are exponential
// (Poisson arrivals) but never longer than three mean gaps at the configured
// rate, so at the default of 4 a minute a new event appears within 45 s (the
// first within 10 s of the start).
//
// Open events move by the model of event/model.go, the one the generated year
// was drawn from: an event whose time limit is its deadline minus its report
// time takes event.HandlingTime to resolve (drawn from its id, so a restart
// draws the same) and is dispatched, handled, resolved and closed as
// event.Stage has it. Every few seconds the pulse moves, one step each, the
// events whose next step is most overdue, at most MaxMoves at a time and in one
// transaction (one change for the tiles' caches), so that a backlog (a demo
// started days after its data ends) drains gradually.
package pulse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/event"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// Config is the pulse's configuration; zero fields take defaults.
type Config struct {
	// Rate is new events a minute on average (default 4).
	Rate float64
	// Now is the server's clock (nil: the system clock): events are reported,
	// and move, at its time.
	Now clock.Clock
	// Tick is how often open events are moved on (default 5 s).
	Tick time.Duration
	// MaxMoves is the most steps one tick takes (default 20).
	MaxMoves int
	// Seed seeds the choice of events (0: from the clock).
	Seed uint64
	// Log receives what the pulse did (nil: discarded).
	Log *slog.Logger
}

// DefaultRate is the default of Config.Rate: new events a minute.
const DefaultRate = 4

// Actor is the actor of the pulse's steps.
const Actor = "demo pulse"

const (
	sampleDays    = 30    // days of events sampled
	sampleSize    = 10000 // events sampled
	resample      = 30 * time.Minute
	jitterM       = 15.0             // a new event lies within this many metres of its model
	minHourly     = 100              // fewest models reported at this hour to choose among them alone
	moveHorizonD  = 60               // days back that open events are moved on
	firstWithin   = 10 * time.Second // the first new event comes within this
	minRateFactor = 0.5
	maxRateFactor = 2.0
)

// model is a sampled event that new events copy.
type model struct {
	category, severity, source, title, dataset string
	lon, lat                                   float64
	address                                    *int64
	hour                                       int // of its report, China time
}

// sampleSQL samples the events of the sampleDays days up to the latest event
// reported at or before $1 (the clock's now).
const sampleSQL = `
WITH latest AS (SELECT max(reported_at) AS t FROM event WHERE reported_at <= $1)
SELECT e.category_code, e.severity, e.source, c.name, e.dataset, ST_X(e.geom), ST_Y(e.geom), e.address_id,
       extract(hour FROM e.reported_at AT TIME ZONE 'Asia/Shanghai')::int
FROM latest, event e JOIN event_category c ON c.code = e.category_code
WHERE e.reported_at <= latest.t AND e.reported_at > latest.t - make_interval(days => $2)
ORDER BY random()
LIMIT $3`

// openSQL lists the events still in the loop (resolved ones await closing)
// that the model can move: those with a deadline, reported in the last
// moveHorizonD days.
const openSQL = `
SELECT id, status, reported_at, deadline FROM event
WHERE status IN ('reported', 'dispatched', 'handling', 'resolved') AND deadline > reported_at
  AND reported_at <= $1 AND reported_at > $1 - make_interval(days => $2)`

// Pulse is a running pulse.
type Pulse struct {
	db      scope.Beginner
	cfg     Config
	rng     *rand.Rand
	models  []model
	byHour  [24][]int // indexes into models
	factor  [24]float64
	sampled time.Time // wall time of the last sample
}

// New returns a pulse over db (the server's pool); Run starts it. It works as
// the system (scope.System: the whole city, the events capability), each new
// event and each tick in a transaction of its own that carries that identity,
// so row-level security lets it write as it lets a command centre.
func New(db scope.Beginner, cfg Config) *Pulse {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	cfg.Now = clock.Or(cfg.Now)
	if cfg.Tick <= 0 {
		cfg.Tick = 5 * time.Second
	}
	if cfg.MaxMoves <= 0 {
		cfg.MaxMoves = 20
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(cfg.Now().UnixNano())
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Pulse{db: db, cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x70756c7365))}
}

// Run reports new events and moves open ones on until ctx ends. Database errors
// are logged and retried: the pulse never stops the server.
func (p *Pulse) Run(ctx context.Context) error {
	p.cfg.Log.Info("demo pulse on", "events_per_minute", p.cfg.Rate, "tick", p.cfg.Tick)
	// The first new event comes soon: whoever turned the pulse on is watching.
	arrive := time.NewTimer(min(p.gap(), firstWithin))
	defer arrive.Stop()
	tick := time.NewTicker(p.cfg.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-arrive.C:
			if id, err := p.Report(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.cfg.Log.Warn("demo pulse: new event", "error", err)
			} else if id != 0 {
				p.cfg.Log.Debug("demo pulse: new event", "id", id)
			}
			arrive.Reset(p.gap())
		case <-tick.C:
			if n, err := p.Move(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.cfg.Log.Warn("demo pulse: moving events on", "error", err)
			} else if n > 0 {
				p.cfg.Log.Debug("demo pulse: moved events on", "steps", n)
			}
		}
	}
}

// gap is the time to the next new event: exponential with the mean of the rate
// at this hour, at most three mean gaps at the configured rate.
func (p *Pulse) gap() time.Duration {
	mean := time.Minute.Seconds() / p.cfg.Rate
	f := p.factor[p.cfg.Now().In(clock.China).Hour()]
	if f == 0 {
		f = 1
	}
	g := p.rng.ExpFloat64() * mean / f
	return time.Duration(min(g, 3*mean) * float64(time.Second))
}

// sample (re)reads the models when there are none or they are old.
func (p *Pulse) sample(ctx context.Context, db event.DB) error {
	if len(p.models) > 0 && time.Since(p.sampled) < resample {
		return nil
	}
	rows, err := db.Query(ctx, sampleSQL, p.cfg.Now(), sampleDays, sampleSize)
	if err != nil {
		return fmt.Errorf("sample events: %w", err)
	}
	models, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (model, error) {
		var m model
		err := r.Scan(&m.category, &m.severity, &m.source, &m.title, &m.dataset, &m.lon, &m.lat, &m.address, &m.hour)
		return m, err
	})
	if err != nil {
		return fmt.Errorf("sample events: %w", err)
	}
	p.models, p.sampled = models, time.Now()
	p.byHour = [24][]int{}
	for i, m := range models {
		if m.hour >= 0 && m.hour < 24 {
			p.byHour[m.hour] = append(p.byHour[m.hour], i)
		}
	}
	for h := range p.factor {
		p.factor[h] = 1
		if len(models) >= 24*minHourly {
			p.factor[h] = math.Min(maxRateFactor, math.Max(minRateFactor, 24*float64(len(p.byHour[h]))/float64(len(models))))
		}
	}
	return nil
}

// Report writes one new event like a sampled one and returns its id; 0 when
// the database has no event to imitate.
func (p *Pulse) Report(ctx context.Context) (int64, error) {
	var id int64
	err := scope.Run(ctx, p.db, scope.System(), func(tx pgx.Tx) error {
		var err error
		id, err = p.report(ctx, tx)
		return err
	})
	return id, err
}

func (p *Pulse) report(ctx context.Context, db event.DB) (int64, error) {
	if err := p.sample(ctx, db); err != nil {
		return 0, err
	}
	if len(p.models) == 0 {
		return 0, nil
	}
	now := p.cfg.Now()
	pool := p.byHour[now.In(clock.China).Hour()]
	var m model
	if len(pool) >= minHourly {
		m = p.models[pool[p.rng.IntN(len(pool))]]
	} else {
		m = p.models[p.rng.IntN(len(p.models))]
	}
	// A point within jitterM metres, uniform over the disc.
	r, a := jitterM*math.Sqrt(p.rng.Float64()), 2*math.Pi*p.rng.Float64()
	lon := m.lon + r*math.Cos(a)/geo.MetresPerDegreeLon(m.lat)
	lat := m.lat + r*math.Sin(a)/geo.MetresPerDegreeLat(m.lat)
	rep := event.Report{Category: m.category, Severity: m.severity, Source: m.source, Title: m.title,
		Point: &[2]float64{lon, lat}, At: now, Actor: Actor, Dataset: m.dataset}
	if m.address != nil {
		rep.AddressID = *m.address
	}
	return event.Create(ctx, db, rep)
}

// due is an open event's next step and when the model has it happen.
type due struct {
	id           int64
	status, next string
	at           time.Time
	rating       int
}

// order of the statuses the pulse moves through.
var order = []string{event.Reported, event.Dispatched, event.Handling, event.Resolved, event.Closed}

// Move takes the next step of the open events whose step is due, most overdue
// first, at most MaxMoves, and returns how many it took. The steps of one call
// commit together: tiles and caches see one change a tick, not one a step.
func (p *Pulse) Move(ctx context.Context) (int, error) {
	var n int
	err := scope.Run(ctx, p.db, scope.System(), func(tx pgx.Tx) error {
		var err error
		n, err = p.move(ctx, tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("move events on: %w", err)
	}
	return n, nil
}

func (p *Pulse) move(ctx context.Context, db event.DB) (int, error) {
	now := p.cfg.Now()
	rows, err := db.Query(ctx, openSQL, now, moveHorizonD)
	if err != nil {
		return 0, fmt.Errorf("open events: %w", err)
	}
	var todo []due
	var d due
	var reported, deadline time.Time
	_, err = pgx.ForEachRow(rows, []any{&d.id, &d.status, &reported, &deadline}, func() error {
		took, rating := Draw(d.id, deadline.Sub(reported))
		cur := slices.Index(order, d.status)
		if cur < 0 || cur+1 >= len(order) {
			return nil
		}
		next := order[cur+1]
		if slices.Index(order, event.Stage(now.Sub(reported), took)) <= cur {
			return nil
		}
		start, _ := event.StageStart(next, took)
		todo = append(todo, due{id: d.id, status: d.status, next: next, at: reported.Add(start), rating: rating})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("open events: %w", err)
	}
	slices.SortFunc(todo, func(a, b due) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id)) })
	n := 0
	for _, t := range todo[:min(len(todo), p.cfg.MaxMoves)] {
		s := event.Step{At: now, Actor: Actor}
		var err error
		switch t.next {
		case event.Dispatched:
			err = event.Dispatch(ctx, db, t.id, s)
		case event.Handling:
			err = event.Handle(ctx, db, t.id, s)
		case event.Resolved:
			err = event.Resolve(ctx, db, t.id, s)
		case event.Closed:
			err = event.Close(ctx, db, t.id, s, t.rating)
		}
		var te *event.TransitionError
		var ie *event.InputError
		switch {
		case err == nil:
		case errors.As(err, &te) || errors.As(err, &ie) || errors.Is(err, event.ErrNotFound) || errors.Is(err, event.ErrChanged):
			// Moved by someone else meanwhile, or a step later than our clock:
			// not the pulse's to force (and the transaction is still good).
			p.cfg.Log.Debug("demo pulse: step skipped", "id", t.id, "to", t.next, "error", err)
			continue
		default:
			return 0, err
		}
		n++
	}
	return n, nil
}

// Draw is the model's handling time of event id with the time limit, and the
// rating its reporter gives at closing (0: none), drawn from the id alone so
// that every run of the pulse draws the same for the same event.
func Draw(id int64, limit time.Duration) (took time.Duration, rating int) {
	u := func(k uint64) float64 { return float64(splitmix(uint64(id)*4+k)>>11) / (1 << 53) }
	took = event.HandlingTime(u(0), u(1), limit)
	if u(2) < event.RatedShare {
		rating = event.Rating(u(3))
	}
	return took, rating
}

// splitmix is SplitMix64's output function: a well-mixed hash of x.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
