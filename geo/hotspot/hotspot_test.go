package hotspot

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestSevenCellDisk(t *testing.T) {
	center := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 9)
	w, err := NewH3Weights(h3.GridDisk(center, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := w.Index(center)
	x := make([]float64, 7)
	x[ci] = 1
	r, err := LocalG(w, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// n = 7, mean = 1/7, S = sqrt(6)/7. The centre's neighbourhood is the
	// whole area (W = n): undefined. An outer cell sees the centre, two outer
	// neighbours and itself: W = 4, lag = 1,
	// z = (1 - 4/7) / (sqrt(6)/7 * sqrt((28-16)/6)) = sqrt(3)/2.
	for i := range 7 {
		want := math.Sqrt(3) / 2
		if i == ci {
			want = 0
			if w.Degree(i) != 6 {
				t.Errorf("centre degree %d", w.Degree(i))
			}
		} else if w.Degree(i) != 3 {
			t.Errorf("outer cell degree %d, want 3", w.Degree(i))
		}
		if !near(r.Z[i], want, 1e-12) {
			t.Errorf("cell %d: z = %v, want %v", i, r.Z[i], want)
		}
	}
	if !slices.Equal(r.Undefined, []int32{int32(ci)}) {
		t.Errorf("undefined = %v, want [%d]", r.Undefined, ci)
	}
}

func TestAdjustBH(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		want []float64
	}{
		{"hand example", []float64{0.01, 0.04, 0.03, 0.005, 0.2}, []float64{0.025, 0.05, 0.05, 0.025, 0.2}},
		{"step-up keeps monotone", []float64{0.6, 0.7, 0.8}, []float64{0.8, 0.8, 0.8}},
		{"ties", []float64{0.02, 0.02, 0.5}, []float64{0.03, 0.03, 0.5}},
		{"single", []float64{0.3}, []float64{0.3}},
		{"empty", nil, []float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := AdjustBH(tc.p)
			if len(got) != len(tc.want) {
				t.Fatalf("len %d", len(got))
			}
			for i := range got {
				if !near(got[i], tc.want[i], 1e-15) {
					t.Errorf("q[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestBin(t *testing.T) {
	tests := []struct {
		name string
		z    float64
		want int8
	}{
		{"99% hot", 2.6, 3}, {"95% hot", 2.0, 2}, {"90% hot", 1.7, 1}, {"not", 1.6, 0},
		{"99% cold", -2.6, -3}, {"90% cold", -1.65, -1}, {"zero", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bin(tc.z, PTwoSided(tc.z)); got != tc.want {
				t.Errorf("Bin(%v) = %d, want %d", tc.z, got, tc.want)
			}
		})
	}
	if z := ZCritical(0.10); !near(z, 1.6448536269514722, 1e-12) {
		t.Errorf("ZCritical(0.10) = %v", z)
	}
}

func TestMannKendall(t *testing.T) {
	tests := []struct {
		name       string
		x          []float64
		s, v, z, p float64
	}{
		// S = 10, Var = 5*4*15/18, Z = (10-1)/sqrt(Var).
		{"increasing", []float64{1, 2, 3, 4, 5}, 10, 300.0 / 18, 9 / math.Sqrt(300.0/18), math.NaN()},
		// Pairs: +,+,+,0,+,+ -> S = 5; Var = (4*3*13 - 2*1*9)/18 = 138/18.
		{"tie", []float64{1, 2, 2, 3}, 5, 138.0 / 18, 4 / math.Sqrt(138.0/18), math.NaN()},
		{"decreasing", []float64{5, 4, 3, 2, 1}, -10, 300.0 / 18, -9 / math.Sqrt(300.0/18), math.NaN()},
		{"all tied", []float64{2, 2, 2}, 0, 0, 0, 1},
		{"single", []float64{1}, 0, 0, 0, 1},
		{"empty", nil, 0, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := MannKendall(tc.x)
			if tr.S != tc.s || !near(tr.Var, tc.v, 1e-12) || !near(tr.Z, tc.z, 1e-12) {
				t.Errorf("got %+v, want S=%v Var=%v Z=%v", tr, tc.s, tc.v, tc.z)
			}
			wantP := tc.p
			if math.IsNaN(wantP) {
				wantP = math.Erfc(math.Abs(tc.z) / math.Sqrt2)
			}
			if !near(tr.P, wantP, 1e-15) {
				t.Errorf("P = %v, want %v", tr.P, wantP)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	none := Trend{P: 1}
	up := Trend{Z: 3, P: 0.003}
	down := Trend{Z: -3, P: 0.003}
	s := func(v ...int8) []int8 { return v }
	tests := []struct {
		name  string
		sig   []int8
		trend Trend
		want  Category
	}{
		{"no pattern: never significant", s(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), none, NoPattern},
		{"no pattern: hot long ago", s(1, 0, 0, 0, 0, 0, 0, 0, 0, 0), none, NoPattern},
		{"new: only the final slice hot", s(0, 0, 0, 0, 0, 0, 0, 0, 0, 1), none, NewHot},
		{"new: even after a cold slice", s(0, -1, 0, 0, 0, 0, 0, 0, 0, 1), none, NewHot},
		{"consecutive: final run of 3", s(0, 0, 0, 0, 0, 0, 0, 1, 1, 1), up, ConsecutiveHot},
		{"not consecutive: hot before the run", s(0, 1, 0, 0, 0, 0, 0, 1, 1, 1), none, SporadicHot},
		{"persistent: all hot", s(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), none, PersistentHot},
		{"persistent: 90% hot", s(1, 0, 1, 1, 1, 1, 1, 1, 1, 1), none, PersistentHot},
		{"intensifying", s(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), up, IntensifyingHot},
		{"diminishing", s(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), down, DiminishingHot},
		{"sporadic", s(1, 0, 1, 0, 0, 1, 0, 1, 0, 1), none, SporadicHot},
		{"oscillating", s(-1, 0, 1, 0, 0, 0, 0, 0, 0, 1), none, OscillatingHot},
		{"historical", s(1, 1, 1, 1, 1, 1, 1, 1, 1, 0), down, HistoricalHot},
		{"80% hot, final not: none", s(1, 1, 1, 1, 1, 1, 1, 1, 0, 0), none, NoPattern},
		{"new cold", s(0, 0, 0, 0, 0, 0, 0, 0, 0, -1), none, NewCold},
		{"consecutive cold", s(0, 0, 0, 0, 0, 0, 0, 0, -1, -1), none, ConsecutiveCold},
		{"persistent cold", s(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1), none, PersistentCold},
		{"intensifying cold: downward trend", s(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1), down, IntensifyingCold},
		{"diminishing cold: upward trend", s(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1), up, DiminishingCold},
		{"sporadic cold", s(-1, 0, -1, 0, 0, -1, 0, 0, 0, -1), none, SporadicCold},
		{"oscillating cold", s(1, 0, -1, 0, 0, 0, 0, 0, 0, -1), none, OscillatingCold},
		{"historical cold", s(-1, -1, -1, -1, -1, -1, -1, -1, -1, 0), none, HistoricalCold},
		{"empty", nil, none, NoPattern},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.sig, tc.trend, 0.10); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.sig, got, tc.want)
			}
		})
	}
}

// TestEmerging builds a 61-cell area where a cluster around the centre is
// quiet for nine slices and busy in the tenth, a cluster at the edge is busy
// throughout, and one slice has no events at all.
func TestEmerging(t *testing.T) {
	center := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 9)
	w, err := NewH3Weights(h3.GridDisk(center, 4), 1)
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := w.Index(center)
	edge := h3.GridDiskDistances(center, 3)[3][0]
	ei, _ := w.Index(edge)
	const T = 10
	counts := make([][]float64, T)
	for s := range T {
		counts[s] = make([]float64, w.N())
		if s == 4 {
			continue // a slice with no events
		}
		rng := rand.New(rand.NewPCG(uint64(s), 7))
		for i := range counts[s] {
			counts[s][i] = float64(rng.IntN(2))
		}
		for _, c := range h3.GridDisk(edge, 1) {
			if i, ok := w.Index(c); ok {
				counts[s][i] += 10
			}
		}
		if s == T-1 {
			for _, c := range h3.GridDisk(center, 1) {
				i, _ := w.Index(c)
				counts[s][i] += 10
			}
		}
	}
	r, err := Emerging(w, counts, EmergingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.SliceErr[4], ErrNoEvents) {
		t.Errorf("slice 4 error %v, want ErrNoEvents", r.SliceErr[4])
	}
	if got := r.Category[ci]; got != NewHot {
		t.Errorf("centre: %v, want %v", got, NewHot)
	}
	// Hot in 9 of 10 slices (the empty one is not significant), final hot.
	if got := r.Category[ei]; got != PersistentHot && got != IntensifyingHot && got != DiminishingHot {
		t.Errorf("edge: %v, want a >=90%% hot pattern", got)
	}
	for _, zs := range r.Z {
		for _, z := range zs {
			if math.IsNaN(z) {
				t.Fatal("NaN z")
			}
		}
	}
}

func TestEBRates(t *testing.T) {
	tests := []struct {
		name         string
		events, base []float64
		want         []float64
	}{
		// b = 15/40 = 0.375; s^2 = (10*0.375^2 + 10*0.125^2 + 20*0.125^2)/40 = 0.046875;
		// a = 0.046875 - 0.375/(40/3) = 0.01875; w = 1/3, 1/3, 1/2;
		// rates 0.25, 0.41666..., 0.4375 per person; the zero-base cell gets 0.
		{"hand example", []float64{0, 5, 10, 4}, []float64{10, 10, 20, 0}, []float64{250, 1250.0 / 3, 437.5, 0}},
		// All raw rates equal: a clamps to 0, every cell gets b.
		{"no extra variance", []float64{1, 2, 3}, []float64{10, 20, 30}, []float64{100, 100, 100}},
		{"no events", []float64{0, 0}, []float64{5, 7}, []float64{0, 0}},
		{"no base", []float64{3, 1}, []float64{0, 0}, []float64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EBRates(tc.events, tc.base, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !near(got[i], tc.want[i], 1e-9) {
					t.Errorf("rate[%d] = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	t.Run("raw rates", func(t *testing.T) {
		got, err := Rates([]float64{3, 5, 2}, []float64{1500, 0, 400}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []float64{2, 0, 5}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, in := range [][2][]float64{{{-1}, {1}}, {{math.NaN()}, {1}}, {{1}, {math.Inf(1)}}, {{1, 2}, {1}}, {{1e300, 1}, {1e-300, 1}}} {
			if _, err := EBRates(in[0], in[1], 1000); !errors.Is(err, ErrBadValue) && !errors.Is(err, ErrLengthMismatch) {
				t.Errorf("EBRates(%v, %v): err = %v", in[0], in[1], err)
			}
			if _, err := Rates(in[0], in[1], 1000); !errors.Is(err, ErrBadValue) && !errors.Is(err, ErrLengthMismatch) {
				t.Errorf("Rates(%v, %v): err = %v", in[0], in[1], err)
			}
		}
	})
}

func TestDegenerate(t *testing.T) {
	one, _ := NewWeights(1, nil)
	two, _ := NewWeights(2, [][2]int{{0, 1}, {1, 0}})
	line, _ := NewWeights(4, [][2]int{{0, 1}, {1, 0}, {1, 2}, {2, 1}}) // cell 3 is an island
	tests := []struct {
		name string
		w    *Weights
		x    []float64
		opt  Options
		want error
	}{
		{"one cell", one, []float64{5}, Options{}, ErrTooFewCells},
		{"Gi with n-1 = 1", two, []float64{1, 2}, Options{Stat: Gi}, ErrTooFewCells},
		{"all equal", line, []float64{3, 3, 3, 3}, Options{}, ErrNoVariance},
		{"all equal (rounding)", line, []float64{0.1, 0.1, 0.1, 0.1}, Options{Stat: Gi}, ErrNoVariance},
		{"zero events", line, []float64{0, 0, 0, 0}, Options{}, ErrNoEvents},
		{"NaN", line, []float64{0, math.NaN(), 0, 1}, Options{}, ErrBadValue},
		{"length", line, []float64{0, 1}, Options{}, ErrLengthMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LocalG(tc.w, tc.x, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("zero events is no variance", func(t *testing.T) {
		if !errors.Is(ErrNoEvents, ErrNoVariance) {
			t.Error("ErrNoEvents does not wrap ErrNoVariance")
		}
	})
	t.Run("per-cell undefined, never NaN", func(t *testing.T) {
		// Cell 3 is an island: Gi has W_i = 0; row-standardised has no weights.
		// Under Gi on {1,1,1,5}, cell 3's n-1 others are all equal.
		for _, opt := range []Options{{}, {Stat: Gi}, {Style: RowStandardised}, {Stat: Gi, Style: RowStandardised}} {
			r, err := LocalG(line, []float64{1, 1, 1, 5}, opt)
			if err != nil {
				t.Fatal(err)
			}
			for i, z := range r.Z {
				if math.IsNaN(z) || math.IsInf(z, 0) {
					t.Errorf("%+v: z[%d] = %v", opt, i, z)
				}
			}
			if opt.Stat == Gi && !slices.Contains(r.Undefined, 3) {
				t.Errorf("%+v: island not undefined: %v", opt, r.Undefined)
			}
		}
		m, err := LocalMoran(line, []float64{1, 2, 3, 5})
		if err != nil {
			t.Fatal(err)
		}
		if m.Z[3] != 0 || !slices.Contains(m.Undefined, 3) {
			t.Errorf("moran island: z %v, undefined %v", m.Z[3], m.Undefined)
		}
	})
	t.Run("emerging with one cell", func(t *testing.T) {
		if _, err := Emerging(one, [][]float64{{1}}, EmergingOptions{}); !errors.Is(err, ErrTooFewCells) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestColdSpotReachable(t *testing.T) {
	center := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 9)
	w, err := NewH3Weights(h3.GridDisk(center, 10), 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fill func(i int) float64
		want bool
	}{
		{"mostly zeros: no cold spot possible", func(i int) float64 {
			if i%50 == 0 {
				return 3
			}
			return 0
		}, false},
		{"high baseline: cold spots possible", func(i int) float64 { return float64(20 + i%5) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := make([]float64, w.N())
			for i := range x {
				x[i] = tc.fill(i)
			}
			ok, err := ColdSpotReachable(w, x, 0.10)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(ok, true); got != tc.want {
				t.Errorf("some cell reachable = %v, want %v", got, tc.want)
			}
			a, err := Analyze(w, x, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range a.Bin {
				if b < 0 && !ok[i] {
					t.Errorf("cell %d is cold (bin %d) but marked unreachable", i, b)
				}
			}
		})
	}
}

// TestUniformFDR: spatially random counts should give at most the nominal
// share (10 %) of FDR-significant cells.
func TestUniformFDR(t *testing.T) {
	cells := h3.GridDisk(h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 10), 40) // 4,921 cells
	w, err := NewH3Weights(cells, 2)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2026, 1))
	x := make([]float64, w.N())
	for i := range x {
		x[i] = float64(rng.IntN(10))
	}
	a, err := Analyze(w, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	raw, fdr := 0, 0
	for i := range a.Bin {
		if a.Bin[i] != 0 {
			raw++
		}
		if a.BinFDR[i] != 0 {
			fdr++
		}
	}
	t.Logf("%d cells: %d raw-significant, %d FDR-significant", w.N(), raw, fdr)
	if fdr > w.N()/10 {
		t.Errorf("%d of %d cells FDR-significant, above the nominal 10%%", fdr, w.N())
	}
	if fdr > raw {
		t.Errorf("FDR gave more significant cells (%d) than raw (%d)", fdr, raw)
	}
}

func TestWeights(t *testing.T) {
	t.Run("explicit list drops self and repeats", func(t *testing.T) {
		w, err := NewWeights(3, [][2]int{{0, 1}, {0, 1}, {0, 0}, {2, 0}, {0, 2}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Neighbors(0), []int32{1, 2}) || w.Degree(1) != 0 || !slices.Equal(w.Neighbors(2), []int32{0}) {
			t.Errorf("rows %v %v %v", w.Neighbors(0), w.Neighbors(1), w.Neighbors(2))
		}
	})
	t.Run("explicit list out of range", func(t *testing.T) {
		if _, err := NewWeights(2, [][2]int{{0, 2}}); err == nil {
			t.Error("no error")
		}
	})
	center := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 9)
	t.Run("h3 mixed resolution", func(t *testing.T) {
		_, err := NewH3Weights([]h3.Cell{center, center.Parent(8)}, 1)
		if !errors.Is(err, ErrMixedResolution) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("h3 invalid cell", func(t *testing.T) {
		_, err := NewH3Weights([]h3.Cell{center, h3.Cell(uint64(center) | 7<<18)}, 1) // digit 9 = 7: not a res-9 cell
		if !errors.Is(err, ErrInvalidCell) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("h3 zero cell", func(t *testing.T) {
		if _, err := NewH3Weights([]h3.Cell{0}, 1); !errors.Is(err, ErrInvalidCell) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("h3 empty", func(t *testing.T) {
		if _, err := NewH3Weights(nil, 1); !errors.Is(err, ErrTooFewCells) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("h3 matches grid distance and is symmetric", func(t *testing.T) {
		// A ragged area: a disk with holes, in shuffled order, duplicates included.
		var area []h3.Cell
		for i, c := range h3.GridDisk(center, 12) {
			if i%7 != 3 {
				area = append(area, c)
			}
		}
		area = append(area, area[0], area[5])
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(area), func(i, j int) { area[i], area[j] = area[j], area[i] })
		for _, k := range []int{0, 1, 2, 4} {
			w, err := NewH3Weights(area, k)
			if err != nil {
				t.Fatal(err)
			}
			cells := w.Cells()
			if !slices.IsSorted(cells) || len(cells) != len(area)-2 {
				t.Fatalf("cells not sorted/deduplicated: %d of %d", len(cells), len(area))
			}
			for i, ci := range cells {
				var want []int32
				for j, cj := range cells {
					if j != i && h3.GridDistance(ci, cj) <= k {
						want = append(want, int32(j))
					}
				}
				if got := w.Neighbors(i); !slices.Equal(got, want) {
					t.Fatalf("k=%d cell %s: %v, want %v", k, ci, got, want)
				}
			}
		}
	})
	t.Run("dense", func(t *testing.T) {
		w, _ := NewH3Weights(h3.GridDisk(center, 1), 1)
		x, err := w.Dense([]h3.Cell{center, center}, []float64{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		i, _ := w.Index(center)
		if x[i] != 3 {
			t.Errorf("x = %v", x)
		}
		far := h3.GridDiskDistances(center, 5)[5][0]
		if _, err := w.Dense([]h3.Cell{far}, []float64{1}); !errors.Is(err, ErrCellOutsideArea) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWeightsCache(t *testing.T) {
	var builds atomic.Int32
	mk := func() (*Weights, error) {
		builds.Add(1)
		return NewWeights(3, [][2]int{{0, 1}})
	}
	c := NewWeightsCache(2)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(CacheKey{"a", 9, 2}, mk); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Errorf("%d builds for one key, want 1", n)
	}
	c.Get(CacheKey{"b", 9, 2}, mk)
	c.Get(CacheKey{"a", 9, 2}, mk) // touch a, so b is the oldest
	c.Get(CacheKey{"c", 9, 2}, mk)
	if c.Len() != 2 {
		t.Errorf("len %d, want 2", c.Len())
	}
	before := builds.Load()
	c.Get(CacheKey{"a", 9, 2}, mk)
	if builds.Load() != before {
		t.Error("recently used entry was evicted")
	}
	c.Get(CacheKey{"b", 9, 2}, mk)
	if builds.Load() != before+1 {
		t.Error("least recently used entry was kept")
	}
	t.Run("errors are not cached", func(t *testing.T) {
		fail := errors.New("boom")
		if _, err := c.Get(CacheKey{"x", 9, 1}, func() (*Weights, error) { return nil, fail }); !errors.Is(err, fail) {
			t.Errorf("err = %v", err)
		}
		if _, err := c.Get(CacheKey{"x", 9, 1}, mk); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}

// TestRatesNotCounts: a dense estate with many households and events in
// proportion is a hot spot by counts but not by rate, while a small block
// with a high rate is.
func TestRatesNotCounts(t *testing.T) {
	center := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 9)
	w, err := NewH3Weights(h3.GridDisk(center, 8), 1) // 217 cells
	if err != nil {
		t.Fatal(err)
	}
	n := w.N()
	households := make([]float64, n)
	events := make([]float64, n)
	for i := range n {
		households[i] = 200
		events[i] = float64(i % 2) // 2.5 per 1,000 on average
	}
	estate := h3.GridDisk(center, 1)
	for _, c := range estate {
		i, _ := w.Index(c)
		households[i] = 4000
		events[i] = 10 // the same 2.5 per 1,000
	}
	block := h3.GridDiskDistances(center, 6)[6][0]
	for _, c := range h3.GridDisk(block, 1) {
		if i, ok := w.Index(c); ok {
			events[i] = 4 // 20 per 1,000
		}
	}
	ci, _ := w.Index(center)
	bi, _ := w.Index(block)
	byCount, err := Analyze(w, events, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rate func() ([]float64, error)
	}{
		{"raw rate", func() ([]float64, error) { return Rates(events, households, 1000) }},
		{"empirical Bayes rate", func() ([]float64, error) { return EBRates(events, households, 1000) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.rate()
			if err != nil {
				t.Fatal(err)
			}
			byRate, err := Analyze(w, r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if byCount.Bin[ci] <= 0 || byRate.Bin[ci] > 0 {
				t.Errorf("estate: bin by count %d (want hot), by rate %d (want not hot)", byCount.Bin[ci], byRate.Bin[ci])
			}
			if byRate.Bin[bi] <= 0 {
				t.Errorf("high-rate block: bin by rate %d, want hot", byRate.Bin[bi])
			}
		})
	}
}

// TestLargeAreaMatchesFormula checks the parallel paths (n above
// parallelMin) against a direct evaluation of the README Gi* formula and
// the spdep Gi formula.
func TestLargeAreaMatchesFormula(t *testing.T) {
	cells := h3.GridDisk(h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 10), 106) // 34,027 cells
	w, err := NewH3Weights(cells, 2)
	if err != nil {
		t.Fatal(err)
	}
	n := w.N()
	if n <= parallelMin {
		t.Fatalf("n = %d does not exercise the parallel path", n)
	}
	sc, v := sparseCounts(w.Cells(), 9)
	x, err := w.Dense(sc, v)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sumsq float64
	for _, xi := range x {
		sum += xi
	}
	mean := sum / float64(n)
	for _, xi := range x {
		sumsq += (xi - mean) * (xi - mean)
	}
	S := math.Sqrt(sumsq / float64(n))
	star, err := LocalG(w, x, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gi, err := LocalG(w, x, Options{Stat: Gi})
	if err != nil {
		t.Fatal(err)
	}
	nf := float64(n)
	for i := range n {
		lag := x[i]
		for _, j := range w.Neighbors(i) {
			lag += x[j]
		}
		W := float64(w.Degree(i) + 1)
		want := (lag - mean*W) / (S * math.Sqrt((nf*W-W*W)/(nf-1)))
		if !near(star.Z[i], want, 1e-9) {
			t.Fatalf("Gi* cell %d: %v, want %v", i, star.Z[i], want)
		}
		// Gi: mean and variance of the n-1 others, n-1 in place of n.
		m := (sum - x[i]) / (nf - 1)
		var ss float64
		if i%997 == 0 { // the O(n) variance is checked on a sample of cells
			for j := range n {
				if j != i {
					ss += (x[j] - m) * (x[j] - m)
				}
			}
			s2 := ss / (nf - 1)
			W--
			want = (lag - x[i] - m*W) / math.Sqrt(s2*((nf-1)*W-W*W)/(nf-2))
			if !near(gi.Z[i], want, 1e-9) {
				t.Fatalf("Gi cell %d: %v, want %v", i, gi.Z[i], want)
			}
		}
	}
	if !slices.Equal(w.Cells(), func() []h3.Cell { c := slices.Clone(cells); slices.Sort(c); return c }()) {
		t.Error("cells differ from the sorted input")
	}
	if w.K() != 2 || w.Links() == 0 {
		t.Errorf("K %d, links %d", w.K(), w.Links())
	}
	if NewHot.String() != "new hot spot" || Category(99).String() != "Category(99)" {
		t.Error("category names")
	}
}
