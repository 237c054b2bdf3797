package geo

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// halfWorld is π·6378137, the published half-width of EPSG:3857 in metres.
const halfWorld = 20037508.342789244

// slippyXY is the standard OSM slippy-map formula, written independently of
// the code under test (ln(tan φ + sec φ) rather than asinh(tan φ)).
func slippyXY(lon, lat float64, z int) (x, y int) {
	n := math.Pow(2, float64(z))
	phi := lat * math.Pi / 180
	x = int(math.Floor((lon + 180) / 360 * n))
	y = int(math.Floor((1 - math.Log(math.Tan(phi)+1/math.Cos(phi))/math.Pi) / 2 * n))
	return x, y
}

func boundNear(a, b orb.Bound, tol float64) bool {
	return math.Abs(a.Min[0]-b.Min[0]) <= tol && math.Abs(a.Min[1]-b.Min[1]) <= tol &&
		math.Abs(a.Max[0]-b.Max[0]) <= tol && math.Abs(a.Max[1]-b.Max[1]) <= tol
}

func TestTileBounds(t *testing.T) {
	tests := []struct {
		name     string
		tile     Tile
		mercator orb.Bound
		lonLat   orb.Bound
	}{
		{
			name:     "z0 world",
			tile:     Tile{0, 0, 0},
			mercator: orb.Bound{Min: orb.Point{-halfWorld, -halfWorld}, Max: orb.Point{halfWorld, halfWorld}},
			lonLat:   orb.Bound{Min: orb.Point{-180, -85.0511287798066}, Max: orb.Point{180, 85.0511287798066}},
		},
		{
			name:     "1/0/0 north-west quarter",
			tile:     Tile{1, 0, 0},
			mercator: orb.Bound{Min: orb.Point{-halfWorld, 0}, Max: orb.Point{0, halfWorld}},
			lonLat:   orb.Bound{Min: orb.Point{-180, 0}, Max: orb.Point{0, 85.0511287798066}},
		},
		{
			name:     "1/1/1 south-east quarter",
			tile:     Tile{1, 1, 1},
			mercator: orb.Bound{Min: orb.Point{0, -halfWorld}, Max: orb.Point{halfWorld, 0}},
			lonLat:   orb.Bound{Min: orb.Point{0, -85.0511287798066}, Max: orb.Point{180, 0}},
		},
		{
			// z2: tile width is halfWorld/2; y=1 spans mercator 0..halfWorld/2,
			// i.e. latitude 0..atan(sinh(π/2)) = 66.51326044311186°.
			name:     "2/3/1",
			tile:     Tile{2, 3, 1},
			mercator: orb.Bound{Min: orb.Point{halfWorld / 2, 0}, Max: orb.Point{halfWorld, halfWorld / 2}},
			lonLat:   orb.Bound{Min: orb.Point{90, 0}, Max: orb.Point{180, 66.51326044311186}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.tile.MercatorBound(); !boundNear(got, tc.mercator, 1e-6) {
				t.Errorf("MercatorBound() = %v, want %v", got, tc.mercator)
			}
			if got := tc.tile.Bound(); !boundNear(got, tc.lonLat, 1e-9) {
				t.Errorf("Bound() = %v, want %v", got, tc.lonLat)
			}
		})
	}
}

