package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// Reference pairs published with googollee/eviltransform (its test suite,
// shared by the Go, Python, PHP and C# ports), plus the commonly quoted
// Tiananmen example, which is only given to about 1e-5 degrees.
var gcjReference = []struct {
	name           string
	wgsLon, wgsLat float64
	gcjLon, gcjLat float64
	tolerance      float64 // degrees
}{
	{"shanghai", 121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-9},
	{"shenzhen", 113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-9},
	{"beijing", 116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-9},
	{"tiananmen", 116.397428, 39.90923, 116.403671, 39.910629, 1e-5},
}

func TestWGS84ToGCJ02Reference(t *testing.T) {
	for _, tc := range gcjReference {
		t.Run(tc.name, func(t *testing.T) {
			lon, lat := WGS84ToGCJ02(tc.wgsLon, tc.wgsLat)
			if math.Abs(lon-tc.gcjLon) > tc.tolerance || math.Abs(lat-tc.gcjLat) > tc.tolerance {
				t.Errorf("WGS84ToGCJ02(%v, %v) = (%.12f, %.12f), want (%.12f, %.12f) ±%g",
					tc.wgsLon, tc.wgsLat, lon, lat, tc.gcjLon, tc.gcjLat, tc.tolerance)
			}
		})
	}
}

func TestGCJ02ToWGS84Reference(t *testing.T) {
	for _, tc := range gcjReference {
		t.Run(tc.name, func(t *testing.T) {
			lon, lat := GCJ02ToWGS84(tc.gcjLon, tc.gcjLat)
			if math.Abs(lon-tc.wgsLon) > tc.tolerance || math.Abs(lat-tc.wgsLat) > tc.tolerance {
				t.Errorf("GCJ02ToWGS84(%v, %v) = (%.12f, %.12f), want (%.12f, %.12f) ±%g",
					tc.gcjLon, tc.gcjLat, lon, lat, tc.wgsLon, tc.wgsLat, tc.tolerance)
			}
		})
	}
}

// TestGCJ02RoundTripChina checks both round trips over a 0.25° grid covering
// the China rectangle, staying 0.05° inside its edges so that the offset point
// is still inside.
func TestGCJ02RoundTripChina(t *testing.T) {
	const tol = 1e-8 // degrees, about 1 mm
	n := 0
	for lon := chinaMinLon + 0.05; lon <= chinaMaxLon-0.05; lon += 0.25 {
		for lat := chinaMinLat + 0.05; lat <= chinaMaxLat-0.05; lat += 0.25 {
			n++
			gLon, gLat := WGS84ToGCJ02(lon, lat)
			wLon, wLat := GCJ02ToWGS84(gLon, gLat)
			if math.Abs(wLon-lon) > tol || math.Abs(wLat-lat) > tol {
				t.Fatalf("WGS→GCJ→WGS (%v, %v) → (%v, %v) → (%v, %v)", lon, lat, gLon, gLat, wLon, wLat)
			}
			// The other way: treat the grid point as GCJ-02.
			wLon, wLat = GCJ02ToWGS84(lon, lat)
			gLon, gLat = WGS84ToGCJ02(wLon, wLat)
			if math.Abs(gLon-lon) > tol || math.Abs(gLat-lat) > tol {
				t.Fatalf("GCJ→WGS→GCJ (%v, %v) → (%v, %v) → (%v, %v)", lon, lat, wLon, wLat, gLon, gLat)
			}
		}
	}
	if n < 50000 {
		t.Fatalf("grid has only %d points", n)
	}
}

// TestGCJ02InverseBeatsOneStep shows why the iteration is needed: the usual
// one-step inverse, w = 2g − WGS84ToGCJ02(g), misses by a metre or more.
func TestGCJ02InverseBeatsOneStep(t *testing.T) {
	for _, tc := range gcjReference[:3] {
		t.Run(tc.name, func(t *testing.T) {
			fLon, fLat := WGS84ToGCJ02(tc.gcjLon, tc.gcjLat)
			oneLon, oneLat := 2*tc.gcjLon-fLon, 2*tc.gcjLat-fLat
			oneErr := orbgeo.Distance(orb.Point{oneLon, oneLat}, orb.Point{tc.wgsLon, tc.wgsLat})
			lon, lat := GCJ02ToWGS84(tc.gcjLon, tc.gcjLat)
			iterErr := orbgeo.Distance(orb.Point{lon, lat}, orb.Point{tc.wgsLon, tc.wgsLat})
			if iterErr > 0.001 {
				t.Errorf("iterative inverse off by %.4f m, want < 1 mm", iterErr)
			}
			if oneErr < 0.1 {
				t.Logf("one-step inverse off by only %.4f m here", oneErr)
			}
		})
	}
}

