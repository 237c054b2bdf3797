package ingest

import (
	"fmt"
	"strconv"

	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/geo"
)

// converter turns records into staging rows for one kind and mapping.
type converter struct {
	k    *kindSpec
	cx   *convCtx
	unit string
	// gcj02 converts coordinates from GCJ-02 to WGS-84.
	gcj02 bool
	// columns of each field, in k.fields order.
	cols []string
	// geometry columns when a record has no native geometry.
	wktCol, lonCol, latCol string
	// idFromPos uses the line or feature number as id where the file has none.
	idFromPos bool
}

// defaultGeomColumns are tried, in order, when the mapping names no geometry column.
var (
	defaultWKTCols = []string{"wkt", "WKT", "geom", "geometry", "the_geom"}
	defaultLonCols = []string{"lon", "lng", "longitude", "Long", "Lon", "LON", "x", "X"}
	defaultLatCols = []string{"lat", "latitude", "Lat", "LAT", "y", "Y"}
)

// newConverter resolves the mapping against the file's columns; has reports
// whether the file has a column (for CSV; GeoJSON properties are not known ahead).
func newConverter(k *kindSpec, m Mapping, cx *convCtx, unit string, gcj02 bool, has func(string) bool) (*converter, error) {
	if err := m.check(k.fieldNames()); err != nil {
		return nil, err
	}
	c := &converter{k: k, cx: cx, unit: unit, gcj02: gcj02}
	for _, f := range k.fields {
		col := m.Column(f.name)
		if _, mapped := m[f.name]; mapped && has != nil && !has(col) {
			return nil, fmt.Errorf("mapping: field %s: the file has no column %q", f.name, col)
		}
		c.cols = append(c.cols, col)
	}
	pick := func(field string, defaults []string) string {
		if col, ok := m[field]; ok {
			return col
		}
		for _, d := range defaults {
			if has == nil || has(d) {
				return d
			}
		}
		return ""
	}
	if has == nil {
		// GeoJSON: geometry is the feature's own; columns only if mapped or named wkt/lon/lat.
		c.wktCol, c.lonCol, c.latCol = m.Column("wkt"), m.Column("lon"), m.Column("lat")
	} else {
		c.wktCol, c.lonCol, c.latCol = pick("wkt", defaultWKTCols), pick("lon", defaultLonCols), pick("lat", defaultLatCols)
		if k.geom == pointRequired || k.geom == areaRequired {
			if c.wktCol == "" && (c.lonCol == "" || c.latCol == "") {
				return nil, fmt.Errorf("mapping: the file has no geometry column: map wkt=<column> or lon=<column>,lat=<column>")
			}
		}
	}
	if _, mapped := m["id"]; !mapped {
		c.idFromPos = has == nil || !has("id")
	}
	return c, nil
}

// reject fills row as a rejected row.
func (c *converter) reject(row []any, rec record, fe *FieldError) []any {
	for i := range row {
		row[i] = nil
	}
	row[0] = rec.pos()
	row[1] = fe.Field
	row[2] = fe.Reason
	row[3] = rec.rawText()
	return row
}

// convert returns the staging row of rec; a row that fails carries its reason.
func (c *converter) convert(rec record) []any {
	return c.convertInto(rec, make([]any, len(c.k.cols)))
}

// convertInto fills row, which has a slot per staging column, all nil.
func (c *converter) convertInto(rec record, row []any) []any {
	k := c.k
	row[0] = rec.pos()
	if err := rec.prepare(); err != nil {
		fe, ok := err.(*FieldError)
		if !ok {
			fe = &FieldError{Reason: err.Error()}
		}
		return c.reject(row, rec, fe)
	}
	at := len(headCols)
	for i, f := range k.fields {
		s, ok := rec.get(c.cols[i])
		if !ok && f.def != "" {
			s, ok = f.def, true
		}
		if !ok {
			if f.required {
				return c.reject(row, rec, &FieldError{Field: f.name, Reason: "missing required field"})
			}
			at += len(f.cols)
			continue
		}
		if err := f.conv(c.cx, s, row[at:at+len(f.cols)]); err != nil {
			return c.reject(row, rec, &FieldError{Field: f.name, Reason: err.Error()})
		}
		at += len(f.cols)
	}
	v := rowView{k: k, row: row}
	if k.check != nil {
		if fe := k.check(v); fe != nil {
			return c.reject(row, rec, fe)
		}
	}
	if k.idOf != nil {
		id, ok := k.idOf(v)
		switch {
		case ok:
		case c.idFromPos:
			id = "#" + strconv.FormatInt(rec.pos(), 10)
		default:
			return c.reject(row, rec, &FieldError{Field: "id", Reason: "missing required field"})
		}
		row[4] = id
	}
	if k.geom != geomNone {
		g, fieldName, err := c.geometry(rec)
		if err != nil {
			return c.reject(row, rec, &FieldError{Field: fieldName, Reason: err.Error()})
		}
		if g == nil {
			if k.geom != pointOptional {
				return c.reject(row, rec, &FieldError{Field: "geometry", Reason: "missing required field"})
			}
		} else {
			if c.gcj02 {
				g = fromGCJ02(g)
			}
			b, p, err := shapeGeom(g, k.geom)
			if err != nil {
				return c.reject(row, rec, &FieldError{Field: fieldName, Reason: err.Error()})
			}
			row[len(row)-2] = b
			cell, err := geo.CellAt(p[0], p[1], geo.StorageRes)
			if err != nil {
				return c.reject(row, rec, &FieldError{Field: fieldName, Reason: "no H3 cell: " + err.Error()})
			}
			row[len(row)-1] = cell
		}
	}
	return row
}

// geometry returns the record's geometry (nil when it has none) and the name of
// the field it came from.
func (c *converter) geometry(rec record) (orb.Geometry, string, error) {
	if b := rec.nativeGeometry(); b != nil {
		g, err := parseGeoJSONGeometry(b)
		return g, "geometry", err
	}
	if c.wktCol != "" {
		if s, ok := rec.get(c.wktCol); ok {
			g, err := ParseWKT(s)
			return g, "wkt", err
		}
	}
	if c.lonCol == "" || c.latCol == "" {
		return nil, "geometry", nil
	}
	lonS, okLon := rec.get(c.lonCol)
	latS, okLat := rec.get(c.latCol)
	switch {
	case !okLon && !okLat:
		return nil, "geometry", nil
	case !okLon:
		return nil, "lon", fmt.Errorf("missing required field (lat is given)")
	case !okLat:
		return nil, "lat", fmt.Errorf("missing required field (lon is given)")
	}
	lon, err := strconv.ParseFloat(lonS, 64)
	if err != nil {
		return nil, "lon", fmt.Errorf("bad number %q", lonS)
	}
	lat, err := strconv.ParseFloat(latS, 64)
	if err != nil {
		return nil, "lat", fmt.Errorf("bad number %q", latS)
	}
	p := orb.Point{lon, lat}
	if err := checkCoords(p); err != nil {
		field := "lat"
		if lon < -180 || lon > 180 || lon != lon {
			field = "lon"
		}
		return nil, field, err
	}
	return p, "geometry", nil
}
