package hotspot

import (
	"fmt"
	"math"
)

// MoranResult holds local Moran's I per cell (Anselin 1995) in observation
// order. Z is 0 (never NaN) where Var is 0, and those cells are listed in
// Undefined (for example islands without neighbours).
type MoranResult struct {
	I, E, Var, Z []float64
	Undefined    []int32
}

// LocalMoran computes local Moran's I with row-standardised weights under
// the randomisation assumption, conditional on the cell's own value, as R
// spdep localmoran (>= 1.2, defaults conditional = TRUE, mlvar = TRUE):
//
//	z_i = x_i - mean, m2 = sum z^2 / n, lag_i = sum_j w_ij z_j, w_ij = 1/|N_i|
//	I_i   = z_i lag_i / m2
//	E[I_i] = -z_i^2 W_i / ((n-1) m2)
//	Var[I_i] = (z_i/m2)^2 n/(n-2) (S1_i - W_i^2/(n-1)) (m2 - z_i^2/(n-1))
//	Z_i = (I_i - E[I_i]) / sqrt(Var[I_i])
//
// with W_i = sum_j w_ij (1, or 0 for an island) and S1_i = sum_j w_ij^2.
func LocalMoran(w *Weights, x []float64) (*MoranResult, error) {
	n := w.N()
	if len(x) != n {
		return nil, fmt.Errorf("hotspot: local moran: %d values for %d cells: %w", len(x), n, ErrLengthMismatch)
	}
	if n < 3 {
		return nil, fmt.Errorf("hotspot: local moran: %d cells, need 3: %w", n, ErrTooFewCells)
	}
	mean, d, maxAbs, err := moments(x)
	if err != nil {
		return nil, fmt.Errorf("hotspot: local moran: %w", err)
	}
	if y, ok := rescaled(x, maxAbs); ok {
		x = y
		mean, d, maxAbs, _ = moments(x)
	}
	if maxAbs == 0 {
		return nil, fmt.Errorf("hotspot: local moran: %w", ErrNoEvents)
	}
	if noVariance(d, maxAbs, n) {
		return nil, fmt.Errorf("hotspot: local moran: %w", ErrNoVariance)
	}
	nf := float64(n)
	m2 := d / nf
	r := &MoranResult{I: make([]float64, n), E: make([]float64, n), Var: make([]float64, n), Z: make([]float64, n)}
	for i := range n {
		nb := w.Neighbors(i)
		zi := x[i] - mean
		if len(nb) == 0 {
			r.Undefined = append(r.Undefined, int32(i))
			continue
		}
		c := float64(len(nb))
		var lag float64
		for _, j := range nb {
			lag += x[j] - mean
		}
		lag /= c
		W, S1 := 1.0, 1/c
		r.I[i] = zi / m2 * lag
		r.E[i] = -(zi * zi * W) / ((nf - 1) * m2)
		r.Var[i] = (zi / m2) * (zi / m2) * (nf / (nf - 2)) * (S1 - W*W/(nf-1)) * (m2 - zi*zi/(nf-1))
		if r.Var[i] > 0 {
			r.Z[i] = (r.I[i] - r.E[i]) / math.Sqrt(r.Var[i])
		} else {
			r.Undefined = append(r.Undefined, int32(i))
		}
	}
	return r, nil
}