func TestTileAt(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		z        int
		wantX    int // published / hand-checked where given, else -1
	}{
		{"shenzhen z14", 114.0579, 22.5431, 14, 13382},
		{"beijing z12", 116.3975, 39.9087, 12, 3372},
		{"shanghai z18", 121.4737, 31.2304, 18, -1},
		{"urumqi z10", 87.6168, 43.8256, 10, -1},
		{"sydney z16", 151.2093, -33.8688, 16, -1},
		{"new york z3", -74.006, 40.7128, 3, 2},
		{"z0", 10, 10, 0, 0},
		{"z24", 114.0579, 22.5431, 24, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := slippyXY(tc.lon, tc.lat, tc.z)
			if tc.wantX >= 0 && x != tc.wantX {
				t.Fatalf("test formula gives x=%d, want %d", x, tc.wantX)
			}
			want := Tile{tc.z, x, y}
			got := TileAt(tc.lon, tc.lat, tc.z)
			if got != want {
				t.Errorf("TileAt(%v, %v, %d) = %v, want %v", tc.lon, tc.lat, tc.z, got, want)
			}
			if b := got.Bound(); !b.Contains(orb.Point{tc.lon, tc.lat}) {
				t.Errorf("tile %v bound %v does not contain the point", got, b)
			}
			mx, my := LonLatToMercator(tc.lon, tc.lat)
			if b := got.MercatorBound(); !b.Contains(orb.Point{mx, my}) {
				t.Errorf("tile %v mercator bound %v does not contain (%v, %v)", got, b, mx, my)
			}
		})
	}
	t.Run("clamped", func(t *testing.T) {
		if got, want := TileAt(180, 90, 3), (Tile{3, 7, 0}); got != want {
			t.Errorf("TileAt(180, 90) = %v, want %v", got, want)
		}
		if got, want := TileAt(-200, -90, 3), (Tile{3, 0, 7}); got != want {
			t.Errorf("TileAt(-200, -90) = %v, want %v", got, want)
		}
	})
}

func TestValidTile(t *testing.T) {
	tests := []struct {
		name    string
		z, x, y int
		valid   bool
	}{
		{"z0", 0, 0, 0, true},
		{"z0 x1", 0, 1, 0, false},
		{"z14 last", 14, 16383, 16383, true},
		{"z14 x overflow", 14, 16384, 0, false},
		{"z14 y overflow", 14, 0, 16384, false},
		{"negative x", 3, -1, 0, false},
		{"negative z", -1, 0, 0, false},
		{"max zoom", MaxZoom, 1<<MaxZoom - 1, 0, true},
		{"beyond max zoom", MaxZoom + 1, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidTile(tc.z, tc.x, tc.y); got != tc.valid {
				t.Errorf("ValidTile(%d, %d, %d) = %v, want %v", tc.z, tc.x, tc.y, got, tc.valid)
			}
			if got := (Tile{tc.z, tc.x, tc.y}).Valid(); got != tc.valid {
				t.Errorf("Tile.Valid() = %v, want %v", got, tc.valid)
			}
		})
	}
}

func TestTileString(t *testing.T) {
	if got := (Tile{14, 13382, 7139}).String(); got != "14/13382/7139" {
		t.Errorf("String() = %q", got)
	}
}

func TestTilesCovering(t *testing.T) {
	// Shenzhen's built-up area, roughly.
	shenzhen := orb.Bound{Min: orb.Point{113.75, 22.45}, Max: orb.Point{114.62, 22.86}}
	tests := []struct {
		name  string
		bound orb.Bound
		z     int
		want  []Tile // nil: check against the slippy formula
		count int    // -1: don't check
	}{
		{"world z0", orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, 0, []Tile{{0, 0, 0}}, 1},
		{"world z2", orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}, 2, nil, 16},
		{"point", orb.Bound{Min: orb.Point{114.0579, 22.5431}, Max: orb.Point{114.0579, 22.5431}}, 14, nil, 1},
		{"exact tile 1/1/0 excludes touching neighbours", (Tile{1, 1, 0}).Bound(), 1, []Tile{{1, 1, 0}}, 1},
		{"exact tile 10/800/400", (Tile{10, 800, 400}).Bound(), 10, []Tile{{10, 800, 400}}, 1},
		{"exact tile one zoom deeper", (Tile{10, 800, 400}).Bound(), 11, []Tile{{11, 1600, 800}, {11, 1601, 800}, {11, 1600, 801}, {11, 1601, 801}}, 4},
		{"shenzhen z12", shenzhen, 12, nil, -1},
		{"shenzhen z15", shenzhen, 15, nil, -1},
		{"inverted", orb.Bound{Min: orb.Point{1, 1}, Max: orb.Point{0, 0}}, 3, []Tile{}, 0},
		{"bad zoom", shenzhen, MaxZoom + 1, []Tile{}, 0},
		{"NaN", orb.Bound{Min: orb.Point{math.NaN(), 0}, Max: orb.Point{1, 1}}, 3, []Tile{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TilesCovering(tc.bound, tc.z)
			want := tc.want
			if want == nil {
				x0, y0 := slippyXY(tc.bound.Min[0], math.Min(tc.bound.Max[1], 85.05), tc.z)
				x1, y1 := slippyXY(math.Min(tc.bound.Max[0], 179.999999), math.Max(tc.bound.Min[1], -85.05), tc.z)
				for y := y0; y <= y1; y++ {
					for x := x0; x <= x1; x++ {
						want = append(want, Tile{tc.z, x, y})
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d tiles, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("tile %d = %v, want %v", i, got[i], want[i])
				}
			}
			if tc.count >= 0 && len(got) != tc.count {
				t.Errorf("got %d tiles, want %d", len(got), tc.count)
			}
			if r, ok := TileRangeCovering(tc.bound, tc.z); ok && r.Count() != len(got) {
				t.Errorf("TileRangeCovering count %d, TilesCovering %d", r.Count(), len(got))
			}
		})
	}
}

