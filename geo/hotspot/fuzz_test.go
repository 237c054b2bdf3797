package hotspot

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzNoNaN: for any finite values on a small ring-and-spoke graph, the
// statistics return an error or finite numbers, never NaN or a panic.
func FuzzNoNaN(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3}, uint8(2))
	f.Add(make([]byte, 64), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, links uint8) {
		var x []float64
		for len(data) >= 8 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(data))
			data = data[8:]
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e150 {
				v = float64(len(x) % 3)
			}
			x = append(x, v)
		}
		n := len(x)
		var pairs [][2]int
		for i := range n {
			for d := 1; d <= int(links%4); d++ {
				j := (i + d) % n
				pairs = append(pairs, [2]int{i, j}, [2]int{j, i})
			}
		}
		w, err := NewWeights(n, pairs)
		if err != nil {
			t.Fatal(err)
		}
		finite := func(name string, v []float64) {
			for i, z := range v {
				if math.IsNaN(z) || math.IsInf(z, 0) {
					t.Fatalf("%s[%d] = %v for x = %v", name, i, z, x)
				}
			}
		}
		for _, opt := range []Options{{}, {Stat: Gi}, {Style: RowStandardised}, {Stat: Gi, Style: RowStandardised}, {Style: RowStandardisedESDA}} {
			if a, err := Analyze(w, x, opt); err == nil {
				finite("z", a.Z)
				finite("p", a.P)
			}
		}
		if m, err := LocalMoran(w, x); err == nil {
			finite("moran z", m.Z)
			finite("moran var", m.Var)
		}
		if z, err := MinGiStarZ(w, x); err == nil {
			finite("min z", z)
		}
		abs := make([]float64, n)
		for i := range x {
			abs[i] = math.Abs(x[i])
		}
		if r, err := EBRates(abs, abs, 1000); err == nil {
			finite("eb", r)
		}
	})
}
