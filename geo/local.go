package geo

import "math"

// WGS-84 ellipsoid.
const (
	wgs84A  = 6378137.0            // semi-major axis, metres
	wgs84E2 = 0.006694379990141317 // first eccentricity squared, f(2−f), f = 1/298.257223563
)

// MetresPerDegreeLat returns the length, in metres, of one degree of
// latitude at latitude lat (degrees) on the WGS-84 ellipsoid: 110,574 m at
// the equator, 111,694 m at the poles.
func MetresPerDegreeLat(lat float64) float64 {
	s := math.Sin(lat * math.Pi / 180)
	w := 1 - wgs84E2*s*s
	m := wgs84A * (1 - wgs84E2) / (w * math.Sqrt(w)) // meridional radius of curvature
	return m * math.Pi / 180
}

// MetresPerDegreeLon returns the length, in metres, of one degree of
// longitude at latitude lat (degrees) on the WGS-84 ellipsoid: 111,320 m at
// the equator, 0 at the poles.
func MetresPerDegreeLon(lat float64) float64 {
	rad := lat * math.Pi / 180
	s := math.Sin(rad)
	n := wgs84A / math.Sqrt(1-wgs84E2*s*s) // prime vertical radius of curvature
	return n * math.Cos(rad) * math.Pi / 180
}

// LocalProjection is an equirectangular projection tangent at an origin: x
// metres east and y metres north of (Lon0, Lat0), with the scale of the
// ellipsoid at the origin. Within a city (±20 km) distances are right to
// about 0.01%, which is ample for laying out synthetic buildings and
// streets; it is not a survey projection.
type LocalProjection struct {
	Lon0, Lat0 float64 // origin, degrees
	mLon, mLat float64 // metres per degree at the origin
}

// NewLocalProjection returns the local projection with origin (lon0, lat0),
// in degrees. The origin must not be at a pole.
func NewLocalProjection(lon0, lat0 float64) LocalProjection {
	return LocalProjection{
		Lon0: lon0, Lat0: lat0,
		mLon: MetresPerDegreeLon(lat0),
		mLat: MetresPerDegreeLat(lat0),
	}
}

// ToMetres returns the position of (lon, lat), in degrees, as x metres east
// and y metres north of the origin.
func (p LocalProjection) ToMetres(lon, lat float64) (x, y float64) {
	return (lon - p.Lon0) * p.mLon, (lat - p.Lat0) * p.mLat
}

// ToLonLat returns the lon/lat, in degrees, of the point x metres east and y
// metres north of the origin.
func (p LocalProjection) ToLonLat(x, y float64) (lon, lat float64) {
	return p.Lon0 + x/p.mLon, p.Lat0 + y/p.mLat
}
