package sdc_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onegrid/onegrid/sdc"
)

// TestRoundMultiples: every released value is a multiple of the base and one of
// the two multiples around the count; multiples are released as they are.
func TestRoundMultiples(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 3, 5, 7, 10, 100} {
		r := sdc.Must(k)
		b := int64(k)
		for range 20000 {
			v := rng.Int64N(1000)
			key := rng.Int64()
			f := sdc.Figure(1 + rng.IntN(6))
			got := r.Round(v, key, f)
			lo := v - v%b
			if got%b != 0 || (got != lo && got != lo+b) {
				t.Fatalf("k %d: Round(%d) = %d, want %d or %d", k, v, got, lo, lo+b)
			}
			if v%b == 0 && got != v {
				t.Fatalf("k %d: Round(%d) = %d, want it unchanged", k, v, got)
			}
			if again := r.Round(v, key, f); again != got {
				t.Fatalf("k %d: Round(%d) gave %d then %d", k, v, got, again)
			}
		}
	}
}

// TestRoundUnbiased: over many record sets (cell keys), the share rounded up is
// (v mod b)/b and the mean released value is v.
func TestRoundUnbiased(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := sdc.Must(5)
	const n = 200_000
	for v := int64(1); v <= 14; v++ {
		for _, f := range []sdc.Figure{sdc.Households, sdc.People, sdc.Events} {
			up, sum := 0, 0.0
			for range n {
				got := r.Round(v, int64(rng.Uint32()), f)
				sum += float64(got)
				if got > v-v%5 {
					up++
				}
			}
			p := float64(v%5) / 5
			se := math.Sqrt(p*(1-p)/n) + 1e-9
			if got := float64(up) / n; math.Abs(got-p) > 5*se {
				t.Errorf("v %d figure %d: rounded up %.4f of the time, want %.4f", v, f, got, p)
			}
			if mean := sum / n; math.Abs(mean-float64(v)) > 5*5*se+1e-9 {
				t.Errorf("v %d figure %d: mean %.4f, want %d", v, f, mean, v)
			}
		}
	}
}

// TestDrawUniform: the draw is uniform over [0, b) across cell keys, and the
// figures' draws over the same records are not the same draw.
func TestDrawUniform(t *testing.T) {
	const b, n = 7, 70_000
	var hist [b]int
	same := 0
	for c := range uint32(n) {
		key := c * 2654435761 // spread over 32 bits
		d := sdc.Draw(key, sdc.Households, b)
		if d < 0 || d >= b {
			t.Fatalf("draw %d outside [0, %d)", d, b)
		}
		hist[d]++
		if d == sdc.Draw(key, sdc.People, b) {
			same++
		}
	}
	for i, h := range hist {
		if math.Abs(float64(h)-n/b) > 5*math.Sqrt(n/b) {
			t.Errorf("draw %d came %d times of %d, want about %d", i, h, n, n/b)
		}
	}
	if math.Abs(float64(same)-n/b) > 5*math.Sqrt(n/b) {
		t.Errorf("households and people drew alike %d times of %d, want about %d (independent)", same, n, n/b)
	}
}

// TestCellKeyOrderFree: the cell key is the sum of the record keys modulo 2^32,
// whatever the order and however the sum was kept.
func TestCellKeyOrderFree(t *testing.T) {
	keys := []int64{4294967295, 12, 3_000_000_000, 77, 4_000_000_001}
	var fwd, back int64
	for i := range keys {
		fwd += keys[i]
		back += keys[len(keys)-1-i]
	}
	want := uint32(0)
	for _, k := range keys {
		want += uint32(k)
	}
	if sdc.CellKey(fwd) != want || sdc.CellKey(back) != want {
		t.Errorf("cell key %d / %d, want %d", sdc.CellKey(fwd), sdc.CellKey(back), want)
	}
	// A record added and removed again (a delete subtracts) leaves the key as it was.
	if sdc.CellKey(fwd+99-99) != want || sdc.CellKey(fwd-keys[0]+keys[0]) != want {
		t.Error("adding and removing a record changed the cell key")
	}
}

// TestCountThreshold: counts below k are suppressed, whatever the key.
func TestCountThreshold(t *testing.T) {
	r := sdc.Must(5)
	for n := int64(-1); n < 5; n++ {
		if _, ok := r.Count(n, 12345, sdc.Households); ok {
			t.Errorf("count %d released", n)
		}
		if _, ok := r.Sum(40, n, 12345, sdc.People); ok {
			t.Errorf("people of %d households released", n)
		}
	}
	if v, ok := r.Count(5, 12345, sdc.Households); !ok || v != 5 {
		t.Errorf("count 5: %d, %v", v, ok)
	}
	if _, err := sdc.New(0); err == nil {
		t.Error("threshold 0 accepted")
	}
	if _, err := sdc.New(sdc.MaxK + 1); err == nil {
		t.Error("threshold above MaxK accepted")
	}
}

// TestNoSmallDifference: sums and differences of released figures are
// multiples of the base, so none equals a count strictly between 0 and b.
func TestNoSmallDifference(t *testing.T) {
	r := sdc.Must(5)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		whole, part := 5+rng.Int64N(200), 1+rng.Int64N(4)
		a, _ := r.Count(whole+part, rng.Int64(), sdc.Households)
		b, _ := r.Count(whole, rng.Int64(), sdc.Households)
		if d := a - b; d%5 != 0 || (d > 0 && d < 5) {
			t.Fatalf("difference %d of released %d and %d", d, a, b)
		}
	}
}

// TestShareAndRate: derived figures come from released counts.
func TestShareAndRate(t *testing.T) {
	r := sdc.Must(5)
	if _, ok := r.Share(1, 1, sdc.OnTime, 4, 1, sdc.Due); ok {
		t.Error("share over 4 released")
	}
	for key := range int64(200) {
		s, ok := r.Share(7, key, sdc.OnTime, 7, key, sdc.Due)
		if !ok || s < 0 || s > 1 {
			t.Fatalf("share %v %v", s, ok)
		}
		num, den := r.Round(7, key, sdc.OnTime), r.Round(7, key, sdc.Due)
		if want := min(float64(num)/float64(den), 1); s != want {
			t.Fatalf("share %v, want %v", s, want)
		}
	}
	if _, ok := r.Rate(4, 1, sdc.Events, 100, 1, sdc.Households, 1000); ok {
		t.Error("rate of 4 events released")
	}
	if v, ok := r.Rate(10, 1, sdc.Events, 100, 1, sdc.Households, 1000); !ok || v != 100 {
		t.Errorf("rate %v %v, want 100", v, ok)
	}
}

func BenchmarkRound(b *testing.B) {
	r := sdc.Must(5)
	var s int64
	for i := range b.N {
		s += r.Round(int64(i&1023), int64(i)*2654435761, sdc.Households)
	}
	_ = s
}
