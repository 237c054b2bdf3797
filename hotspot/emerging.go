package hotspot

import (
	"context"
	"errors"
	"fmt"
	"time"

	stats "github.com/onegrid/onegrid/geo/hotspot"
	"github.com/onegrid/onegrid/sdc"
)

// Emerging limits.
const (
	MinSlices         = 3
	MaxSlices         = 60
	MaxEmergingWindow = 3 * 366 * 24 * time.Hour
)

// EmergingParams chooses an emerging hot spot analysis: Slices consecutive
// slices of one day, week or month ending at To.
type EmergingParams struct {
	Area, Category string
	Res, K         int
	Slice          string // "day", "week" or "month"
	Slices         int
	To             time.Time
}

// Bounds returns the Slices+1 slice boundaries, oldest first; slice t is
// [Bounds[t], Bounds[t+1]). Months are calendar months counted back from To.
func (p EmergingParams) Bounds() []time.Time {
	b := make([]time.Time, p.Slices+1)
	for i := 0; i <= p.Slices; i++ {
		back := p.Slices - i
		switch p.Slice {
		case "day":
			b[i] = p.To.AddDate(0, 0, -back)
		case "week":
			b[i] = p.To.AddDate(0, 0, -7*back)
		default:
			b[i] = p.To.AddDate(0, -back, 0)
		}
	}
	return b
}

// Check validates the parameters.
func (p *EmergingParams) Check() error {
	switch {
	case p.Res < MinRes || p.Res > MaxRes:
		return paramErr("res", "must be %d..%d", MinRes, MaxRes)
	case p.K < MinK || p.K > MaxK:
		return paramErr("k", "must be %d..%d", MinK, MaxK)
	case p.Slice != "day" && p.Slice != "week" && p.Slice != "month":
		return paramErr("slice", "must be day, week or month")
	case p.Slices < MinSlices || p.Slices > MaxSlices:
		return paramErr("slices", "must be %d..%d", MinSlices, MaxSlices)
	case p.To.IsZero():
		return paramErr("to", "not set")
	}
	if b := p.Bounds(); b[len(b)-1].Sub(b[0]) > MaxEmergingWindow {
		return paramErr("slices", "window longer than %d days", int(MaxEmergingWindow.Hours()/24))
	}
	return nil
}

// EmergingCell is one cell's pattern.
type EmergingCell struct {
	Cell     int64
	Pattern  stats.Category
	Trend    stats.Trend
	LastZ    float64 // Gi* z in the final slice
	Counts   []int   // events per slice, oldest first, as released (package sdc)
	Sum      int
	Category string // Pattern as text
}

// EmergingResult is the outcome of Emerging.
type EmergingResult struct {
	Params      EmergingParams
	Area        Area
	Status      string
	Reason      string
	Bounds      []time.Time
	SliceEvents []int64 // events per slice in the study area (released counts)
	Dropped     int64   // events outside the study area (released)
	NCells      int
	Patterns    map[string]int // cells per pattern (patterns other than "no pattern")
	Cells       []EmergingCell // every study-area cell, ascending H3 index
}

// Emerging runs an emerging hot spot analysis (Gi* per slice with FDR, then a
// Mann-Kendall trend on each cell's z-scores; see geo/hotspot.Emerging).
func (s *Service) Emerging(ctx context.Context, p EmergingParams) (*EmergingResult, error) {
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
	r := &EmergingResult{Params: p, Area: a.Area, Status: StatusOK, Bounds: p.Bounds(), Patterns: map[string]int{}}
	r.SliceEvents = make([]int64, p.Slices)
	w, err := s.weights(a, p.Res, p.K)
	if errors.Is(err, stats.ErrTooFewCells) {
		r.Status, r.Reason = StatusNothingToFind, fmt.Sprintf("no cell centre at resolution %d lies inside the area", p.Res)
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	counts, err := s.eventSliceCounts(ctx, p.Res, r.Bounds, p.Category, a.prefix)
	if err != nil {
		return nil, err
	}
	n := w.N()
	r.NCells = n
	// Counts per slice and cell as the disclosure-control rule releases them
	// (package sdc): every figure below is derived from released counts.
	raw := make([][]protected, p.Slices)
	for t := range raw {
		raw[t] = make([]protected, n)
	}
	perSlice := make([]protected, p.Slices)
	var all, dropped protected
	for _, c := range counts {
		i, ok := w.Index(h3Cell(c.cell))
		if !ok {
			dropped.add(c.n, c.key)
			continue
		}
		raw[c.slice][i].add(c.n, c.key)
		perSlice[c.slice].add(c.n, c.key)
		all.add(c.n, c.key)
	}
	x := make([][]float64, p.Slices)
	for t := range x {
		x[t] = make([]float64, n)
		for i := range n {
			x[t][i] = float64(raw[t][i].release(s.rule, sdc.Events))
		}
		r.SliceEvents[t] = perSlice[t].release(s.rule, sdc.Events)
	}
	r.Dropped = dropped.release(s.rule, sdc.Events)
	total := all.release(s.rule, sdc.Events)
	switch {
	case n < 2:
		r.Status, r.Reason = StatusNothingToFind, fmt.Sprintf("the study area has %d cell at resolution %d: choose a finer resolution or a larger area", n, p.Res)
		return r, nil
	case total < MinEvents:
		r.Status, r.Reason = StatusNothingToFind, fmt.Sprintf("only %d events (as released, rounded to a multiple of %d; 0 below it) in the study area and window: at least %d are needed", total, s.rule.K(), MinEvents)
		return r, nil
	}
	e, err := stats.Emerging(w, x, stats.EmergingOptions{FDR: true})
	if errors.Is(err, stats.ErrTooFewCells) {
		r.Status, r.Reason = StatusNothingToFind, "the study area has too few cells"
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: emerging: %w", err)
	}
	cells := w.Cells()
	r.Cells = make([]EmergingCell, n)
	for i, c := range cells {
		ec := EmergingCell{Cell: int64(c), Pattern: e.Category[i], Trend: e.Trend[i], LastZ: e.Z[p.Slices-1][i], Counts: make([]int, p.Slices)}
		for t := range x {
			ec.Counts[t] = int(x[t][i])
			ec.Sum += ec.Counts[t]
		}
		ec.Category = ec.Pattern.String()
		if ec.Pattern != stats.NoPattern {
			r.Patterns[ec.Category]++
		}
		r.Cells[i] = ec
	}
	return r, nil
}
