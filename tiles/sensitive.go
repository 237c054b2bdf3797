package tiles

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
)

// Sensitive event categories (event_category.sensitive, migration 0700: a drug
// lead, a child in difficulty, a suspected infectious case) never show an exact
// point to a caller whose duties do not cover them (scope.Duty). The event
// layers coarsen them to their H3 resolution-9 cell (about 0.1 km²), which the
// issue allows ("micro-grid or H3 res 9"), rather than leave them out, so that
// every count stays whole at every zoom:
//
//   - events (points) draws such an event at the centre of its resolution-9 cell,
//     with coarsened: true;
//   - events_h3 at resolutions finer than 9 counts it in the cell at the centre
//     of its resolution-9 cell (its centre child), as if it lay there; at 9 and
//     coarser its cell is already no finer than that and it counts where it is.
//
// A category is sensitive when it, or a category above it in the taxonomy (a
// prefix of its code), is marked sensitive.

// CoarseRes is the H3 resolution sensitive events are coarsened to (in the
// tiles here and in the live stream).
const CoarseRes = 9

// Sensitivity is the event taxonomy's sensitive categories as of one version of
// the event_categories layer.
type Sensitivity struct {
	version int64
	flagged []string // codes marked sensitive
	codes   []string // every category code, sorted

	mu     sync.Mutex
	masked map[string][]string // duties key → codes coarsened for them
}

const sensitivityQuery = `SELECT code, sensitive FROM event_category ORDER BY code`

