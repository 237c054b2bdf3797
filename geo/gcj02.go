package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// Constants of the published GCJ-02 obfuscation formula. The formula uses the
// Krasovsky 1940 ellipsoid.
const (
	gcjA  = 6378245.0              // semi-major axis, metres
	gcjEE = 0.00669342162296594323 // first eccentricity squared
)

// The rectangle, in degrees, outside which GCJ-02 applies no offset. This is
// the rough bounding box used by every published implementation of the
// formula; it includes some neighbouring territory and excludes nothing of
// mainland China.
const (
	chinaMinLon = 72.004
	chinaMaxLon = 137.8347
	chinaMinLat = 0.8293
	chinaMaxLat = 55.8271
)

// gcjInverseTolerance is the convergence threshold of GCJ02ToWGS84, in
// degrees (about 0.1 mm).
const gcjInverseTolerance = 1e-9

// gcjInverseMaxIter bounds the fixed-point iteration of GCJ02ToWGS84. The
// iteration contracts by a factor of about 1e-3 a step, so it converges in
// 3–4 steps; the bound only guards against pathological input.
const gcjInverseMaxIter = 30

// OutOfChina reports whether the point (lon, lat), in degrees, lies outside
// the rectangle where GCJ-02 applies an offset. For such points GCJ-02 and
// WGS-84 coincide. NaN coordinates are reported as out of China.
func OutOfChina(lon, lat float64) bool {
	return !(lon >= chinaMinLon && lon <= chinaMaxLon && lat >= chinaMinLat && lat <= chinaMaxLat)
}

// WGS84ToGCJ02 converts a WGS-84 point (lon, lat), in degrees, to GCJ-02,
// the datum used by AMap (Gaode), Tencent and Google's China maps. The offset
// is a few hundred metres inside China and zero outside it (see OutOfChina).
func WGS84ToGCJ02(lon, lat float64) (gcjLon, gcjLat float64) {
	if OutOfChina(lon, lat) {
		return lon, lat
	}
	dLon, dLat := gcjDelta(lon, lat)
	return lon + dLon, lat + dLat
}

// GCJ02ToWGS84 converts a GCJ-02 point (lon, lat), in degrees, to WGS-84.
//
// GCJ-02 has no closed-form inverse. This solves WGS84ToGCJ02(w) = g by
// fixed-point iteration w ← w − (WGS84ToGCJ02(w) − g), starting from w = g,
// until a step moves less than 1e-9 degrees (at most 30 steps). The result
// round-trips through WGS84ToGCJ02 to about 1e-9 degrees, unlike the common
// one-step approximation, which is off by a metre or two.
func GCJ02ToWGS84(lon, lat float64) (wgsLon, wgsLat float64) {
	if OutOfChina(lon, lat) {
		return lon, lat
	}
	wLon, wLat := lon, lat
	for range gcjInverseMaxIter {
		gLon, gLat := WGS84ToGCJ02(wLon, wLat)
		eLon, eLat := gLon-lon, gLat-lat
		wLon -= eLon
		wLat -= eLat
		if math.Abs(eLon) < gcjInverseTolerance && math.Abs(eLat) < gcjInverseTolerance {
			break
		}
	}
	return wLon, wLat
}

// WGS84ToGCJ02Geometry converts every point of g from WGS-84 to GCJ-02. The
// geometry is modified in place; the result must be used for orb.Point and
// orb.Bound, which are values. A nil geometry is returned unchanged.
func WGS84ToGCJ02Geometry(g orb.Geometry) orb.Geometry {
	return projectGeometry(g, func(p orb.Point) orb.Point {
		lon, lat := WGS84ToGCJ02(p[0], p[1])
		return orb.Point{lon, lat}
	})
}

// GCJ02ToWGS84Geometry converts every point of g from GCJ-02 to WGS-84 with
// GCJ02ToWGS84. The geometry is modified in place; the result must be used
// for orb.Point and orb.Bound, which are values. A nil geometry is returned
// unchanged.
func GCJ02ToWGS84Geometry(g orb.Geometry) orb.Geometry {
	return projectGeometry(g, func(p orb.Point) orb.Point {
		lon, lat := GCJ02ToWGS84(p[0], p[1])
		return orb.Point{lon, lat}
	})
}

func projectGeometry(g orb.Geometry, proj orb.Projection) orb.Geometry {
	if g == nil {
		return nil
	}
	return project.Geometry(g, proj)
}

// gcjDelta returns the GCJ-02 offset, in degrees, at the WGS-84 point
// (lon, lat).
func gcjDelta(lon, lat float64) (dLon, dLat float64) {
	x, y := lon-105.0, lat-35.0
	dLat = gcjTransformLat(x, y)
	dLon = gcjTransformLon(x, y)

	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (dLon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLon, dLat
}

// gcjTransformLat is the published latitude noise term, in metres, of the
// offsets x = lon−105, y = lat−35 (degrees).
func gcjTransformLat(x, y float64) float64 {
	ret := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	ret += (160.0*math.Sin(y/12.0*math.Pi) + 320.0*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	return ret
}

// gcjTransformLon is the published longitude noise term, in metres, of the
// offsets x = lon−105, y = lat−35 (degrees).
func gcjTransformLon(x, y float64) float64 {
	ret := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	ret += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	ret += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	ret += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	return ret
}