// TestGCJ02OffsetMetres checks that the offset is of the documented size:
// hundreds of metres in Chinese cities.
func TestGCJ02OffsetMetres(t *testing.T) {
	cities := []struct {
		name     string
		lon, lat float64
	}{
		{"beijing", 116.3975, 39.9087},
		{"shanghai", 121.4737, 31.2304},
		{"shenzhen", 114.0579, 22.5431},
		{"chengdu", 104.0665, 30.5723},
		{"urumqi", 87.6168, 43.8256},
		{"harbin", 126.6425, 45.7570},
		{"lhasa", 91.1409, 29.6456},
		{"haikou", 110.1999, 20.0442},
	}
	for _, c := range cities {
		t.Run(c.name, func(t *testing.T) {
			gLon, gLat := WGS84ToGCJ02(c.lon, c.lat)
			d := orbgeo.Distance(orb.Point{c.lon, c.lat}, orb.Point{gLon, gLat})
			if d < 50 || d > 1000 {
				t.Errorf("offset at %s = %.1f m, want 50..1000 m", c.name, d)
			}
		})
	}
	// And nowhere in the rectangle is it beyond a couple of kilometres.
	var maxD float64
	for lon := chinaMinLon; lon <= chinaMaxLon; lon += 0.5 {
		for lat := chinaMinLat; lat <= chinaMaxLat; lat += 0.5 {
			gLon, gLat := WGS84ToGCJ02(lon, lat)
			maxD = max(maxD, orbgeo.Distance(orb.Point{lon, lat}, orb.Point{gLon, gLat}))
		}
	}
	if maxD > 2000 {
		t.Errorf("largest offset over China = %.0f m, want < 2 km", maxD)
	}
}

func TestOutOfChina(t *testing.T) {
	tests := []struct {
		name     string
		lon, lat float64
		out      bool
	}{
		{"beijing", 116.4, 39.9, false},
		{"south-west corner", chinaMinLon, chinaMinLat, false},
		{"north-east corner", chinaMaxLon, chinaMaxLat, false},
		{"west of box", 72.0, 30, true},
		{"east of box", 137.9, 30, true},
		{"south of box", 100, 0.8, true},
		{"north of box", 100, 55.9, true},
		{"london", -0.1276, 51.5072, true},
		{"tokyo", 139.6917, 35.6895, true},
		{"null island", 0, 0, true},
		{"NaN", math.NaN(), 30, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutOfChina(tc.lon, tc.lat); got != tc.out {
				t.Errorf("OutOfChina(%v, %v) = %v, want %v", tc.lon, tc.lat, got, tc.out)
			}
			if !tc.out || math.IsNaN(tc.lon) {
				return
			}
			// Outside China both directions are the identity.
			if lon, lat := WGS84ToGCJ02(tc.lon, tc.lat); lon != tc.lon || lat != tc.lat {
				t.Errorf("WGS84ToGCJ02(%v, %v) = (%v, %v), want identity", tc.lon, tc.lat, lon, lat)
			}
			if lon, lat := GCJ02ToWGS84(tc.lon, tc.lat); lon != tc.lon || lat != tc.lat {
				t.Errorf("GCJ02ToWGS84(%v, %v) = (%v, %v), want identity", tc.lon, tc.lat, lon, lat)
			}
		})
	}
}

