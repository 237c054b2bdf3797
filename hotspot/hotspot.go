package hotspot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/onegrid/onegrid/scope"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	stats "github.com/onegrid/onegrid/geo/hotspot"
	"github.com/onegrid/onegrid/sdc"
)

// Limits on what one analysis may ask for.
const (
	MinRes    = 5
	MaxRes    = 11
	MinK      = 1
	MaxK      = 5
	MaxWindow = 366 * 24 * time.Hour
	// MinEvents is the fewest events an analysis will look for hot spots in.
	MinEvents = 10
	// MaxCells caps the study area (cells) so one request cannot exhaust memory.
	MaxCells = 1_000_000
	// MaxLinks caps cells × neighbourhood size (the weights' memory).
	MaxLinks = 40_000_000
	// DefaultWindow is the analysis window when From is not given.
	DefaultWindow = 30 * 24 * time.Hour
)

// Status of an analysis.
const (
	StatusOK            = "ok"
	StatusNothingToFind = "nothing_to_find"
)

// Value kinds (Params.By) and smoothing (Params.Smooth).
const (
	ByCount  = "count"
	ByRate   = "rate"
	SmoothEB = "eb"
)

// ColdSpotNote is the summary note when cold spots cannot be significant.
const ColdSpotNote = "with mostly-zero counts cold spots are mathematically out of reach: only hot spots can be significant"

// Params chooses one analysis.
type Params struct {
	Area     string    `json:"area"`     // admin or grid code; "" = the whole loaded city
	Category string    `json:"category"` // category code (its sub-categories included); "" = all
	Res      int       `json:"res"`      // H3 resolution, MinRes..MaxRes
	K        int       `json:"k"`        // k-ring radius of the neighbourhood, MinK..MaxK
	From     time.Time `json:"from"`     // reported_at in [From, To)
	To       time.Time `json:"to"`
	By       string    `json:"by"`     // ByCount (default) or ByRate
	Smooth   string    `json:"smooth"` // "" or SmoothEB (rates only)
}

// ParamError is bad input: it names the parameter and what is wrong with it.
// Its message is safe to show.
type ParamError struct {
	Param, Problem string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Problem }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Problem: fmt.Sprintf(format, args...)}
}

// Check validates what can be validated without the database and fills
// defaults (By = count).
func (p *Params) Check() error {
	if p.By == "" {
		p.By = ByCount
	}
	switch {
	case p.Res < MinRes || p.Res > MaxRes:
		return paramErr("res", "must be %d..%d", MinRes, MaxRes)
	case p.K < MinK || p.K > MaxK:
		return paramErr("k", "must be %d..%d", MinK, MaxK)
	case p.From.IsZero() || p.To.IsZero():
		return paramErr("from", "window not set")
	case !p.To.After(p.From):
		return paramErr("from", "must be before to")
	case p.To.Sub(p.From) > MaxWindow:
		return paramErr("from", "window longer than %d days", int(MaxWindow.Hours()/24))
	case p.By != ByCount && p.By != ByRate:
		return paramErr("by", "must be count or rate")
	case p.Smooth != "" && p.Smooth != SmoothEB:
		return paramErr("smooth", "must be eb or empty")
	case p.Smooth != "" && p.By != ByRate:
		return paramErr("smooth", "applies only with by=rate")
	}
	return nil
}

// key names the parameter set for "previous run" and pruning: everything but
// the window's position in time.
func (p Params) key() string {
	return fmt.Sprintf("%s|%s|%d|%d|%s|%s|%s", p.Area, p.Category, p.Res, p.K, p.By, p.Smooth, p.To.Sub(p.From))
}

// Area describes a study area.
type Area struct {
	Code  string `json:"code"`  // "" for the whole city
	Kind  string `json:"kind"`  // "city", "admin" or "grid"
	Level string `json:"level"` // admin or grid level; "city"
	Name  string `json:"name"`
}

// Cell is one study-area cell of a result.
type Cell struct {
	Cell   int64   `json:"cell"`    // H3 index at Params.Res
	Count  int     `json:"count"`   // events
	Value  float64 `json:"value"`   // the analysed value: count, rate or EB rate
	Z      float64 `json:"z"`       // Gi* z-score
	P      float64 `json:"p"`       // two-sided p-value
	Bin    int8    `json:"bin"`     // confidence bin ±3/±2/±1 (99/95/90 %), 0 not significant
	BinFDR int8    `json:"bin_fdr"` // the same after Benjamini-Hochberg correction
}

// Levels counts cells per confidence level.
type Levels struct {
	P99 int `json:"99"`
	P95 int `json:"95"`
	P90 int `json:"90"`
}

func (l *Levels) add(bin int8) {
	switch bin {
	case 3, -3:
		l.P99++
	case 2, -2:
		l.P95++
	case 1, -1:
		l.P90++
	}
}

