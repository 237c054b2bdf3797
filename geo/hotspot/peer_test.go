package hotspot

import (
	"path/filepath"
	"testing"
)

func TestEsda6pt(t *testing.T) {
	dir := filepath.Join(dataDir(t), "esda_6pt")
	vals := readTable(t, filepath.Join(dir, "values.csv"))
	nb := readTable(t, filepath.Join(dir, "neighbors.csv"))
	exp := readTable(t, filepath.Join(dir, "expected_esda_doctest.csv"))
	x := vals.col(t, "y")
	w, err := NewWeights(len(x), pairsFrom(t, nb))
	if err != nil {
		t.Fatal(err)
	}
	// The expected file is printed to 8 decimals, so agreement to 1e-7 is
	// checked with a tolerance of half a unit in the 8th decimal plus rounding.
	const tol = 5e-8 + 1e-12
	for _, tc := range []struct {
		col string
		opt Options
	}{
		{"B_gi", Options{Stat: Gi, Style: Binary}},
		{"B_gistar", Options{Stat: GiStar, Style: Binary}},
		{"R_gi", Options{Stat: Gi, Style: RowStandardisedESDA}},
		{"R_gistar", Options{Stat: GiStar, Style: RowStandardisedESDA}},
	} {
		t.Run(tc.col, func(t *testing.T) {
			r, err := LocalG(w, x, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range exp.col(t, tc.col) {
				if !near(r.Z[i], want, tol) {
					t.Errorf("cell %d: z = %.10f, want %.8f", i, r.Z[i], want)
				}
			}
		})
	}
}

func TestSpdepColumbus(t *testing.T) {
	dir := filepath.Join(dataDir(t), "spdep_columbus")
	vals := readTable(t, filepath.Join(dir, "values.csv"))
	nb := readTable(t, filepath.Join(dir, "neighbors.csv"))
	exp := readTable(t, filepath.Join(dir, "expected_spdep.csv"))
	x := vals.col(t, "crime")
	w, err := NewWeights(len(x), pairsFrom(t, nb))
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	for _, tc := range []struct {
		col string
		opt Options
	}{
		{"gi_B", Options{Stat: Gi, Style: Binary}},
		{"gistar_B", Options{Stat: GiStar, Style: Binary}},
		{"gi_W", Options{Stat: Gi, Style: RowStandardised}},
		{"gistar_W", Options{Stat: GiStar, Style: RowStandardised}},
	} {
		t.Run(tc.col, func(t *testing.T) {
			r, err := LocalG(w, x, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Undefined) != 0 {
				t.Errorf("undefined cells %v", r.Undefined)
			}
			for i, want := range exp.col(t, tc.col) {
				if !near(r.Z[i], want, tol) {
					t.Errorf("cell %d: z = %.17g, want %.17g", i, r.Z[i], want)
				}
			}
		})
	}
	t.Run("local_moran", func(t *testing.T) {
		m, err := LocalMoran(w, x)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			col string
			got []float64
		}{
			{"local_moran_Ii_W", m.I},
			{"local_moran_EIi_W", m.E},
			{"local_moran_VarIi_W", m.Var},
			{"local_moran_Z_W", m.Z},
		} {
			for i, want := range exp.col(t, c.col) {
				if !near(c.got[i], want, tol) {
					t.Errorf("%s cell %d: %.17g, want %.17g", c.col, i, c.got[i], want)
				}
			}
		}
	})
}
