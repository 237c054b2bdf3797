package hotspot

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Stat selects the local G statistic.
type Stat uint8

const (
	// GiStar is Getis-Ord Gi*: the cell itself is in its own neighbourhood.
	GiStar Stat = iota
	// Gi is Getis-Ord Gi: the cell is excluded from its neighbourhood and the
	// mean and variance are taken over the n-1 other cells (as spdep localG).
	Gi
)

// Style selects the weight scheme applied to the binary neighbour structure.
type Style uint8

const (
	// Binary weights: w_ij = 1 for each neighbour (and for self under Gi*).
	Binary Style = iota
	// RowStandardised weights: w_ij = 1/c_i where c_i is the neighbourhood
	// size (including self under Gi*), so W_i = 1 and S1_i = 1/c_i.
	RowStandardised
	// RowStandardisedESDA is row-standardised weights with the variance PySAL
	// esda G_Local uses: the row sum W_i (= 1) in place of S1_i, so
	// z_i = (lag_i - xbar_i)/s_i. Provided only to reproduce esda; prefer
	// RowStandardised (the textbook form, as R spdep).
	RowStandardisedESDA
)

// Options selects the statistic and weight style. The zero value is binary
// Gi*, the statistic the hotspot map uses.
type Options struct {
	Stat  Stat
	Style Style
}

// Result holds per-cell z-scores in observation order.
type Result struct {
	// Z is the z-score of each cell. Cells whose variance term is zero (for
	// example a cell whose neighbourhood is the whole study area, or an
	// island with no neighbours under Gi) get Z = 0 and are listed in
	// Undefined; Z is never NaN.
	Z []float64
	// Undefined lists the cells whose z-score is undefined (set to 0).
	Undefined []int32
}

// parallelMin is the size below which statistics run on one goroutine.
const parallelMin = 1 << 15

// parallel runs f over [0, n) split into GOMAXPROCS chunks.
func parallel(n int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers < 2 {
		f(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(n, lo+chunk))
	}
	wg.Wait()
}

// moments checks x and returns its mean, the sum of squared deviations
// D = sum (x_i - mean)^2 and the largest |x_i|.
func moments(x []float64) (mean, d, maxAbs float64, err error) {
	var s float64
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, 0, fmt.Errorf("value %d: %w", i, ErrBadValue)
		}
		s += v
		maxAbs = max(maxAbs, math.Abs(v))
	}
	mean = s / float64(len(x))
	for _, v := range x {
		d += (v - mean) * (v - mean)
	}
	return mean, d, maxAbs, nil
}

// rescaled returns x scaled to max |x| = 1 when its magnitude is extreme
// enough for squares to overflow or underflow; the z-scores (and local
// Moran's I, E[I], Var[I]) are invariant to scaling x. Otherwise x itself.
func rescaled(x []float64, maxAbs float64) ([]float64, bool) {
	if maxAbs == 0 || (maxAbs >= 1e-100 && maxAbs <= 1e100) {
		return x, false
	}
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v / maxAbs
	}
	return y, true
}

// noVariance reports whether D is zero up to rounding of values of size maxAbs.
func noVariance(d, maxAbs float64, n int) bool {
	t := 1e-12 * maxAbs
	return d <= float64(n)*t*t
}

