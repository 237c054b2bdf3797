package hotspot

import (
	"fmt"
	"math"
)

// Rates returns the rate events_i / base_i * per for each cell, e.g. events
// per 1,000 households with per = 1000 and base = households (or per person
// with per = 1 and base = residents).
//
// A cell with zero base (no households) gets rate 0: with nobody at risk
// there is no rate, and a value of 0 cannot make an empty cell a hot spot.
// Events in such cells are therefore not counted; the caller should report
// them separately if they matter. Negative or non-finite inputs are errors.
func Rates(events, base []float64, per float64) ([]float64, error) {
	if err := checkRateInput(events, base, per); err != nil {
		return nil, fmt.Errorf("hotspot: rates: %w", err)
	}
	r := make([]float64, len(events))
	for i := range events {
		if base[i] > 0 {
			r[i] = events[i] / base[i] * per
		}
	}
	if err := checkFinite(r); err != nil {
		return nil, fmt.Errorf("hotspot: rates: %w", err)
	}
	return r, nil
}

// checkFinite rejects rates that overflowed (events huge against base).
func checkFinite(r []float64) error {
	for i, v := range r {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("rate of cell %d overflows: %w", i, ErrBadValue)
		}
	}
	return nil
}

// EBRates returns global empirical-Bayes smoothed rates (Marshall 1991; as
// PySAL esda Empirical_Bayes and GeoDa "Empirical Bayes" rate smoothing),
// scaled by per. With raw rates r_i = e_i/p_i:
//
//	b   = sum e / sum p                    (global mean rate)
//	s^2 = sum p_i (r_i - b)^2 / sum p      (population-weighted variance)
//	a   = max(0, s^2 - b / mean(p))        (between-cell variance; GeoDa clamps at 0)
//	w_i = a / (a + b/p_i)
//	rate_i = per * (w_i r_i + (1 - w_i) b)
//
// Small-base cells are pulled toward b, large-base cells keep their own rate.
// The estimates b, s^2, mean(p) use only cells with p_i > 0; cells with zero
// base get rate 0 (see Rates). If a = 0 every cell gets b (no evidence of
// variation beyond Poisson noise); if there are no events every rate is 0.
func EBRates(events, base []float64, per float64) ([]float64, error) {
	if err := checkRateInput(events, base, per); err != nil {
		return nil, fmt.Errorf("hotspot: empirical Bayes rates: %w", err)
	}
	var se, sp float64
	var np int
	for i := range events {
		if base[i] > 0 {
			se += events[i]
			sp += base[i]
			np++
		}
	}
	r := make([]float64, len(events))
	if np == 0 || se == 0 {
		return r, nil
	}
	b := se / sp
	var ss float64
	for i := range events {
		if base[i] > 0 {
			d := events[i]/base[i] - b
			ss += base[i] * d * d
		}
	}
	a := max(0, ss/sp-b/(sp/float64(np)))
	for i := range events {
		p := base[i]
		if p <= 0 {
			continue
		}
		wt := a / (a + b/p)
		r[i] = per * (wt*events[i]/p + (1-wt)*b)
	}
	if err := checkFinite(r); err != nil {
		return nil, fmt.Errorf("hotspot: empirical Bayes rates: %w", err)
	}
	return r, nil
}

func checkRateInput(events, base []float64, per float64) error {
	if len(events) != len(base) {
		return fmt.Errorf("%d events for %d bases: %w", len(events), len(base), ErrLengthMismatch)
	}
	if !(per > 0) || math.IsInf(per, 0) {
		return fmt.Errorf("per = %v: %w", per, ErrBadValue)
	}
	for i := range events {
		e, p := events[i], base[i]
		if !(e >= 0) || !(p >= 0) || math.IsInf(e, 0) || math.IsInf(p, 0) {
			return fmt.Errorf("cell %d (events %v, base %v): %w", i, e, p, ErrBadValue)
		}
	}
	return nil
}
