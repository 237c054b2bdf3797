package hotspot

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Trend is the result of a Mann-Kendall trend test on a series.
type Trend struct {
	S   float64 // sum over i<j of sign(x_j - x_i)
	Var float64 // variance of S with tie correction
	Z   float64 // (S-1)/sqrt(Var) for S>0, (S+1)/sqrt(Var) for S<0, 0 otherwise
	P   float64 // two-sided p-value of Z
}

// MannKendall runs the Mann-Kendall trend test (Mann 1945, Kendall 1975):
//
//	S   = sum_{i<j} sign(x_j - x_i)
//	Var = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18
//
// where t_g is the size of the g-th group of tied (exactly equal) values,
// with continuity correction Z = (S - sign S)/sqrt(Var) and two-sided normal
// p-value. With fewer than two values or all values tied, Var = 0 and the
// result is S = 0, Z = 0, P = 1.
func MannKendall(x []float64) Trend {
	return mannKendall(x, make([]float64, len(x)))
}

// mannKendall is MannKendall with a caller-owned scratch slice of len(x).
func mannKendall(x, scratch []float64) Trend {
	n := len(x)
	var s int
	for i := range n {
		xi := x[i]
		for _, xj := range x[i+1:] {
			if xj > xi {
				s++
			} else if xj < xi {
				s--
			}
		}
	}
	// Tie groups: runs of equal values in sorted order.
	sorted := scratch[:n]
	copy(sorted, x)
	slices.Sort(sorted)
	nf := float64(n)
	v := nf * (nf - 1) * (2*nf + 5)
	for i := 0; i < n; {
		j := i + 1
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		t := float64(j - i)
		v -= t * (t - 1) * (2*t + 5)
		i = j
	}
	v /= 18
	if v <= 0 {
		return Trend{P: 1}
	}
	tr := Trend{S: float64(s), Var: v, P: 1}
	switch {
	case s > 0:
		tr.Z = float64(s-1) / math.Sqrt(v)
	case s < 0:
		tr.Z = float64(s+1) / math.Sqrt(v)
	}
	tr.P = PTwoSided(tr.Z)
	return tr
}

// Category is an emerging hot/cold spot pattern, after ESRI's Emerging Hot
// Spot Analysis. "Significant" means the cell's Gi* for a time slice is
// significant at EmergingOptions.Alpha (two-sided; 90 % confidence by
// default), hot for z > 0 and cold for z < 0. "90 %" means at least 90 % of
// all slices. A trend is the Mann-Kendall test on the cell's series of Gi*
// z-scores, significant at EmergingOptions.TrendAlpha.
//
// Rules are tried in the order listed; the first that matches wins. The
// cold patterns are the same rules with hot and cold swapped.
type Category int8

const (
	// NoPattern: none of the patterns below.
	NoPattern Category = iota
	// NewHot: the final slice is a significant hot spot and no earlier slice
	// was (the final slice is the only hot one).
	NewHot
	// ConsecutiveHot: a single uninterrupted run of at least two significant
	// hot slices ending with the final slice, never hot before the run, and
	// fewer than 90 % of all slices hot.
	ConsecutiveHot
	// IntensifyingHot: hot in at least 90 % of slices including the final
	// one, with a significant upward trend in the Gi* z-scores.
	IntensifyingHot
	// PersistentHot: hot in at least 90 % of slices including the final one,
	// with no significant trend.
	PersistentHot
	// DiminishingHot: hot in at least 90 % of slices including the final
	// one, with a significant downward trend.
	DiminishingHot
	// SporadicHot: the final slice is hot, the cell has been on-again,
	// off-again hot, fewer than 90 % of slices are hot and no slice is a
	// significant cold spot.
	SporadicHot
	// OscillatingHot: the final slice is hot, some earlier slice was a
	// significant cold spot, and fewer than 90 % of slices are hot.
	OscillatingHot
	// HistoricalHot: the final slice is not hot, but at least 90 % of slices
	// were hot.
	HistoricalHot
	// NewCold: cold counterpart of NewHot.
	NewCold
	// ConsecutiveCold: cold counterpart of ConsecutiveHot.
	ConsecutiveCold
	// IntensifyingCold: cold in at least 90 % of slices including the final
	// one, with a significant downward trend (z-scores growing more negative).
	IntensifyingCold
	// PersistentCold: cold counterpart of PersistentHot.
	PersistentCold
	// DiminishingCold: cold in at least 90 % of slices including the final
	// one, with a significant upward trend (z-scores returning toward 0).
	DiminishingCold
	// SporadicCold: cold counterpart of SporadicHot.
	SporadicCold
	// OscillatingCold: cold counterpart of OscillatingHot.
	OscillatingCold
	// HistoricalCold: cold counterpart of HistoricalHot.
	HistoricalCold
)

var categoryNames = [...]string{
	"no pattern",
	"new hot spot", "consecutive hot spot", "intensifying hot spot", "persistent hot spot",
	"diminishing hot spot", "sporadic hot spot", "oscillating hot spot", "historical hot spot",
	"new cold spot", "consecutive cold spot", "intensifying cold spot", "persistent cold spot",
	"diminishing cold spot", "sporadic cold spot", "oscillating cold spot", "historical cold spot",
}

func (c Category) String() string {
	if c >= 0 && int(c) < len(categoryNames) {
		return categoryNames[c]
	}
	return fmt.Sprintf("Category(%d)", int8(c))
}

