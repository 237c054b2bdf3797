package geo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"
)

// randomPoint returns a point uniformly distributed on the sphere.
func randomPoint(r *rand.Rand) (lon, lat float64) {
	return r.Float64()*360 - 180, math.Asin(2*r.Float64()-1) * 180 / math.Pi
}

func TestCellAt(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		res      int
		want     string // "" means an error is expected
	}{
		// The example of the H3 documentation (h3-js README, latLngToCell).
		{"h3 docs example", -122.0553238, 37.3615593, 7, "87283472bffffff"},
		{"res out of range", 114.0579, 22.5431, 16, ""},
		{"negative res", 114.0579, 22.5431, -1, ""},
		{"lat out of range", 114.0579, 91, 9, ""},
		{"lon out of range", 181, 22.5, 9, ""},
		{"NaN", math.NaN(), 22.5, 9, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CellAt(tc.lon, tc.lat, tc.res)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("CellAt(%v, %v, %d) = %x, want error", tc.lon, tc.lat, tc.res, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := CellString(got); s != tc.want {
				t.Errorf("CellAt(%v, %v, %d) = %s, want %s", tc.lon, tc.lat, tc.res, s, tc.want)
			}
		})
	}
	t.Run("every resolution", func(t *testing.T) {
		for res := 0; res <= 15; res++ {
			c, err := CellAt(114.0579, 22.5431, res)
			if err != nil {
				t.Fatal(err)
			}
			if CellRes(c) != res || !ValidCell(c) {
				t.Errorf("res %d: got cell %x of res %d, valid %v", res, c, CellRes(c), ValidCell(c))
			}
		}
	})
}

// TestParentBitsMatchesH3 checks the bit arithmetic against h3's
// cellToParent for cells of every resolution around random points, and for
// all pentagons and their descendants.
func TestParentBitsMatchesH3(t *testing.T) {
	check := func(t *testing.T, c h3.Cell) {
		t.Helper()
		cres := c.Resolution()
		for res := 0; res <= cres; res++ {
			want := int64(c.Parent(res))
			if got := ParentBits(int64(c), res); got != want {
				t.Fatalf("ParentBits(%s, %d) = %x, want %x", c, res, got, want)
			}
		}
	}

	t.Run("random points", func(t *testing.T) {
		n := 20000
		if testing.Short() {
			n = 2000
		}
		r := rand.New(rand.NewPCG(1, 2))
		for range n {
			lon, lat := randomPoint(r)
			ll := h3.NewLatLng(lat, lon)
			for cres := 0; cres <= 15; cres++ {
				check(t, ll.Cell(cres))
			}
		}
	})
	t.Run("pentagons", func(t *testing.T) {
		for res := 0; res <= 15; res++ {
			pents := h3.Pentagons(res)
			if len(pents) != 12 {
				t.Fatalf("res %d: %d pentagons", res, len(pents))
			}
			for _, p := range pents {
				check(t, p)
				check(t, p.CenterChild(15)) // pentagon descendants
				if res <= 13 {
					for _, child := range p.Children(res + 2) {
						check(t, child)
					}
				}
			}
		}
	})
}

func TestParentBits(t *testing.T) {
	cell, err := ParseCell("8c4b9a2b1a5c1ff") // some res-12 cell
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		res  int
		want int64
	}{
		{"same resolution is identity", 12, cell},
		{"finer resolution is null", 13, 0},
		{"negative resolution is null", -1, 0},
		{"res 16 is null", 16, 0},
		{"res 9", 9, int64(h3.Cell(cell).Parent(9))},
		{"res 0", 0, int64(h3.Cell(cell).Parent(0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParentBits(cell, tc.res); got != tc.want {
				t.Errorf("ParentBits(%x, %d) = %x, want %x", cell, tc.res, got, tc.want)
			}
		})
	}
	// The documented SQL expression, evaluated with Go's int64 semantics,
	// which match PostgreSQL bigint for these shifts.
	t.Run("sql expression", func(t *testing.T) {
		for res := int64(0); res <= 12; res++ {
			sql := (cell & ^(int64(15) << 52)) | (res << 52) | ((int64(1) << (3 * (15 - res))) - 1)
			if got := ParentBits(cell, int(res)); got != sql {
				t.Errorf("res %d: ParentBits = %x, SQL expression = %x", res, got, sql)
			}
		}
	})
}

