package hotspot

import (
	"fmt"
	"math"
)

// ZCritical returns the two-sided critical z for significance alpha, the z
// with PTwoSided(z) = alpha (1.6449 for 0.10, 1.9600 for 0.05).
func ZCritical(alpha float64) float64 {
	if !(alpha > 0) {
		return math.Inf(1)
	}
	if alpha >= 1 {
		return 0
	}
	lo, hi := 0.0, 40.0
	for range 200 {
		mid := (lo + hi) / 2
		if PTwoSided(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// MinGiStarZ returns, per cell, the lowest binary Gi* z-score the cell could
// show with non-negative values: the z it would have if every value in its
// neighbourhood (itself included) were 0, the global mean and S held at
// their observed values:
//
//	zmin_i = -mean W_i / (S sqrt((n W_i - W_i^2)/(n-1)))
//
// With mostly-zero counts the mean is small against S, so zmin_i is close to
// 0 and no cell can become a significant cold spot: compare with
// ColdSpotReachable to tell the user why the map shows no cold spots.
// Cells whose variance term is zero get 0. Errors as LocalG.
func MinGiStarZ(w *Weights, x []float64) ([]float64, error) {
	n := w.N()
	if len(x) != n {
		return nil, fmt.Errorf("hotspot: min Gi* z: %d values for %d cells: %w", len(x), n, ErrLengthMismatch)
	}
	if n < 2 {
		return nil, fmt.Errorf("hotspot: min Gi* z: %w", ErrTooFewCells)
	}
	mean, d, maxAbs, err := moments(x)
	if err != nil {
		return nil, fmt.Errorf("hotspot: min Gi* z: %w", err)
	}
	if y, ok := rescaled(x, maxAbs); ok {
		x = y
		mean, d, maxAbs, _ = moments(x)
	}
	if maxAbs == 0 {
		return nil, fmt.Errorf("hotspot: min Gi* z: %w", ErrNoEvents)
	}
	if noVariance(d, maxAbs, n) {
		return nil, fmt.Errorf("hotspot: min Gi* z: %w", ErrNoVariance)
	}
	s, nf := math.Sqrt(d/float64(n)), float64(n)
	out := make([]float64, n)
	for i := range n {
		W := float64(w.Degree(i) + 1)
		if v := (nf*W - W*W) / (nf - 1); v > 0 {
			out[i] = -mean * W / (s * math.Sqrt(v))
		}
	}
	return out, nil
}

// ColdSpotReachable reports, per cell, whether a significant cold spot at
// two-sided alpha is attainable at all: MinGiStarZ <= -ZCritical(alpha)
// (-1.645 at alpha = 0.10).
func ColdSpotReachable(w *Weights, x []float64, alpha float64) ([]bool, error) {
	zmin, err := MinGiStarZ(w, x)
	if err != nil {
		return nil, err
	}
	zc := ZCritical(alpha)
	out := make([]bool, len(zmin))
	for i, z := range zmin {
		out[i] = z <= -zc
	}
	return out, nil
}
