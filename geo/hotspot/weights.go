package hotspot

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

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
	if n < 0 {
		return nil, fmt.Errorf("hotspot: new weights: negative n %d", n)
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
	if k < 0 {
		return nil, fmt.Errorf("hotspot: h3 weights: negative k %d", k)
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
	res := cellRes(sorted[0])
	for _, c := range sorted {
		if cellRes(c) != res {
			return nil, fmt.Errorf("hotspot: h3 weights: cell %s has resolution %d, want %d: %w", c, cellRes(c), res, ErrMixedResolution)
		}
	}
	tbl := newCellTable(sorted)

	workers := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	counts := make([]int32, n)
	bufs := make([][]int32, workers)
	invalid := make([]h3.Cell, workers)
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for wk := range workers {
		lo, hi := wk*chunk, min(n, (wk+1)*chunk)
		wg.Add(1)
		go func() {
			defer wg.Done()
			per := 3*k*(k+1) + 1
			buf := make([]int32, 0, (hi-lo)*per)
			for i := lo; i < hi; i++ {
				c := sorted[i]
				if !c.IsValid() {
					invalid[wk] = c
					return
				}
				start := len(buf)
				for _, d := range h3.GridDisk(c, k) {
					if d == 0 || d == c {
						continue
					}
					if j, ok := tbl.get(d); ok {
						buf = append(buf, j)
					}
				}
				row := buf[start:]
				slices.Sort(row)
				counts[i] = int32(len(row))
			}
			bufs[wk] = buf
		}()
	}
	wg.Wait()
	for _, c := range invalid {
		if c != 0 {
			return nil, fmt.Errorf("hotspot: h3 weights: cell %s: %w", c, ErrInvalidCell)
		}
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	w := &Weights{offsets: make([]int32, n+1), nbrs: make([]int32, 0, total), cells: sorted, k: k}
	for _, b := range bufs {
		w.nbrs = append(w.nbrs, b...)
	}
	for i, c := range counts {
		w.offsets[i+1] = w.offsets[i] + c
	}
	return w, nil
}

// cellTable is an open-addressing hash table from cell to observation index,
// several times faster than a Go map for the ~n·(3k(k+1)) lookups of a build.
type cellTable struct {
	keys  []h3.Cell
	vals  []int32
	mask  uint64
	shift uint
}

func newCellTable(cells []h3.Cell) *cellTable {
	size, bits := 1, uint(0)
	for size < 2*len(cells) {
		size <<= 1
		bits++
	}
	t := &cellTable{keys: make([]h3.Cell, size), vals: make([]int32, size), mask: uint64(size - 1), shift: 64 - bits}
	for i, c := range cells {
		h := t.slot(c)
		for t.keys[h] != 0 {
			h = (h + 1) & t.mask
		}
		t.keys[h] = c
		t.vals[h] = int32(i)
	}
	return t
}

func (t *cellTable) slot(c h3.Cell) uint64 {
	if t.shift == 64 {
		return 0
	}
	return (uint64(c) * 0x9E3779B97F4A7C15) >> t.shift
}

func (t *cellTable) get(c h3.Cell) (int32, bool) {
	h := t.slot(c)
	for {
		k := t.keys[h]
		if k == c {
			return t.vals[h], true
		}
		if k == 0 {
			return 0, false
		}
		h = (h + 1) & t.mask
	}
}
