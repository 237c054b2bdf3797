package hotspot

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/uber/h3-go/v4"
)

// Weights is a binary spatial neighbour structure in compressed sparse row
// form. Row i lists the indices of the neighbours of observation i in
// ascending order, never i itself: the statistics add the self weight when
// they need it (Gi*, which includes self, and Gi, which does not, share one
// Weights).
//
// For an H3 study area, observation i is Cells()[i]; the cells are kept in
// ascending H3 index order whatever order they were given in.
type Weights struct {
	offsets []int32   // len n+1; row i is nbrs[offsets[i]:offsets[i+1]]
	nbrs    []int32   // neighbour indices, self excluded
	cells   []h3.Cell // sorted study-area cells; nil for explicit lists
	k       int       // k-ring radius for H3 weights; 0 for explicit lists
}

// N returns the number of observations.
func (w *Weights) N() int { return len(w.offsets) - 1 }

// Neighbors returns the neighbours of observation i (self excluded) in
// ascending order. The slice aliases the Weights and must not be modified.
func (w *Weights) Neighbors(i int) []int32 { return w.nbrs[w.offsets[i]:w.offsets[i+1]] }

// Degree returns the number of neighbours of observation i, self excluded.
func (w *Weights) Degree(i int) int { return int(w.offsets[i+1] - w.offsets[i]) }

// Links returns the total number of (directed) neighbour links, self excluded.
func (w *Weights) Links() int { return len(w.nbrs) }

// Cells returns the study-area cells in observation order (ascending H3
// index), or nil for weights built from an explicit neighbour list. The
// slice aliases the Weights and must not be modified.
func (w *Weights) Cells() []h3.Cell { return w.cells }

// K returns the k-ring radius the weights were built with (0 for explicit
// lists).
func (w *Weights) K() int { return w.k }

// Index returns the observation index of cell c, or false when c is not in
// the study area (or the weights were not built from H3 cells).
func (w *Weights) Index(c h3.Cell) (int, bool) {
	return slices.BinarySearch(w.cells, c)
}

// Dense scatters sparse per-cell values into a zero-filled vector in
// observation order, the input the statistics expect. Values of cells
// outside the study area are an error; repeated cells are summed.
func (w *Weights) Dense(cells []h3.Cell, values []float64) ([]float64, error) {
	if len(cells) != len(values) {
		return nil, fmt.Errorf("hotspot: dense: %d cells but %d values", len(cells), len(values))
	}
	if w.cells == nil {
		return nil, errors.New("hotspot: dense: weights not built from H3 cells")
	}
	out := make([]float64, w.N())
	for j, c := range cells {
		i, ok := w.Index(c)
		if !ok {
			return nil, fmt.Errorf("hotspot: dense: cell %s: %w", c, ErrCellOutsideArea)
		}
		out[i] += values[j]
	}
	return out, nil
}

// NewWeights builds binary weights for n observations from an explicit
// neighbour list (pairs of 0-based indices, i then its neighbour j). The list
// need not be symmetric and is used as given; self pairs (i, i) and repeated
// pairs are dropped. Use it for non-H3 data such as polygon contiguity.
func NewWeights(n int, pairs [][2]int) (*Weights, error) {
	if n < 0 || n > 1<<30 || len(pairs) > math.MaxInt32 {
		return nil, fmt.Errorf("hotspot: new weights: n = %d, %d pairs: out of range", n, len(pairs))
	}
	rows := make([][]int32, n)
	for _, p := range pairs {
		i, j := p[0], p[1]
		if i < 0 || i >= n || j < 0 || j >= n {
			return nil, fmt.Errorf("hotspot: new weights: pair (%d, %d) out of range [0, %d)", i, j, n)
		}
		if i == j {
			continue
		}
		rows[i] = append(rows[i], int32(j))
	}
	w := &Weights{offsets: make([]int32, n+1)}
	for i, r := range rows {
		slices.Sort(r)
		r = slices.Compact(r)
		w.nbrs = append(w.nbrs, r...)
		w.offsets[i+1] = int32(len(w.nbrs))
	}
	return w, nil
}

// cellRes reads the resolution bits of an H3 index without a cgo call.
func cellRes(c h3.Cell) int { return int(uint64(c)>>52) & 0xF }