func TestGCJ02Geometry(t *testing.T) {
	shenzhen := orb.Polygon{{{114.0, 22.5}, {114.1, 22.5}, {114.1, 22.6}, {114.0, 22.6}, {114.0, 22.5}}}
	tests := []struct {
		name string
		geom orb.Geometry
	}{
		{"point", orb.Point{121.5, 31.2}},
		{"line string", orb.LineString{{116.3, 39.9}, {116.4, 39.95}}},
		{"polygon", shenzhen},
		{"multi polygon", orb.MultiPolygon{shenzhen.Clone(), shenzhen.Clone()}},
		{"collection", orb.Collection{orb.Point{104.06, 30.57}, shenzhen.Clone()}},
		{"bound", orb.Bound{Min: orb.Point{114.0, 22.5}, Max: orb.Point{114.1, 22.6}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := orb.Clone(tc.geom)
			gcj := WGS84ToGCJ02Geometry(orb.Clone(tc.geom))
			wantPts, gotPts := points(orig), points(gcj)
			if len(gotPts) != len(wantPts) {
				t.Fatalf("got %d points, want %d", len(gotPts), len(wantPts))
			}
			for i, p := range wantPts {
				lon, lat := WGS84ToGCJ02(p[0], p[1])
				if gotPts[i] != (orb.Point{lon, lat}) {
					t.Errorf("point %d = %v, want (%v, %v)", i, gotPts[i], lon, lat)
				}
			}
			back := points(GCJ02ToWGS84Geometry(gcj))
			for i, p := range wantPts {
				if math.Abs(back[i][0]-p[0]) > 1e-8 || math.Abs(back[i][1]-p[1]) > 1e-8 {
					t.Errorf("round trip point %d = %v, want %v", i, back[i], p)
				}
			}
		})
	}
	t.Run("in place", func(t *testing.T) {
		ls := orb.LineString{{116.3, 39.9}}
		WGS84ToGCJ02Geometry(ls)
		if ls[0] == (orb.Point{116.3, 39.9}) {
			t.Error("line string not modified in place")
		}
	})
	t.Run("nil", func(t *testing.T) {
		if g := GCJ02ToWGS84Geometry(nil); g != nil {
			t.Errorf("nil geometry → %v", g)
		}
	})
}

// points flattens the points of a geometry in order.
func points(g orb.Geometry) []orb.Point {
	switch g := g.(type) {
	case orb.Point:
		return []orb.Point{g}
	case orb.LineString:
		return g
	case orb.Ring:
		return g
	case orb.Bound:
		return []orb.Point{g.Min, g.Max}
	case orb.Polygon:
		var ps []orb.Point
		for _, r := range g {
			ps = append(ps, r...)
		}
		return ps
	case orb.MultiPolygon:
		var ps []orb.Point
		for _, p := range g {
			ps = append(ps, points(p)...)
		}
		return ps
	case orb.Collection:
		var ps []orb.Point
		for _, x := range g {
			ps = append(ps, points(x)...)
		}
		return ps
	}
	panic("unhandled geometry")
}

func FuzzGCJ02RoundTrip(f *testing.F) {
	for _, tc := range gcjReference {
		f.Add(tc.wgsLon, tc.wgsLat)
	}
	f.Add(105.0, 35.0)  // origin of the formula, sqrt(|x|) kink
	f.Add(72.1, 0.9)    // near the south-west corner
	f.Add(-73.98, 40.7) // outside China
	f.Add(180.0, -90.0)
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		if math.IsNaN(lon) || math.IsNaN(lat) || math.Abs(lon) > 180 || math.Abs(lat) > 90 {
			t.Skip()
		}
		gLon, gLat := WGS84ToGCJ02(lon, lat)
		wLon, wLat := GCJ02ToWGS84(gLon, gLat)
		if math.IsNaN(gLon) || math.IsNaN(gLat) || math.IsNaN(wLon) || math.IsNaN(wLat) {
			t.Fatalf("NaN from (%v, %v): gcj (%v, %v), wgs (%v, %v)", lon, lat, gLon, gLat, wLon, wLat)
		}
		if OutOfChina(lon, lat) {
			if gLon != lon || gLat != lat || wLon != lon || wLat != lat {
				t.Fatalf("out of China (%v, %v) not identity: gcj (%v, %v), wgs (%v, %v)", lon, lat, gLon, gLat, wLon, wLat)
			}
			return
		}
		// The offset is < 0.02°; well inside the rectangle the round trip is exact.
		const margin = 0.05
		if lon < chinaMinLon+margin || lon > chinaMaxLon-margin || lat < chinaMinLat+margin || lat > chinaMaxLat-margin {
			return
		}
		if math.Abs(wLon-lon) > 1e-8 || math.Abs(wLat-lat) > 1e-8 {
			t.Fatalf("round trip (%v, %v) → (%v, %v) → (%v, %v)", lon, lat, gLon, gLat, wLon, wLat)
		}
	})
}
