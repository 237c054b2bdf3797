package hotspot

import (
	"cmp"
	"math"
	"slices"
)

// PTwoSided returns the two-sided p-value of a standard normal z-score,
// p = erfc(|z|/sqrt 2), accurate far into the tail.
func PTwoSided(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// PValues returns PTwoSided of each z-score.
func PValues(z []float64) []float64 {
	p := make([]float64, len(z))
	parallel(len(z), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			p[i] = PTwoSided(z[i])
		}
	})
	return p
}

// Bin returns the confidence bin of a cell: +3/+2/+1 for a hot spot (z > 0)
// at two-sided p <= 0.01/0.05/0.10, -3/-2/-1 for a cold spot, 0 otherwise.
func Bin(z, p float64) int8 {
	var b int8
	switch {
	case p <= 0.01:
		b = 3
	case p <= 0.05:
		b = 2
	case p <= 0.10:
		b = 1
	default:
		return 0
	}
	if z < 0 {
		return -b
	}
	if z == 0 {
		return 0
	}
	return b
}

// Bins applies Bin to each cell.
func Bins(z, p []float64) []int8 {
	b := make([]int8, len(z))
	for i := range z {
		b[i] = Bin(z[i], p[i])
	}
	return b
}

// AdjustBH returns Benjamini-Hochberg adjusted p-values, as R
// p.adjust(p, "BH"): with p sorted ascending, q_(i) = min_{j>=i} min(1, n/j p_(j)),
// the step-up cumulative minimum from the largest p down, capped at 1.
func AdjustBH(p []float64) []float64 {
	n := len(p)
	q := make([]float64, n)
	if n == 0 {
		return q
	}
	type item struct {
		p   float64
		idx int32
	}
	order := make([]item, n)
	for i, v := range p {
		order[i] = item{v, int32(i)}
	}
	slices.SortFunc(order, func(a, b item) int { return cmp.Compare(a.p, b.p) })
	running := 1.0
	for r := n - 1; r >= 0; r-- {
		v := float64(n) / float64(r+1) * order[r].p
		running = min(running, v)
		q[order[r].idx] = running
	}
	return q
}

// Analysis is the per-cell outcome of a hotspot run in observation order.
type Analysis struct {
	Z      []float64 // z-scores (0 where undefined)
	P      []float64 // two-sided p-values
	Bin    []int8    // confidence bins from P
	BinFDR []int8    // confidence bins from Benjamini-Hochberg adjusted P
	// Undefined lists cells whose z-score is undefined (see Result).
	Undefined []int32
}

// Analyze runs LocalG and derives p-values, bins and FDR-corrected bins.
func Analyze(w *Weights, x []float64, opt Options) (*Analysis, error) {
	r, err := LocalG(w, x, opt)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Z: r.Z, P: PValues(r.Z), Undefined: r.Undefined}
	a.Bin = Bins(a.Z, a.P)
	a.BinFDR = Bins(a.Z, AdjustBH(a.P))
	return a, nil
}
