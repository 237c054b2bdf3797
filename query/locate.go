package query

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/onegrid/onegrid/geo"
)

//go:embed sql/locate.sql
var locateSQL string

// MaxLocateRadius is the largest radius (metres) Locate searches for an address.
const MaxLocateRadius = 5000

// DefaultLocateRadius is the radius (metres) Locate searches when none is given.
const DefaultLocateRadius = 100

// Unit is an admin area or grid a point lies in.
type Unit struct {
	Code      string     `json:"code"`
	Name      string     `json:"name"`
	Version   *int       `json:"version,omitempty"`
	ValidFrom *time.Time `json:"valid_from,omitempty"`
	ValidTo   *time.Time `json:"valid_to,omitempty"`
}

// NearAddress is an address near a point.
type NearAddress struct {
	ID        int64   `json:"id"`
	Text      string  `json:"text"`
	DistanceM float64 `json:"distance_m"`
}

// Location is the answer of Locate. Units the point is not in are nil.
type Location struct {
	Lon       float64           `json:"lon"`
	Lat       float64           `json:"lat"`
	At        *time.Time        `json:"at"`
	District  *Unit             `json:"district"`
	Street    *Unit             `json:"street"`
	Community *Unit             `json:"community"`
	Grid      *Unit             `json:"grid"`
	MicroGrid *Unit             `json:"micro_grid"`
	Address   *NearAddress      `json:"nearest_address"`
	RadiusM   float64           `json:"radius_m"`
	H3        map[string]string `json:"h3"`
	Note      string            `json:"note,omitempty"`
}

// Locate finds where (lon, lat) lies: admin chain, grid and micro-grid (the
// versions valid at at, or current ones when at is zero), the nearest active
// address within radiusM metres, and its H3 cells at geo.Resolutions.
func (s *Store) Locate(ctx context.Context, lon, lat float64, at time.Time, radiusM float64) (*Location, error) {
	loc := &Location{Lon: lon, Lat: lat, RadiusM: radiusM, H3: make(map[string]string, len(geo.Resolutions))}
	for _, res := range geo.Resolutions {
		c, err := geo.CellAt(lon, lat, res)
		if err != nil {
			return nil, fmt.Errorf("locate (%g, %g): %w", lon, lat, err)
		}
		loc.H3[fmt.Sprint(res)] = geo.CellString(c)
	}
	var atArg any
	if !at.IsZero() {
		atArg = at
		loc.At = &at
	}
	x, y := geo.LonLatToMercator(lon, lat)
	rows, err := s.db.Query(ctx, locateSQL, lon, lat, atArg, radiusM, x, y, mercatorRadius(lat, radiusM))
	if err != nil {
		return nil, fmt.Errorf("locate (%g, %g): %w", lon, lat, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var level, code, name pgtype.Text
		var version pgtype.Int4
		var from, to pgtype.Timestamptz
		var id pgtype.Int8
		var dist pgtype.Float8
		if err := rows.Scan(&kind, &level, &code, &name, &version, &from, &to, &id, &dist); err != nil {
			return nil, fmt.Errorf("locate (%g, %g): %w", lon, lat, err)
		}
		switch kind {
		case "address":
			loc.Address = &NearAddress{ID: id.Int64, Text: name.String, DistanceM: math.Round(dist.Float64*100) / 100}
		default:
			u := &Unit{Code: code.String, Name: name.String}
			if kind == "grid" {
				v := int(version.Int32)
				u.Version = &v
				u.ValidFrom = finiteTime(from)
				u.ValidTo = finiteTime(to)
			}
			switch level.String {
			case "district":
				loc.District = u
			case "street":
				loc.Street = u
			case "community":
				loc.Community = u
			case "grid":
				loc.Grid = u
			case "micro_grid":
				loc.MicroGrid = u
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("locate (%g, %g): %w", lon, lat, err)
	}
	switch {
	case loc.District == nil && loc.Grid == nil && loc.MicroGrid == nil:
		loc.Note = "the point lies outside every admin area and grid onegrid knows"
	case loc.Grid == nil && loc.MicroGrid == nil && loc.At != nil:
		loc.Note = "no grid version was valid at this point at that instant"
	case loc.Grid == nil && loc.MicroGrid == nil:
		loc.Note = "the point lies outside every current grid"
	}
	return loc, nil
}

// mercatorRadius is radiusM metres at latitude lat in Web Mercator units, padded
// by 1 % so that the index test never drops a point the geodesic test keeps.
func mercatorRadius(lat, radiusM float64) float64 {
	return radiusM * 1.01 / math.Cos(lat*math.Pi/180)
}

// finiteTime returns t, or nil when it is NULL or ±infinity.
func finiteTime(t pgtype.Timestamptz) *time.Time {
	if !t.Valid || t.InfinityModifier != pgtype.Finite {
		return nil
	}
	v := t.Time
	return &v
}