func TestMercator(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		x, y     float64
	}{
		{"origin", 0, 0, 0, 0},
		{"antimeridian", 180, 0, halfWorld, 0},
		{"west", -180, 0, -halfWorld, 0},
		{"north edge", 0, 85.0511287798066, 0, halfWorld},
		{"beyond north edge clamps", 0, 89.9, 0, halfWorld},
		// x = R·λ, y = R·ln(tan(π/4 + φ/2)), computed here independently.
		{"beijing", 116.397428, 39.90923,
			6378137 * 116.397428 * math.Pi / 180,
			6378137 * math.Log(math.Tan(math.Pi/4+39.90923*math.Pi/360))},
		{"shenzhen", 114.0579, 22.5431,
			6378137 * 114.0579 * math.Pi / 180,
			6378137 * math.Log(math.Tan(math.Pi/4+22.5431*math.Pi/360))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y := LonLatToMercator(tc.lon, tc.lat)
			if math.Abs(x-tc.x) > 1e-6 || math.Abs(y-tc.y) > 1e-6 {
				t.Errorf("LonLatToMercator(%v, %v) = (%.9f, %.9f), want (%.9f, %.9f)", tc.lon, tc.lat, x, y, tc.x, tc.y)
			}
			lon, lat := MercatorToLonLat(x, y)
			if math.Abs(lon-tc.lon) > 1e-9 || (tc.lat < MaxMercatorLat && math.Abs(lat-tc.lat) > 1e-9) {
				t.Errorf("MercatorToLonLat(%v, %v) = (%v, %v), want (%v, %v)", x, y, lon, lat, tc.lon, tc.lat)
			}
		})
	}
}

func TestMetresPerPixel(t *testing.T) {
	tests := []struct {
		name string
		z    int
		want float64
	}{
		{"z0", 0, 156543.03392804097}, // 2·π·6378137 / 256
		{"z1", 1, 78271.51696402048},
		{"z14", 14, 9.554628535647032},
		{"z24", 24, 0.009330691929342784},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MetresPerPixel(tc.z); math.Abs(got-tc.want) > 1e-9*tc.want {
				t.Errorf("MetresPerPixel(%d) = %v, want %v", tc.z, got, tc.want)
			}
		})
	}
	t.Run("ground at 60N is half", func(t *testing.T) {
		if got, want := GroundResolution(60, 10), MetresPerPixel(10)/2; math.Abs(got-want) > 1e-9 {
			t.Errorf("GroundResolution(60, 10) = %v, want %v", got, want)
		}
	})
}