// Classify assigns the emerging pattern of one cell from its per-slice
// significance (+1 significant hot, -1 significant cold, 0 neither; oldest
// first) and the Mann-Kendall trend of its Gi* z-scores.
func Classify(sig []int8, trend Trend, trendAlpha float64) Category {
	if len(sig) == 0 {
		return NoPattern
	}
	up := trend.P <= trendAlpha && trend.Z > 0
	down := trend.P <= trendAlpha && trend.Z < 0
	if c := classifySide(sig, 1, up, down); c != NoPattern {
		return c
	}
	// Cold: the same rules with hot/cold and the trend direction swapped;
	// the hot categories map to their cold counterparts by an offset.
	if c := classifySide(sig, -1, down, up); c != NoPattern {
		return c + (NewCold - NewHot)
	}
	return NoPattern
}

// classifySide applies the hot rules with "hot" meaning sig == side; toward
// is a significant trend toward stronger clustering of that side.
func classifySide(sig []int8, side int8, toward, away bool) Category {
	n := len(sig)
	hot, opposite := 0, 0
	for _, s := range sig {
		switch s {
		case side:
			hot++
		case -side:
			opposite++
		}
	}
	// hot >= 90 % of n, in integers.
	mostly := 10*hot >= 9*n
	final := sig[n-1] == side
	if !final {
		if mostly {
			return HistoricalHot
		}
		return NoPattern
	}
	if mostly {
		switch {
		case toward:
			return IntensifyingHot
		case away:
			return DiminishingHot
		default:
			return PersistentHot
		}
	}
	if hot == 1 {
		return NewHot
	}
	run := 0
	for i := n - 1; i >= 0 && sig[i] == side; i-- {
		run++
	}
	if run == hot { // run >= 2 here, and never hot before the run
		return ConsecutiveHot
	}
	if opposite > 0 {
		return OscillatingHot
	}
	return SporadicHot
}

// EmergingOptions configures Emerging. Zero values take the defaults.
type EmergingOptions struct {
	// Alpha is the two-sided significance for a slice's Gi* (default 0.10,
	// the 90 % confidence ESRI uses).
	Alpha float64
	// TrendAlpha is the significance of the Mann-Kendall trend (default 0.10).
	TrendAlpha float64
	// FDR applies Benjamini-Hochberg within each slice before testing Alpha.
	FDR bool
}

// EmergingResult is the outcome of Emerging, per cell in observation order.
type EmergingResult struct {
	Category []Category
	Trend    []Trend
	// Z[t][i] is the Gi* z-score of cell i in slice t (0 where undefined).
	Z [][]float64
	// SliceErr[t] is nil, or why slice t has no Gi* (ErrNoEvents,
	// ErrNoVariance): such a slice counts as not significant everywhere and
	// contributes z = 0 to the trend.
	SliceErr []error
}

// Emerging classifies each cell into an emerging hot/cold spot pattern.
// counts[t][i] is the value of cell i (observation order of w) in time slice
// t, oldest first; the caller chooses the slice length (day, week, month).
//
// Each slice is analysed with binary Gi* over the spatial weights w alone
// (a purely spatial neighbourhood per slice, as the domain asks). ESRI's
// space-time cube instead uses a space-time neighbourhood (the cell's
// spatial neighbours in the current and a number of previous slices); the
// pattern rules are the same. The trend is MannKendall on each cell's Gi*
// z-score series, and Classify assigns the pattern.
func Emerging(w *Weights, counts [][]float64, opt EmergingOptions) (*EmergingResult, error) {
	if opt.Alpha == 0 {
		opt.Alpha = 0.10
	}
	if opt.TrendAlpha == 0 {
		opt.TrendAlpha = 0.10
	}
	n, T := w.N(), len(counts)
	if T == 0 {
		return nil, errors.New("hotspot: emerging: no time slices")
	}
	if n < 2 {
		return nil, fmt.Errorf("hotspot: emerging: %d cells: %w", n, ErrTooFewCells)
	}
	res := &EmergingResult{
		Category: make([]Category, n),
		Trend:    make([]Trend, n),
		Z:        make([][]float64, T),
		SliceErr: make([]error, T),
	}
	sig := make([][]int8, T)
	for t, x := range counts {
		if len(x) != n {
			return nil, fmt.Errorf("hotspot: emerging: slice %d has %d values for %d cells: %w", t, len(x), n, ErrLengthMismatch)
		}
		sig[t] = make([]int8, n)
		r, err := LocalG(w, x, Options{})
		if errors.Is(err, ErrNoVariance) {
			res.Z[t] = make([]float64, n)
			res.SliceErr[t] = err
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("hotspot: emerging: slice %d: %w", t, err)
		}
		res.Z[t] = r.Z
		p := PValues(r.Z)
		if opt.FDR {
			p = AdjustBH(p)
		}
		for i, z := range r.Z {
			if p[i] <= opt.Alpha {
				if z > 0 {
					sig[t][i] = 1
				} else if z < 0 {
					sig[t][i] = -1
				}
			}
		}
	}
	parallel(n, func(lo, hi int) {
		series, scratch := make([]float64, T), make([]float64, T)
		cellSig := make([]int8, T)
		for i := lo; i < hi; i++ {
			for t := range T {
				series[t] = res.Z[t][i]
				cellSig[t] = sig[t][i]
			}
			res.Trend[i] = mannKendall(series, scratch)
			res.Category[i] = Classify(cellSig, res.Trend[i], opt.TrendAlpha)
		}
	})
	return res, nil
}