// Summary describes a result as a whole.
type Summary struct {
	Cells   int   `json:"cells"`
	Events  int64 `json:"events"`  // events counted in study-area cells
	Dropped int64 `json:"dropped"` // events of the unit whose cell lies outside the study area
	// EventsWithoutHouseholds are events in cells with no households (by=rate:
	// such cells have rate 0).
	EventsWithoutHouseholds int64  `json:"events_without_households,omitempty"`
	Households              int64  `json:"households,omitempty"` // by=rate
	Hot                     Levels `json:"hot"`
	Cold                    Levels `json:"cold"`
	HotFDR                  Levels `json:"hot_fdr"`
	ColdFDR                 Levels `json:"cold_fdr"`
	Undefined               int    `json:"undefined"` // cells with undefined z (set to 0)
	ColdSpotsReachable      bool   `json:"cold_spots_reachable"`
	Note                    string `json:"note,omitempty"`
}

// Result is the outcome of one analysis.
type Result struct {
	Params     Params    `json:"params"`
	Area       Area      `json:"area"`
	Status     string    `json:"status"`           // StatusOK or StatusNothingToFind
	Reason     string    `json:"reason,omitempty"` // why nothing was found
	Summary    Summary   `json:"summary"`
	Cells      []Cell    `json:"cells"` // every study-area cell, ascending H3 index; nil when nothing to find
	ComputedAt time.Time `json:"computed_at"`
	RunID      int64     `json:"run_id,omitempty"` // set once stored
}

// Config tunes a Service. Zero values take the defaults.
type Config struct {
	// CacheEntries is how many study areas' weights to keep (default 512).
	CacheEntries int
	// KeepRuns is how many stored runs to keep per parameter set (default 12).
	KeepRuns int
	// IntensifyDelta is the rise in z that makes a 99 % hot spot "intensifying"
	// (default 1.0).
	IntensifyDelta float64
	// Log receives the scheduled job's outcome (default: discarded).
	Log *slog.Logger
	// Now is the clock (default time.Now); tests fix it.
	Now func() time.Time
	// MinCount is the disclosure-control threshold and rounding base (package
	// sdc) of the counts the analyses read and publish (default 5).
	MinCount int
}

// DB is what an analysis reads and writes through: a request's transaction
// (which carries the caller's identity, so the database counts only events
// inside the caller's jurisdiction), or a pool of the schema's owner (the CLI).
type DB interface {
	scope.DB
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Service runs analyses against one database.
type Service struct {
	pool  *pgxpool.Pool // the scheduled standard set's connections
	db    DB            // what analyses read and write through
	cfg   Config
	rule  sdc.Rule
	cache *stats.WeightsCache
}

// On returns the service answering through db (a request's scoped transaction);
// it shares the weights cache.
func (s *Service) On(db DB) *Service {
	c := *s
	c.db = db
	return &c
}

// New returns a Service on db.
func New(db *pgxpool.Pool, cfg Config) *Service {
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = 512
	}
	if cfg.KeepRuns <= 0 {
		cfg.KeepRuns = 12
	}
	if cfg.IntensifyDelta <= 0 {
		cfg.IntensifyDelta = 1.0
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinCount <= 0 {
		cfg.MinCount = 5
	}
	cfg.MinCount = min(cfg.MinCount, sdc.MaxK)
	s := &Service{pool: db, cfg: cfg, rule: sdc.Must(cfg.MinCount), cache: stats.NewWeightsCache(cfg.CacheEntries)}
	if db != nil {
		s.db = db
	}
	return s
}

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.cfg.Now() }

// Analyze runs one analysis. Bad parameters (including an unknown area or
// category) are *ParamError; degenerate data is a Result with Status
// StatusNothingToFind.
func (s *Service) Analyze(ctx context.Context, p Params) (*Result, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if err := s.checkCategory(ctx, p.Category); err != nil {
		return nil, err
	}
	a, err := s.lookupArea(ctx, p.Area)
	if err != nil {
		return nil, err
	}
	w, err := s.weights(a, p.Res, p.K)
	if errors.Is(err, stats.ErrTooFewCells) {
		r := &Result{Params: p, Area: a.Area, ComputedAt: s.cfg.Now()}
		return nothing(r, fmt.Sprintf("no cell centre at resolution %d lies inside the area: choose a finer resolution", p.Res)), nil
	}
	if err != nil {
		return nil, err
	}
	counts, err := s.eventCounts(ctx, p, a.prefix)
	if err != nil {
		return nil, err
	}
	var households []cellCount
	if p.By == ByRate {
		if households, err = s.householdCounts(ctx, p.Res, a.prefix); err != nil {
			return nil, err
		}
	}
	return compute(p, a.Area, w, counts, households, s.rule, s.cfg.Now())
}

// cellCount is a count in one cell, with the sum of its records' keys.
type cellCount struct {
	cell int64
	n    int64
	key  int64
}

// protected is a count and its key sum, added up per cell before the rule
// releases it.
type protected struct{ n, key int64 }