// NewH3Weights builds binary k-ring weights over a study area of H3 cells
// (any order; duplicates are removed). Cell j is a neighbour of cell i when
// both are in the study area, j != i and the H3 grid distance between them is
// at most k; neighbours outside the study area are dropped. Pentagon
// neighbourhoods are computed with h3 GridDisk and so have fewer cells.
//
// Observations are the cells in ascending H3 index order (see Cells). The
// build runs on runtime.GOMAXPROCS(0) goroutines.
func NewH3Weights(cells []h3.Cell, k int) (*Weights, error) {
	if k < 0 || k > 1000 {
		return nil, fmt.Errorf("hotspot: h3 weights: k = %d outside [0, 1000]", k)
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("hotspot: h3 weights: %w", ErrTooFewCells)
	}
	sorted := slices.Clone(cells)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	n := len(sorted)
	if n > 1<<30 {
		return nil, fmt.Errorf("hotspot: h3 weights: %d cells is too many", n)
	}
	if sorted[0] == 0 {
		return nil, fmt.Errorf("hotspot: h3 weights: cell 0: %w", ErrInvalidCell)
	}
	res := cellRes(sorted[0])
	for _, c := range sorted {
		if cellRes(c) != res {
			return nil, fmt.Errorf("hotspot: h3 weights: cell %s has resolution %d, want %d: %w", c, cellRes(c), res, ErrMixedResolution)
		}
	}
	var bad atomic.Uint64 // an invalid cell, validated in parallel (one cgo call each)
	parallel(n, func(lo, hi int) {
		for _, c := range sorted[lo:hi] {
			if !c.IsValid() {
				bad.Store(uint64(c))
				return
			}
		}
	})
	if c := h3.Cell(bad.Load()); c != 0 {
		return nil, fmt.Errorf("hotspot: h3 weights: cell %s: %w", c, ErrInvalidCell)
	}
	idx := newCellIndex(sorted)

	// Each row is written at stride per (the k-ring size, an upper bound on
	// the neighbour count) into one buffer, which is then compacted in place.
	per := 3 * k * (k + 1)
	if int64(n)*int64(per) > math.MaxInt32 {
		return nil, fmt.Errorf("hotspot: h3 weights: %d cells with k = %d exceed %d neighbour links", n, k, math.MaxInt32)
	}
	workers := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	counts := make([]int32, n)
	all := make([]int32, n*per)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for wk := range workers {
		lo, hi := wk*chunk, min(n, (wk+1)*chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := finder{t: idx, lastG: ^uint64(0)}
			for i := lo; i < hi; i++ {
				c := sorted[i]
				row := all[i*per : i*per : (i+1)*per]
				for _, d := range h3.GridDisk(c, k) {
					if d == 0 || d == c {
						continue
					}
					if j, ok := f.get(d); ok {
						row = append(row, j)
					}
				}
				slices.Sort(row)
				counts[i] = int32(len(row))
			}
		}()
	}
	wg.Wait()
	w := &Weights{offsets: make([]int32, n+1), cells: sorted, k: k}
	for i, c := range counts {
		off := w.offsets[i]
		if int(off) != i*per {
			copy(all[off:off+c], all[i*per:i*per+int(c)])
		}
		w.offsets[i+1] = off + c
	}
	w.nbrs = slices.Clip(all[:w.offsets[n]])
	return w, nil
}

// cellIndex maps a cell to its observation index with locality: cells are
// grouped by their ancestor L = min(3, res) levels up, and each group owns a
// block of 7^L slots addressed directly by the last L index digits. Grid
// neighbours almost always share or adjoin a group, so lookups during a
// build stay in cache; the group lookup itself is a small hash table with a
// one-entry memo per finder.
type cellIndex struct {
	res   int
	shift uint // bits below the last L digits: 3*(15-res) + 3*L
	L     int
	bsize int
	gkeys []uint64 // group prefix + 1 (0 = empty)
	gbase []int32  // block start in slots
	gmask uint64
	slots []int32 // observation index, -1 = not in the area
}

func newCellIndex(cells []h3.Cell) *cellIndex {
	res := cellRes(cells[0])
	L := min(3, res)
	t := &cellIndex{res: res, L: L, bsize: 1, shift: uint(3*(15-res) + 3*L)}
	for range L {
		t.bsize *= 7
	}
	groups := 0
	var last uint64 = ^uint64(0)
	for _, c := range cells { // sorted, so a group is contiguous
		if g := uint64(c) >> t.shift; g != last {
			groups++
			last = g
		}
	}
	size := 1
	for size < 2*groups {
		size <<= 1
	}
	t.gkeys, t.gbase, t.gmask = make([]uint64, size), make([]int32, size), uint64(size-1)
	t.slots = make([]int32, groups*t.bsize)
	for i := range t.slots {
		t.slots[i] = -1
	}
	next := int32(0)
	last = ^uint64(0)
	var base int32
	for i, c := range cells {
		g := uint64(c) >> t.shift
		if g != last {
			h := mix(g) & t.gmask
			for t.gkeys[h] != 0 {
				h = (h + 1) & t.gmask
			}
			t.gkeys[h], t.gbase[h] = g+1, next
			base = next
			next += int32(t.bsize)
			last = g
		}
		t.slots[int(base)+t.local(c)] = int32(i)
	}
	return t
}

func mix(g uint64) uint64 { return (g * 0x9E3779B97F4A7C15) >> 17 }

// local returns the base-7 value of the last L digits of c, or -1 when a
// digit is 7 (not a cell at this resolution).
func (t *cellIndex) local(c h3.Cell) int {
	v := uint64(c) >> uint(3*(15-t.res))
	idx, mul := 0, 1
	for range t.L {
		d := int(v & 7)
		if d == 7 {
			return -1
		}
		idx += d * mul
		mul *= 7
		v >>= 3
	}
	return idx
}

// group returns the block start of group g, or -1.
func (t *cellIndex) group(g uint64) int32 {
	h := mix(g) & t.gmask
	for {
		switch t.gkeys[h] {
		case g + 1:
			return t.gbase[h]
		case 0:
			return -1
		}
		h = (h + 1) & t.gmask
	}
}

// finder is a per-goroutine view of a cellIndex with a memo of the last group.
type finder struct {
	t        *cellIndex
	lastG    uint64
	lastBase int32
}

func (f *finder) get(c h3.Cell) (int32, bool) {
	t := f.t
	if cellRes(c) != t.res {
		return 0, false
	}
	g := uint64(c) >> t.shift
	if g != f.lastG {
		f.lastG, f.lastBase = g, t.group(g)
	}
	if f.lastBase < 0 {
		return 0, false
	}
	l := t.local(c)
	if l < 0 {
		return 0, false
	}
	v := t.slots[int(f.lastBase)+l]
	return v, v >= 0
}