// ReadSensitivity reads the taxonomy's sensitive categories (event_category has
// no row-level security: it is public reference data).
func ReadSensitivity(ctx context.Context, db scope.DB) (*Sensitivity, error) {
	rows, _ := db.Query(ctx, sensitivityQuery)
	s := &Sensitivity{}
	var code string
	var sensitive bool
	_, err := pgx.ForEachRow(rows, []any{&code, &sensitive}, func() error {
		s.codes = append(s.codes, code)
		if sensitive {
			s.flagged = append(s.flagged, code)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sensitive categories: %w", err)
	}
	return s, nil
}

// Sensitive reports whether events of the category are sensitive.
func (s *Sensitivity) Sensitive(category string) bool {
	for _, f := range s.flagged {
		if scope.Inside(category, f) {
			return true
		}
	}
	return false
}

// Coarsened reports whether a caller with the scope sees events of the category
// only coarsened: sensitive, and not the caller's duty.
func (s *Sensitivity) Coarsened(sc scope.Scope, category string) bool {
	return len(s.flagged) > 0 && s.Sensitive(category) && !sc.Duty(category)
}

// maskedCodes returns the category codes a caller with the scope sees coarsened,
// sorted (nil: none, the common case of a taxonomy without sensitive categories
// or a caller who sees them all).
func (s *Sensitivity) maskedCodes(sc scope.Scope) []string {
	if len(s.flagged) == 0 || sc.Can(scope.CanSensitive) {
		return nil
	}
	duties := slices.Clone(sc.Duties)
	slices.Sort(duties)
	key := strings.Join(duties, ",")
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.masked[key]; ok {
		return m
	}
	var m []string
	for _, c := range s.codes {
		if s.Coarsened(sc, c) {
			m = append(m, c)
		}
	}
	if s.masked == nil {
		s.masked = map[string][]string{}
	}
	if len(s.masked) < 1024 { // a handful of duty sets in practice
		s.masked[key] = m
	}
	return m
}

// sensitivity returns the sensitive categories as of version want or newer.
func (s *Service) sensitivity(ctx context.Context, want int64) (*Sensitivity, error) {
	return s.sens.get(func(v *Sensitivity) bool { return v.version >= want }, func(*Sensitivity) (*Sensitivity, error) {
		var out *Sensitivity
		err := readSnapshot(ctx, s.pool, scope.System(), func(tx pgx.Tx) error {
			v, err := layerVersion(ctx, tx, "event_categories")
			if err != nil {
				return err
			}
			if out, err = ReadSensitivity(ctx, tx); err != nil {
				return err
			}
			out.version = v
			return nil
		})
		return out, err
	})
}

// centreChild returns the descendant of cell at resolution res (not coarser
// than the cell's) whose centre is the cell's: every digit below the cell's
// resolution 0, by bit arithmetic as geo.ParentBits.
func centreChild(cell int64, res int) int64 {
	pr := geo.CellRes(cell)
	c := cell&^(int64(0xF)<<52) | int64(res)<<52
	for r := pr + 1; r <= res; r++ {
		c &^= int64(7) << (3 * (15 - r))
	}
	return c
}

// coarseSnaps holds, per set of masked categories, the all-time events_h3
// counts of an index as a caller who sees those categories only coarsened draws
// them (coarsenedSnap). Every caller without duties masks the same set (all
// sensitive categories), so one or two sets serve nearly everyone; without
// them each of that caller's tiles finer than CoarseRes was counted from the
// index, a quarter slower than the snapshot (BENCHMARKS.md, "Scoped tiles").
// An index copied unchanged shares its holder: the counts are the same.
type coarseSnaps struct {
	mu sync.RWMutex // read on every such tile; written once per set
	m  map[string]*eventsSnap
}

// maxCoarseSets bounds the sets kept: beyond them (callers with unusual duty
// combinations) tiles are counted from the index as before.
const maxCoarseSets = 8

// get returns the counts for the masked categories (codes sorted, and their
// flags by index category), made on first use; nil when no more sets are kept.
func (c *coarseSnaps) get(ix *evIndex, codes []string, masked []bool) *eventsSnap {
	if c == nil {
		return nil
	}
	key := strings.Join(codes, ",")
	c.mu.RLock()
	s, ok := c.m[key]
	c.mu.RUnlock()
	if ok {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[key]; ok { // made while this caller waited
		return s
	}
	if len(c.m) >= maxCoarseSets {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*eventsSnap{}
	}
	s = coarsenedSnap(ix, masked)
	c.m[key] = s
	return s
}

func (c *coarseSnaps) bytes() int64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var n int64
	for _, s := range c.m {
		n += s.bytes()
	}
	return n
}

// coarsenedSnap counts the events of an index per cell and status at the
// resolutions finer than CoarseRes that events_h3 draws, as evIndex.cellsMasked
// does per tile: events of a masked category (masked: one flag per entry of
// ix.cats) count in the centre child of their CoarseRes cell, placed at that
// cell's centre, the others in their own cell. Coarser resolutions are the
// plain snapshot's (nothing is placed more precisely there).
func coarsenedSnap(ix *evIndex, masked []bool) *eventsSnap {
	s := &eventsSnap{version: ix.version, statuses: ix.statuses, open: ix.open}
	cc := &ix.byRes[CoarseRes]
	for _, r := range evResolutions {
		if r <= CoarseRes {
			continue
		}
		c := &ix.byRes[r]
		at := map[int64]int32{}
		var g h3Grid
		count := func(p *h3Point, cell int64, e int32) {
			i, ok := at[cell]
			if !ok {
				i = int32(len(s.counts))
				at[cell] = i
				s.counts = append(s.counts, make([]int32, len(ix.statuses)))
				g = append(g, h3Point{x: p.x, y: p.y, cell: cell, i: i})
			}
			s.counts[i][ix.st[e]]++
		}
		for k := range c.grid {
			p := &c.grid[k]
			for e := c.start[p.i]; e < c.start[p.i+1]; e++ {
				if !masked[ix.cat[e]] {
					count(p, p.cell, e)
				}
			}
		}
		for k := range cc.grid {
			p := &cc.grid[k]
			child := centreChild(p.cell, r)
			for e := cc.start[p.i]; e < cc.start[p.i+1]; e++ {
				if masked[ix.cat[e]] {
					count(p, child, e)
				}
			}
		}
		g.index()
		s.byRes[r] = g
	}
	s.setProps()
	return s
}
