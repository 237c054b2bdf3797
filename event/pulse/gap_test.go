package pulse

import (
	"testing"
	"time"

	"github.com/onegrid/onegrid/clock"
)

// TestGap: gaps between new events average the configured rate's and are never
// longer than three mean gaps; the hour's factor scales them.
func TestGap(t *testing.T) {
	for _, tc := range []struct {
		rate, factor float64
		mean         time.Duration
	}{{4, 1, 15 * time.Second}, {4, 2, 7500 * time.Millisecond}, {60, 1, time.Second}} {
		p := New(nil, Config{Rate: tc.rate, Now: clock.Fixed(time.Date(2026, 3, 1, 9, 0, 0, 0, clock.China)), Seed: 1})
		for h := range p.factor {
			p.factor[h] = tc.factor
		}
		const n = 20000
		var sum, longest time.Duration
		for range n {
			g := p.gap()
			sum += g
			longest = max(longest, g)
		}
		limit := time.Duration(3 * float64(time.Minute) / tc.rate)
		// An exponential capped at 3 mean gaps (3/f of the hour's mean) has the
		// mean (1 - e^-3f) of the uncapped one.
		want := map[float64]float64{1: 0.9502, 2: 0.99752}[tc.factor] * float64(tc.mean)
		if got := float64(sum) / n; got < 0.97*want || got > 1.03*want {
			t.Errorf("rate %g, factor %g: mean gap %s, want about %s", tc.rate, tc.factor, time.Duration(got), time.Duration(want))
		}
		if longest > limit {
			t.Errorf("rate %g: a gap of %s, want at most %s", tc.rate, longest, limit)
		}
	}
}
