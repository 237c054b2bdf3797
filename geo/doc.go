// Package geo owns the project's pure spatial arithmetic: datum shifts
// between the Chinese GCJ-02 ("Mars") coordinates and WGS-84, Web Mercator
// (EPSG:3857) slippy-map tile maths, H3 cell helpers for the int64 cell ids
// stored in the database, and a small local equirectangular projection for
// laying out geometry in metres.
//
// The package does no I/O: no database, no HTTP, no logging. It imports
// nothing of the project, only github.com/paulmach/orb and
// github.com/uber/h3-go/v4, so every other package may depend on it.
//
// Conventions: coordinates are passed as (lon, lat) in degrees, in that
// order, matching orb.Point{lon, lat} and GeoJSON. Web Mercator coordinates
// are in metres. Unless a function says GCJ-02, lon/lat are WGS-84.
package geo