func TestCellStringParseCell(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  string // canonical form; "" means error
		inErr string // substring of the error
	}{
		{"canonical", "872830828ffffff", "872830828ffffff", ""},
		{"upper case", "872830828FFFFFF", "872830828ffffff", ""},
		{"0x prefix", "0x872830828ffffff", "872830828ffffff", ""},
		{"res 12", "8c4b9a2b1a5c1ff", "8c4b9a2b1a5c1ff", ""},
		{"empty", "", "", `parse H3 cell ""`},
		{"not hex", "zz2830828ffffff", "", `"zz2830828ffffff"`},
		{"signed", "-72830828ffffff", "", "not a hexadecimal"},
		{"too long", "872830828ffffff00", "", "not a hexadecimal"},
		{"zero", "0", "", "not a valid H3 cell"},
		{"bad digit", "872830828fffff0", "", "not a valid H3 cell"},
		{"mode 2 (directed edge) bits", "1172830828ffffff", "", "not a valid H3 cell"},
		{"high bit set", "f72830828ffffff0", "", "not a valid H3 cell"},
		{"decimal id", "608692970769612799", "", "not a hexadecimal"},
		{"only prefix", "0x", "", "not a hexadecimal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCell(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("ParseCell(%q) = %x, want error", tc.in, c)
				}
				if !errors.Is(err, ErrInvalidCell) {
					t.Errorf("error %v does not wrap ErrInvalidCell", err)
				}
				if !strings.Contains(err.Error(), tc.inErr) {
					t.Errorf("error %q does not contain %q", err, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := CellString(c); s != tc.want {
				t.Errorf("CellString(ParseCell(%q)) = %q, want %q", tc.in, s, tc.want)
			}
			if s := h3.Cell(c).String(); s != tc.want {
				t.Errorf("h3 formats the cell as %q, want %q", s, tc.want)
			}
		})
	}
	t.Run("edge index from h3", func(t *testing.T) {
		c := h3.NewLatLng(22.5431, 114.0579).Cell(9)
		e := c.DirectedEdges()[0]
		if _, err := ParseCell(CellString(int64(e))); err == nil {
			t.Errorf("ParseCell accepted directed edge %x", int64(e))
		}
	})
}

func FuzzParseCell(f *testing.F) {
	f.Add("872830828ffffff")
	f.Add("0x8c4b9a2b1a5c1ff")
	f.Add("")
	f.Add("ffffffffffffffff")
	f.Add("-1")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCell(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCell) {
				t.Fatalf("error %v does not wrap ErrInvalidCell", err)
			}
			return
		}
		if !ValidCell(c) {
			t.Fatalf("ParseCell(%q) = invalid %x", s, c)
		}
		again, err := ParseCell(CellString(c))
		if err != nil || again != c {
			t.Fatalf("round trip of %q: %x, %v", s, again, err)
		}
		hex := s
		if len(hex) > 2 && strings.EqualFold(hex[:2], "0x") {
			hex = hex[2:]
		}
		if u, err := strconv.ParseUint(hex, 16, 64); err != nil || int64(u) != c {
			t.Fatalf("ParseCell(%q) = %x, ParseUint gives %x, %v", s, c, u, err)
		}
	})
}

