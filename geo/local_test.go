package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// Lengths of a degree on the WGS-84 ellipsoid, as tabulated (to the metre)
// in the Wikipedia articles "Latitude" and "Longitude".
func TestMetresPerDegree(t *testing.T) {
	tests := []struct {
		name       string
		lat        float64
		lat1, lon1 float64 // metres
	}{
		{"equator", 0, 110574, 111320},
		{"15", 15, 110649, 107551},
		{"30", 30, 110852, 96486},
		{"45", 45, 111132, 78847},
		{"60", 60, 111412, 55800},
		{"75", 75, 111618, 28902},
		{"pole", 90, 111694, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MetresPerDegreeLat(tc.lat); math.Abs(got-tc.lat1) > 1 {
				t.Errorf("MetresPerDegreeLat(%v) = %.1f, want %v", tc.lat, got, tc.lat1)
			}
			if got := MetresPerDegreeLon(tc.lat); math.Abs(got-tc.lon1) > 1 {
				t.Errorf("MetresPerDegreeLon(%v) = %.1f, want %v", tc.lat, got, tc.lon1)
			}
		})
	}
}

func TestLocalProjection(t *testing.T) {
	tests := []struct {
		name       string
		lon0, lat0 float64
		x, y       float64 // metres
	}{
		{"origin", 114.0579, 22.5431, 0, 0},
		{"shenzhen 1 km east", 114.0579, 22.5431, 1000, 0},
		{"shenzhen 1 km north", 114.0579, 22.5431, 0, 1000},
		{"beijing 5 km south-west", 116.3975, 39.9087, -5000, -5000},
		{"harbin 15 km north-east", 126.6425, 45.7570, 15000, 15000},
		{"southern hemisphere", 151.2093, -33.8688, 3000, -2000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewLocalProjection(tc.lon0, tc.lat0)
			lon, lat := p.ToLonLat(tc.x, tc.y)
			x, y := p.ToMetres(lon, lat)
			if math.Abs(x-tc.x) > 1e-6 || math.Abs(y-tc.y) > 1e-6 {
				t.Errorf("round trip (%v, %v) → (%v, %v) → (%v, %v)", tc.x, tc.y, lon, lat, x, y)
			}
			// The distance from the origin agrees with the spherical
			// haversine to within the sphere's own error (≈0.5%).
			want := math.Hypot(tc.x, tc.y)
			got := orbgeo.DistanceHaversine(orb.Point{tc.lon0, tc.lat0}, orb.Point{lon, lat})
			if math.Abs(got-want) > 0.006*want+1e-9 {
				t.Errorf("haversine distance %.2f m, want ≈ %.2f m", got, want)
			}
			// Directions: east is +lon, north is +lat.
			if (tc.x > 0) != (lon > tc.lon0) && tc.x != 0 {
				t.Errorf("x=%v gives lon %v, origin %v", tc.x, lon, tc.lon0)
			}
			if (tc.y > 0) != (lat > tc.lat0) && tc.y != 0 {
				t.Errorf("y=%v gives lat %v, origin %v", tc.y, lat, tc.lat0)
			}
		})
	}
}