func (c *protected) add(n, key int64) { c.n, c.key = c.n+n, c.key+key }

// release is what the rule releases of c, 0 when suppressed: the value an
// analysis reads for a cell (a suppressed cell counts as none).
func (c protected) release(r sdc.Rule, f sdc.Figure) int64 {
	v, _ := r.Count(c.n, c.key, f)
	return v
}

// compute zero-fills counts over the study area and runs Gi* on the counts as
// the disclosure-control rule releases them (package sdc): each cell's events
// (and, by rate, households) rounded to a multiple of the base, a cell below the
// threshold as 0. Everything the result publishes (counts, values, z-scores,
// totals) is therefore derived from released figures only.
func compute(p Params, area Area, w *stats.Weights, counts, households []cellCount, rule sdc.Rule, now time.Time) (*Result, error) {
	r := &Result{Params: p, Area: area, ComputedAt: now, Status: StatusOK}
	r.Summary.Cells = w.N()
	ev := make([]protected, w.N())
	var total, dropped protected
	for _, c := range counts {
		if i, ok := w.Index(h3Cell(c.cell)); ok {
			ev[i].add(c.n, c.key)
			total.add(c.n, c.key)
		} else {
			dropped.add(c.n, c.key)
		}
	}
	r.Summary.Events, r.Summary.Dropped = total.release(rule, sdc.Events), dropped.release(rule, sdc.Events)
	x := make([]float64, w.N())
	for i, c := range ev {
		x[i] = float64(c.release(rule, sdc.Events))
	}
	counted := x
	values := x
	if p.By == ByRate {
		hh := make([]protected, w.N())
		var all, without protected
		for _, c := range households {
			if i, ok := w.Index(h3Cell(c.cell)); ok {
				hh[i].add(c.n, c.key)
				all.add(c.n, c.key)
			}
		}
		base := make([]float64, w.N())
		for i := range hh {
			base[i] = float64(hh[i].release(rule, sdc.Households))
			if base[i] == 0 {
				without.add(ev[i].n, ev[i].key)
			}
		}
		r.Summary.Households = all.release(rule, sdc.Households)
		r.Summary.EventsWithoutHouseholds = without.release(rule, sdc.Events)
		var err error
		if p.Smooth == SmoothEB {
			values, err = stats.EBRates(x, base, 1000)
		} else {
			values, err = stats.Rates(x, base, 1000)
		}
		if err != nil {
			return nil, fmt.Errorf("hotspot: rates: %w", err)
		}
	}
	if w.N() < 2 {
		return nothing(r, fmt.Sprintf("the study area has %d cell at resolution %d: choose a finer resolution or a larger area", w.N(), p.Res)), nil
	}
	if r.Summary.Events < MinEvents {
		return nothing(r, fmt.Sprintf("only %d events (as released, rounded to a multiple of %d; 0 below it) in the study area and window: at least %d are needed", r.Summary.Events, rule.K(), MinEvents)), nil
	}
	a, err := stats.Analyze(w, values, stats.Options{})
	switch {
	case errors.Is(err, stats.ErrNoEvents):
		return nothing(r, "no events (or no households) to compare: every cell has the value 0"), nil
	case errors.Is(err, stats.ErrNoVariance):
		return nothing(r, "every cell has the same value, so no cell stands out"), nil
	case errors.Is(err, stats.ErrTooFewCells):
		return nothing(r, fmt.Sprintf("the study area has too few cells (%d) at resolution %d", w.N(), p.Res)), nil
	case err != nil:
		return nil, fmt.Errorf("hotspot: analyze: %w", err)
	}
	reach, err := stats.ColdSpotReachable(w, values, 0.10)
	if err != nil {
		return nil, fmt.Errorf("hotspot: cold spots: %w", err)
	}
	for _, ok := range reach {
		if ok {
			r.Summary.ColdSpotsReachable = true
			break
		}
	}
	if !r.Summary.ColdSpotsReachable {
		r.Summary.Note = ColdSpotNote
	}
	r.Summary.Undefined = len(a.Undefined)
	cells := w.Cells()
	r.Cells = make([]Cell, len(cells))
	for i, c := range cells {
		r.Cells[i] = Cell{Cell: int64(c), Count: int(counted[i]), Value: values[i], Z: a.Z[i], P: a.P[i], Bin: a.Bin[i], BinFDR: a.BinFDR[i]}
		if a.Bin[i] > 0 {
			r.Summary.Hot.add(a.Bin[i])
		} else {
			r.Summary.Cold.add(a.Bin[i])
		}
		if a.BinFDR[i] > 0 {
			r.Summary.HotFDR.add(a.BinFDR[i])
		} else {
			r.Summary.ColdFDR.add(a.BinFDR[i])
		}
	}
	return r, nil
}

func nothing(r *Result, reason string) *Result {
	r.Status, r.Reason, r.Cells = StatusNothingToFind, reason, nil
	return r
}