func TestParseTilePath(t *testing.T) {
	tests := []struct {
		name       string
		z, x, y    string
		want       Tile
		errParam   string // "" means no error
		errContain string
	}{
		{"plain", "14", "13382", "7139", Tile{14, 13382, 7139}, "", ""},
		{"pbf", "14", "13382", "7139.pbf", Tile{14, 13382, 7139}, "", ""},
		{"mvt", "0", "0", "0.mvt", Tile{0, 0, 0}, "", ""},
		{"max zoom", "24", "16777215", "16777215", Tile{24, 16777215, 16777215}, "", ""},
		{"leading zeros", "03", "007", "1", Tile{3, 7, 1}, "", ""},
		{"z too big", "25", "0", "0", Tile{}, "z", "z must be an integer 0..24"},
		{"z negative", "-1", "0", "0", Tile{}, "z", "z must be an integer 0..24"},
		{"z empty", "", "0", "0", Tile{}, "z", "z must be an integer 0..24"},
		{"z plus sign", "+3", "0", "0", Tile{}, "z", "z must be an integer"},
		{"z float", "1.5", "0", "0", Tile{}, "z", "z must be an integer"},
		{"z huge", "99999999999999999999", "0", "0", Tile{}, "z", "z must be an integer"},
		{"x out of range", "14", "16384", "0", Tile{}, "x", "x out of range 0..16383 at z=14"},
		{"x not a number", "3", "abc", "0", Tile{}, "x", "x must be an integer 0..7 at z=3"},
		{"x with suffix", "3", "1.pbf", "0", Tile{}, "x", "x must be an integer"},
		{"y out of range", "1", "0", "2.pbf", Tile{}, "y", "y out of range 0..1 at z=1"},
		{"y suffix only", "1", "0", ".pbf", Tile{}, "y", "y must be an integer"},
		{"y double suffix", "1", "0", "1.pbf.mvt", Tile{}, "y", "y must be an integer"},
		{"y other suffix", "1", "0", "1.png", Tile{}, "y", "y must be an integer"},
		{"y space", "1", "0", " 1", Tile{}, "y", "y must be an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTilePath(tc.z, tc.x, tc.y)
			if tc.errParam == "" {
				if err != nil {
					t.Fatalf("ParseTilePath(%q, %q, %q): %v", tc.z, tc.x, tc.y, err)
				}
				if got != tc.want {
					t.Errorf("ParseTilePath(%q, %q, %q) = %v, want %v", tc.z, tc.x, tc.y, got, tc.want)
				}
				return
			}
			var pe *TilePathError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseTilePath(%q, %q, %q) error = %v, want *TilePathError", tc.z, tc.x, tc.y, err)
			}
			if pe.Param != tc.errParam {
				t.Errorf("Param = %q, want %q", pe.Param, tc.errParam)
			}
			if !strings.Contains(err.Error(), tc.errContain) {
				t.Errorf("error %q does not contain %q", err, tc.errContain)
			}
		})
	}
}

func FuzzParseTilePath(f *testing.F) {
	f.Add("14", "13382", "7139.pbf")
	f.Add("0", "0", "0.mvt")
	f.Add("24", "16777215", "16777215")
	f.Add("25", "0", "0")
	f.Add("3", "-1", "0")
	f.Add("1", "0", "1.pbf.pbf")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, zs, xs, ys string) {
		tile, err := ParseTilePath(zs, xs, ys)
		if err != nil {
			var pe *TilePathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *TilePathError", err)
			}
			if pe.Param != "z" && pe.Param != "x" && pe.Param != "y" {
				t.Fatalf("Param = %q", pe.Param)
			}
			if !strings.HasPrefix(err.Error(), pe.Param+" ") {
				t.Fatalf("error %q does not start with the parameter name", err)
			}
			return
		}
		if !tile.Valid() {
			t.Fatalf("ParseTilePath(%q, %q, %q) = invalid tile %v", zs, xs, ys, tile)
		}
		// Parsing the canonical form gives the same tile.
		again, err := ParseTilePath(strconv.Itoa(tile.Z), strconv.Itoa(tile.X), strconv.Itoa(tile.Y)+".pbf")
		if err != nil || again != tile {
			t.Fatalf("reparse of %v = %v, %v", tile, again, err)
		}
		if got := strings.Split(tile.String(), "/"); len(got) != 3 {
			t.Fatalf("String() = %q", tile.String())
		}
	})
}

func BenchmarkTilesCovering(b *testing.B) {
	bound := orb.Bound{Min: orb.Point{113.75, 22.45}, Max: orb.Point{114.62, 22.86}}
	for b.Loop() {
		TilesCovering(bound, 14)
	}
}