func TestCellBoundary(t *testing.T) {
	hex, _ := CellAt(114.0579, 22.5431, 9)
	tests := []struct {
		name string
		cell int64
	}{
		{"hexagon res 9 shenzhen", hex},
		{"hexagon res 12", ParentBits(mustCell(t, 121.4737, 31.2304, 15), StorageRes)},
		{"pentagon res 0", int64(h3.Pentagons(0)[0])},
		{"pentagon res 7", int64(h3.Pentagons(7)[3])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			poly := CellBoundary(tc.cell)
			if len(poly) != 1 {
				t.Fatalf("got %d rings", len(poly))
			}
			ring := poly[0]
			if !ring.Closed() {
				t.Error("ring is not closed")
			}
			minVerts := 6
			if h3.Cell(tc.cell).IsPentagon() {
				minVerts = 5
			}
			if len(ring)-1 < minVerts || len(ring)-1 > h3.MaxCellBndryVerts {
				t.Errorf("ring has %d vertices", len(ring)-1)
			}
			centre := CellCenter(tc.cell)
			if h3.Cell(tc.cell).Resolution() > 0 {
				if ring.Orientation() != orb.CCW {
					t.Error("ring is not counter-clockwise")
				}
				if !planar.RingContains(ring, centre) {
					t.Errorf("ring does not contain the centre %v", centre)
				}
			}
			// Every vertex is about one edge length from the centre.
			edge := h3.HexagonEdgeLengthAvgM(h3.Cell(tc.cell).Resolution())
			for _, v := range ring {
				if d := orbgeo.DistanceHaversine(centre, v); d < 0.5*edge || d > 1.6*edge {
					t.Errorf("vertex %v is %.1f m from the centre, edge %.1f m", v, d, edge)
				}
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		if p := CellBoundary(12345); p != nil {
			t.Errorf("CellBoundary(invalid) = %v", p)
		}
	})
}

func mustCell(t *testing.T, lon, lat float64, res int) int64 {
	t.Helper()
	c, err := CellAt(lon, lat, res)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCellsInPolygon(t *testing.T) {
	// A 2 km × 2 km square in Futian, Shenzhen, with a 500 m square hole.
	proj := NewLocalProjection(114.0579, 22.5431)
	square := func(half float64) orb.Ring {
		var r orb.Ring
		for _, xy := range [][2]float64{{-half, -half}, {half, -half}, {half, half}, {-half, half}, {-half, -half}} {
			lon, lat := proj.ToLonLat(xy[0], xy[1])
			r = append(r, orb.Point{lon, lat})
		}
		return r
	}
	outer, hole := square(1000), square(250)
	tests := []struct {
		name     string
		geom     orb.Geometry
		res      int
		areaM2   float64 // expected area covered; 0: skip the count check
		wantErr  error   // nil: no error; errAny: any error
		holeFree bool
	}{
		{"square res 9", orb.Polygon{outer}, 9, 4e6, nil, false},
		{"square res 11", orb.Polygon{outer}, 11, 4e6, nil, false},
		{"ring", outer, 10, 4e6, nil, false},
		{"bound", outer.Bound(), 10, 0, nil, false},
		{"with hole", orb.Polygon{outer, hole}, 11, 4e6 - 0.25e6, nil, true},
		{"overlapping multi polygon", orb.MultiPolygon{{outer}, {outer}}, 10, 4e6, nil, false},
		{"too many cells", orb.Bound{Min: orb.Point{73, 18}, Max: orb.Point{135, 53}}, 12, 0, ErrTooManyCells, false},
		{"unsupported geometry", orb.LineString{{0, 0}, {1, 1}}, 9, 0, errAny, false},
		{"bad res", orb.Polygon{outer}, 16, 0, errAny, false},
		{"out of range", orb.Polygon{{{170, 0}, {190, 0}, {190, 10}, {170, 0}}}, 3, 0, errAny, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cells, err := CellsInPolygon(tc.geom, tc.res)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got %d cells, want error", len(cells))
				}
				if tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cells) == 0 {
				t.Fatal("no cells")
			}
			if !slices.IsSorted(cells) || len(slices.Compact(slices.Clone(cells))) != len(cells) {
				t.Error("cells not sorted and unique")
			}
			if tc.areaM2 > 0 {
				want := tc.areaM2 / h3.HexagonAreaAvgM2(tc.res)
				// Cells near Shenzhen are larger than the global average and the
				// edges are ragged; allow 35%.
				if f := float64(len(cells)) / want; f < 0.65 || f > 1.35 {
					t.Errorf("got %d cells, expected about %.0f", len(cells), want)
				}
			}
			for _, c := range cells {
				if CellRes(c) != tc.res {
					t.Fatalf("cell %x has res %d", c, CellRes(c))
				}
				centre := CellCenter(c)
				if !planar.RingContains(outer, centre) {
					t.Fatalf("cell %x centre %v outside the polygon", c, centre)
				}
				if tc.holeFree && planar.RingContains(hole, centre) {
					t.Fatalf("cell %x centre %v inside the hole", c, centre)
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestResolutionForZoom(t *testing.T) {
	tests := []struct {
		z, want int
	}{
		{0, 6}, {5, 6}, {8, 6}, {9, 7}, {10, 8}, {11, 8}, {12, 9}, {13, 10}, {14, 10},
		{15, 11}, {18, 11}, {MaxZoom, 11},
	}
	for _, tc := range tests {
		t.Run("z"+strconv.Itoa(tc.z), func(t *testing.T) {
			if got := ResolutionForZoom(tc.z); got != tc.want {
				t.Errorf("ResolutionForZoom(%d) = %d, want %d", tc.z, got, tc.want)
			}
		})
	}
	// Over the zooms of a city map, a hexagon (≈ 2 edges wide) at 30°N is a
	// few to about 20 pixels across.
	for z := 8; z <= 15; z++ {
		res := ResolutionForZoom(z)
		px := 2 * h3.HexagonEdgeLengthAvgM(res) / GroundResolution(30, z)
		if px < 4 || px > 22 {
			t.Errorf("z%d → res %d: hexagon %.1f px across", z, res, px)
		}
	}
	for z := 0; z <= MaxZoom; z++ {
		if r := ResolutionForZoom(z); r > slices.Max(Resolutions) || r > StorageRes {
			t.Errorf("z%d → res %d, finer than the standard resolutions", z, r)
		}
	}
}

func BenchmarkCellAt(b *testing.B) {
	for b.Loop() {
		if _, err := CellAt(114.0579, 22.5431, StorageRes); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParentBits(b *testing.B) {
	cell, _ := CellAt(114.0579, 22.5431, StorageRes)
	var sink int64
	for i := 0; b.Loop(); i++ {
		sink ^= ParentBits(cell, 7+i%5)
	}
	_ = sink
}

func BenchmarkH3Parent(b *testing.B) {
	cell, _ := CellAt(114.0579, 22.5431, StorageRes)
	c := h3.Cell(cell)
	for i := 0; b.Loop(); i++ {
		_ = c.Parent(7 + i%5)
	}
}
