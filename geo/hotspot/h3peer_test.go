package hotspot

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/uber/h3-go/v4"
)

func parseCell(t *testing.T, s string) h3.Cell {
	t.Helper()
	c := h3.Cell(h3.IndexFromString(s))
	if !c.IsValid() {
		t.Fatalf("invalid cell %q", s)
	}
	return c
}

func TestH3Pentagon(t *testing.T) {
	dir := filepath.Join(dataDir(t), "h3_pentagon")
	cellsT := readTable(t, filepath.Join(dir, "cells.csv"))
	var cells []h3.Cell
	for i := range cellsT.rows {
		cells = append(cells, parseCell(t, cellsT.str(t, i, "id")))
	}
	// Reverse so the builder's sorting is exercised.
	slices.Reverse(cells)
	countsT := readTable(t, filepath.Join(dir, "counts.csv"))
	var sparseCells []h3.Cell
	var sparse []float64
	for i := range countsT.rows {
		sparseCells = append(sparseCells, parseCell(t, countsT.str(t, i, "id")))
		sparse = append(sparse, countsT.float(t, i, "count"))
	}
	nbT := readTable(t, filepath.Join(dir, "neighbors.csv"))
	spdep := readTable(t, filepath.Join(dir, "expected_spdep.csv"))

	for k := 1; k <= 3; k++ {
		t.Run(fmt.Sprintf("k%d", k), func(t *testing.T) {
			w, err := NewH3Weights(cells, k)
			if err != nil {
				t.Fatal(err)
			}
			if w.N() != len(cells) {
				t.Fatalf("n = %d, want %d", w.N(), len(cells))
			}
			x, err := w.Dense(sparseCells, sparse)
			if err != nil {
				t.Fatal(err)
			}
			idx := func(s string) int {
				i, ok := w.Index(parseCell(t, s))
				if !ok {
					return -1
				}
				return i
			}

			// Neighbour sets equal neighbors.csv restricted to the area and distance <= k.
			want := make([][]int32, w.N())
			for r := range nbT.rows {
				i, j := idx(nbT.str(t, r, "id")), idx(nbT.str(t, r, "neighbor"))
				if i < 0 || j < 0 || nbT.int(t, r, "distance") > k {
					continue
				}
				want[i] = append(want[i], int32(j))
			}
			for i := range want {
				slices.Sort(want[i])
				if got := w.Neighbors(i); !slices.Equal(got, want[i]) {
					t.Errorf("cell %s: neighbours %v, want %v", w.Cells()[i], got, want[i])
				}
			}

			a, err := Analyze(w, x, Options{})
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-9
			ref := readTable(t, filepath.Join(dir, fmt.Sprintf("expected_ref_k%d.csv", k)))
			if len(ref.rows) != w.N() {
				t.Fatalf("%d reference rows for %d cells", len(ref.rows), w.N())
			}
			for r := range ref.rows {
				i := idx(ref.str(t, r, "id"))
				if i < 0 {
					t.Fatalf("reference cell %s not in area", ref.str(t, r, "id"))
				}
				lag := x[i]
				for _, j := range w.Neighbors(i) {
					lag += x[j]
				}
				checks := []struct {
					name      string
					got, want float64
				}{
					{"value", x[i], ref.float(t, r, "value")},
					{"n_neighbors", float64(w.Degree(i) + 1), ref.float(t, r, "n_neighbors")},
					{"W_i", float64(w.Degree(i) + 1), ref.float(t, r, "W_i")},
					{"lag", lag, ref.float(t, r, "lag")},
					{"z", a.Z[i], ref.float(t, r, "z")},
					{"p_two_sided", a.P[i], ref.float(t, r, "p_two_sided")},
					{"gi_bin", float64(a.Bin[i]), ref.float(t, r, "gi_bin")},
					{"gi_bin_fdr", float64(a.BinFDR[i]), ref.float(t, r, "gi_bin_fdr")},
				}
				for _, c := range checks {
					if !near(c.got, c.want, tol) {
						t.Errorf("cell %s %s = %.17g, want %.17g", w.Cells()[i], c.name, c.got, c.want)
					}
				}
			}

			gi, err := LocalG(w, x, Options{Stat: Gi})
			if err != nil {
				t.Fatal(err)
			}
			for r := range spdep.rows {
				i := idx(spdep.str(t, r, "id"))
				if got, want := float64(w.Degree(i)+1), spdep.float(t, r, fmt.Sprintf("n_neighbors_k%d", k)); got != want {
					t.Errorf("cell %s: n_neighbors %v, want %v", w.Cells()[i], got, want)
				}
				if got, want := a.Z[i], spdep.float(t, r, fmt.Sprintf("gistar_B_k%d", k)); !near(got, want, tol) {
					t.Errorf("cell %s: gistar_B %.17g, want %.17g", w.Cells()[i], got, want)
				}
				if got, want := gi.Z[i], spdep.float(t, r, fmt.Sprintf("gi_B_k%d", k)); !near(got, want, tol) {
					t.Errorf("cell %s: gi_B %.17g, want %.17g", w.Cells()[i], got, want)
				}
			}
			if k == 2 {
				gw, err := LocalG(w, x, Options{Stat: GiStar, Style: RowStandardised})
				if err != nil {
					t.Fatal(err)
				}
				for r := range spdep.rows {
					i := idx(spdep.str(t, r, "id"))
					if got, want := gw.Z[i], spdep.float(t, r, "gistar_W_k2"); !near(got, want, tol) {
						t.Errorf("cell %s: gistar_W %.17g, want %.17g", w.Cells()[i], got, want)
					}
				}
			}
		})
	}
	t.Run("pentagon has fewer neighbours", func(t *testing.T) {
		p := parseCell(t, "89080000003ffff")
		if !p.IsPentagon() {
			t.Fatal("not a pentagon")
		}
		w, err := NewH3Weights(cells, 1)
		if err != nil {
			t.Fatal(err)
		}
		i, _ := w.Index(p)
		if d := w.Degree(i); d != 5 {
			t.Errorf("pentagon degree %d, want 5", d)
		}
	})
}
