package hotspot

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/uber/h3-go/v4"
)

// shenzhenDisk returns a contiguous H3 study area: the grid disk of radius r
// around the resolution-10 cell at 114.05E 22.55N (3r(r+1)+1 cells).
func shenzhenDisk(r int) []h3.Cell {
	origin := h3.LatLngToCell(h3.NewLatLng(22.55, 114.05), 10)
	return h3.GridDisk(origin, r)
}

// sparseCounts returns deterministic mostly-zero counts: about 3 % of cells
// get 1..5 events.
func sparseCounts(cells []h3.Cell, seed uint64) ([]h3.Cell, []float64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	var sc []h3.Cell
	var v []float64
	for _, c := range cells {
		if rng.IntN(100) < 3 {
			sc = append(sc, c)
			v = append(v, float64(1+rng.IntN(5)))
		}
	}
	return sc, v
}

var bench1M struct {
	once   sync.Once
	cells  []h3.Cell
	w      *Weights
	sc     []h3.Cell
	counts []float64
	x      []float64
}

// setup1M builds the ~1,003,000-cell area (r = 578) and its k=2 weights once.
func setup1M(b *testing.B) {
	b.Helper()
	bench1M.once.Do(func() {
		bench1M.cells = shenzhenDisk(578)
		w, err := NewH3Weights(bench1M.cells, 2)
		if err != nil {
			panic(err)
		}
		bench1M.w = w
		bench1M.sc, bench1M.counts = sparseCounts(bench1M.cells, 1)
		bench1M.x, err = w.Dense(bench1M.sc, bench1M.counts)
		if err != nil {
			panic(err)
		}
	})
}

func BenchmarkWeightsBuild1M_k2(b *testing.B) {
	setup1M(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewH3Weights(bench1M.cells, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGiStar1M_k2(b *testing.B) {
	setup1M(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := LocalG(bench1M.w, bench1M.x, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndToEnd1M_k2 measures sparse cell counts -> zero-filled vector ->
// Gi* -> p -> bins -> BH-adjusted bins, with the weights from a warm cache.
func BenchmarkEndToEnd1M_k2(b *testing.B) {
	setup1M(b)
	cache := NewWeightsCache(4)
	key := CacheKey{Area: "shenzhen-r578", Res: 10, K: 2}
	cache.Get(key, func() (*Weights, error) { return bench1M.w, nil })
	b.ResetTimer()
	for b.Loop() {
		w, err := cache.Get(key, func() (*Weights, error) { return NewH3Weights(bench1M.cells, 2) })
		if err != nil {
			b.Fatal(err)
		}
		x, err := w.Dense(bench1M.sc, bench1M.counts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Analyze(w, x, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndToEndWithBuild1M_k2 is BenchmarkEndToEnd1M_k2 with the weight
// build (cold cache) included.
func BenchmarkEndToEndWithBuild1M_k2(b *testing.B) {
	setup1M(b)
	b.ResetTimer()
	for b.Loop() {
		w, err := NewH3Weights(bench1M.cells, 2)
		if err != nil {
			b.Fatal(err)
		}
		x, err := w.Dense(bench1M.sc, bench1M.counts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Analyze(w, x, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmerging1M_k2_12 classifies the 1M-cell area over 12 slices
// (weights prebuilt).
func BenchmarkEmerging1M_k2_12(b *testing.B) {
	setup1M(b)
	const T = 12
	counts := make([][]float64, T)
	for t := range T {
		sc, v := sparseCounts(bench1M.cells, uint64(100+t))
		x, err := bench1M.w.Dense(sc, v)
		if err != nil {
			b.Fatal(err)
		}
		counts[t] = x
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Emerging(bench1M.w, counts, EmergingOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