// LocalG computes Getis-Ord Gi* or Gi z-scores (Getis & Ord 1992, Ord &
// Getis 1995) for values x in observation order, as spdep localG does:
//
//	z_i = (sum_j w_ij x_j - W_i xbar_i) / sqrt( s_i^2 (m S1_i - W_i^2) / (m - 1) )
//
// with W_i = sum_j w_ij, S1_i = sum_j w_ij^2. For Gi*, m = n, xbar_i is the
// mean of all n values and s_i^2 their population variance. For Gi, m = n-1
// and xbar_i, s_i^2 are the mean and population variance of the n-1 values
// other than x_i.
//
// Errors: ErrTooFewCells (n < 2 for Gi*, n < 3 for Gi), ErrNoVariance /
// ErrNoEvents (all values equal / all zero), ErrBadValue, ErrLengthMismatch.
func LocalG(w *Weights, x []float64, opt Options) (*Result, error) {
	n := w.N()
	if len(x) != n {
		return nil, fmt.Errorf("hotspot: local G: %d values for %d cells: %w", len(x), n, ErrLengthMismatch)
	}
	need := 2
	if opt.Stat == Gi {
		need = 3
	}
	if n < need {
		return nil, fmt.Errorf("hotspot: local G: %d cells, need %d: %w", n, need, ErrTooFewCells)
	}
	mean, d, maxAbs, err := moments(x)
	if err != nil {
		return nil, fmt.Errorf("hotspot: local G: %w", err)
	}
	if y, ok := rescaled(x, maxAbs); ok {
		x = y
		mean, d, maxAbs, _ = moments(x)
	}
	if maxAbs == 0 {
		return nil, fmt.Errorf("hotspot: local G: %w", ErrNoEvents)
	}
	if noVariance(d, maxAbs, n) {
		return nil, fmt.Errorf("hotspot: local G: %w", ErrNoVariance)
	}
	r := &Result{Z: make([]float64, n)}
	if opt.Stat == GiStar && opt.Style == Binary {
		giStarBinary(w, x, mean, math.Sqrt(d/float64(n)), r.Z)
	} else {
		localGGeneral(w, x, opt, mean, d, maxAbs, r.Z)
	}
	r.Undefined = undefinedCells(w, opt, r.Z)
	return r, nil
}

// giStarBinary is the fast path for binary Gi*: W_i = S1_i = degree+1, so the
// variance factor depends only on the degree and is tabulated once.
func giStarBinary(w *Weights, x []float64, mean, s float64, z []float64) {
	n := w.N()
	maxDeg := 0
	for i := range n {
		maxDeg = max(maxDeg, w.Degree(i))
	}
	nf := float64(n)
	inv := make([]float64, maxDeg+2) // inv[W] = 1 / (S sqrt((n W - W^2)/(n-1))), 0 if undefined
	for W := 1; W < len(inv); W++ {
		wf := float64(W)
		v := (nf*wf - wf*wf) / (nf - 1)
		if v > 0 {
			inv[W] = 1 / (s * math.Sqrt(v))
		}
	}
	offs, nbrs := w.offsets, w.nbrs
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a, b := offs[i], offs[i+1]
			lag := x[i]
			for _, j := range nbrs[a:b] {
				lag += x[j]
			}
			W := int(b-a) + 1
			z[i] = (lag - mean*float64(W)) * inv[W]
		}
	})
}

// localGGeneral handles Gi and the row-standardised styles.
func localGGeneral(w *Weights, x []float64, opt Options, mean, d, maxAbs float64, z []float64) {
	n := w.N()
	nf := float64(n)
	star := opt.Stat == GiStar
	parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			nb := w.Neighbors(i)
			var sum float64
			for _, j := range nb {
				sum += x[j]
			}
			c := float64(len(nb))
			m, xbar, s2 := nf, mean, d/nf
			if star {
				sum += x[i]
				c++
			} else {
				// Mean and population variance of the n-1 other values:
				// sum_{j!=i} (x_j - xbar_i)^2 = D - (x_i - mean)^2 n/(n-1).
				m = nf - 1
				xbar = (nf*mean - x[i]) / m
				dev := x[i] - mean
				s2 = (d - dev*dev*nf/m) / m
				if noVariance(s2*m, maxAbs, n) {
					z[i] = math.NaN() // marked undefined below
					continue
				}
			}
			lag, W, S1 := sum, c, c
			if opt.Style == RowStandardised || opt.Style == RowStandardisedESDA {
				if c == 0 {
					z[i] = math.NaN()
					continue
				}
				lag, W, S1 = sum/c, 1, 1/c
				if opt.Style == RowStandardisedESDA {
					S1 = W
				}
			}
			v := m*S1 - W*W
			if v <= 1e-12*m*S1 {
				z[i] = math.NaN()
				continue
			}
			z[i] = (lag - W*xbar) / math.Sqrt(s2*v/(m-1))
		}
	})
}

// undefinedCells lists and zeroes the cells whose variance term is zero.
// The binary Gi* fast path leaves those at exactly 0 with W_i = n.
func undefinedCells(w *Weights, opt Options, z []float64) []int32 {
	var out []int32
	n := w.N()
	for i, v := range z {
		if math.IsNaN(v) {
			z[i] = 0
			out = append(out, int32(i))
		} else if opt.Stat == GiStar && opt.Style == Binary && w.Degree(i)+1 >= n {
			out = append(out, int32(i))
		}
	}
	return out
}
