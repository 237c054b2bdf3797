package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Areas a city's export comes with, loaded in the events load's transaction
// before its rows are linked, as a hierarchy under one city-level admin area:
//
//   - the city, code Code (level city), the union of the polygons;
//   - a street-level unit per value of the Group property (code Code + NNN,
//     001… in name order), or per polygon when there is no Group;
//   - a community per polygon (street code + NNN, 001… in ID order within its
//     street), named CommunityPrefix + its ID;
//   - a grid per community (level grid, community code + 001, valid since
//     -infinity), so that every event inside gets a grid.
//
// Without a file, Code alone asks for an area derived from the data: the
// convex hull of the load's points, widened by DerivedBufferM, as the city,
// one street and one community with one grid (Code001001001). It is what a
// hotspot analysis needs as its study area when a city brings only incidents;
// its shape is the data's, not the city's boundary (load areas when you have
// them). An area that exists already is kept as it is: a second load, or an
// extended file, does not redraw it; its events outside are stored
// unassigned. Either way the unassigned events the new grids cover are
// linked (relinkEvents).
type AreaOptions struct {
	Path            string   // GeoJSON FeatureCollection of polygons; "" = none, or derived with Code
	Code            string   // the city's code, the prefix of every unit's; required with Path
	Name            string   // the city's name (default Code)
	Group           string   // property grouping polygons into street-level units; "" = one street per polygon
	ID              []string // properties naming a polygon, the first present wins; none = its feature number
	CommunityPrefix string   // prefix of community names ("Tract " for San Francisco)
}

// DerivedBufferM widens a derived area beyond its outermost points (metres),
// so that the H3 cell (resolution 8 or finer) of a point on the hull has its
// centre inside and the point counts in a hotspot analysis of the area.
const DerivedBufferM = 600

// DerivedMaxKm2 is the largest area a derived study area may have: a hull
// larger than this is nearly always a few misplaced points (0,0, a swapped
// lon/lat), which would make the study area mostly empty.
const DerivedMaxKm2 = 5000

var areaCodePattern = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)

func (a *AreaOptions) check() error {
	if a.Code == "" {
		if a.Path != "" {
			return errors.New("areas: an areas file needs the city's code (--area-code)")
		}
		return nil
	}
	if !areaCodePattern.MatchString(a.Code) {
		return fmt.Errorf("area code %q: want 1 to 20 letters or digits", a.Code)
	}
	if a.Name == "" {
		a.Name = a.Code
	}
	return nil
}

// areasSQL turns the staged areas into the city, streets, communities and grids.
var areasSQL = []string{
	`INSERT INTO admin_area (code, level, name, geom, dataset)
SELECT @city_code, 'city', @city_name, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(g)), 3)), @areas_dataset
FROM ingest_areas HAVING count(*) > 0
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT @city_code || lpad(row_number() OVER (ORDER BY nhood)::text, 3, '0'), 'street', nhood, @city_code,
    ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(g)), 3)), @areas_dataset
FROM ingest_areas GROUP BY nhood
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT st.code || lpad(row_number() OVER (PARTITION BY a.nhood ORDER BY a.tract)::text, 3, '0'), 'community',
    @community_prefix || a.tract, st.code, a.g, @areas_dataset
FROM ingest_areas a JOIN admin_area st ON st.level = 'street' AND st.parent_code = @city_code AND st.name = a.nhood
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO grid (code, version, level, name, admin_code, geom, dataset)
SELECT c.code || '001', 1, 'grid', c.name, c.code, c.geom, @areas_dataset
FROM admin_area c WHERE c.level = 'community' AND c.code LIKE @city_code || '%' AND c.dataset = @areas_dataset
ON CONFLICT DO NOTHING`,
}

// derivedAreaSQL stages the hull of the load's good points as the one area.
const derivedAreaSQL = `INSERT INTO ingest_areas (nhood, tract, g)
SELECT @city_name, @city_name, ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(ST_GeomFromEWKB(geom)))::geography, @buffer_m)::geometry)
FROM ingest_stage WHERE rreason IS NULL AND geom IS NOT NULL
HAVING count(*) > 0`

// loadAreas creates the areas of a in tx (from rows read from the file, or
// derived) and links the unassigned events their grids cover.
func loadAreas(ctx context.Context, tx pgx.Tx, a AreaOptions, rows [][]any) error {
	if a.Code == "" {
		return nil
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM admin_area WHERE code = $1)`, a.Code).Scan(&exists); err != nil {
		return fmt.Errorf("areas: %w", err)
	}
	if exists && a.Path == "" {
		return nil // a derived area is drawn once
	}
	dataset := "areas:" + a.Code
	if a.Path != "" {
		dataset = DefaultDataset(a.Path)
	}
	args := pgx.NamedArgs{"city_code": a.Code, "city_name": a.Name, "areas_dataset": dataset, "community_prefix": a.CommunityPrefix,
		"buffer_m": DerivedBufferM, "grid_dataset": dataset}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE ingest_areas (nhood text, tract text, geom bytea, g geometry(MultiPolygon, 4326)) ON COMMIT DROP`); err != nil {
		return fmt.Errorf("stage areas: %w", err)
	}
	if a.Path != "" {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ingest_areas"}, []string{"nhood", "tract", "geom"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("stage areas: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE ingest_areas SET g = CASE WHEN ST_IsValid(ST_GeomFromEWKB(geom)) THEN ST_GeomFromEWKB(geom)
    ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromEWKB(geom)), 3)) END`); err != nil {
			return fmt.Errorf("stage areas: %w", err)
		}
	} else {
		if _, err := tx.Exec(ctx, derivedAreaSQL, args); err != nil {
			return fmt.Errorf("derive the study area: %w", err)
		}
		var km2 *float64
		if err := tx.QueryRow(ctx, `SELECT ST_Area(g::geography) / 1e6 FROM ingest_areas`).Scan(&km2); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("derive the study area: %w", err)
		}
		if km2 != nil && *km2 > DerivedMaxKm2 {
			return fmt.Errorf("derive the study area %s: the points' hull covers %.0f km², more than %d km²: some points are far from the rest (check for 0,0 or swapped lon/lat), or give the city's areas with --areas", a.Code, *km2, DerivedMaxKm2)
		}
	}
	for i, q := range areasSQL {
		if _, err := tx.Exec(ctx, q, args); err != nil {
			return fmt.Errorf("load areas, step %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(ctx, relinkEvents, args); err != nil {
		return fmt.Errorf("link events to the new grids: %w", err)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE ingest_areas`); err != nil {
		return fmt.Errorf("areas: %w", err)
	}
	return nil
}

// readAreas reads an areas file: each feature's group, id and polygon. The
// areas file is reference data: a bad feature fails the load.
func readAreas(a AreaOptions) ([][]any, error) {
	if a.Path == "" {
		return nil, nil
	}
	f, err := os.Open(a.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := newGeoJSONReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Path, err)
	}
	var rows [][]any
	for {
		rec, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Path, err)
		}
		if err := rec.prepare(); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Path, err)
		}
		id, found := "", false
		for _, p := range a.ID {
			if id, found = rec.get(p); found {
				break
			}
		}
		if !found {
			if len(a.ID) > 0 {
				return nil, fmt.Errorf("%s: %w", a.Path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: a.ID[0], Reason: "missing required field"})
			}
			id = fmt.Sprintf("%03d", rec.pos())
		}
		group := id
		if a.Group != "" {
			g, ok := rec.get(a.Group)
			if !ok {
				return nil, fmt.Errorf("%s: %w", a.Path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: a.Group, Reason: "missing required field"})
			}
			group = strings.TrimSpace(g)
		}
		g, err := parseGeoJSONGeometry(rec.nativeGeometry())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "geometry", Reason: err.Error()})
		}
		b, _, err := shapeGeom(g, areaRequired)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "geometry", Reason: err.Error()})
		}
		rows = append(rows, []any{group, id, b})
	}
	return rows, nil
}

// merge returns a with the non-empty fields of over.
func (a AreaOptions) merge(over AreaOptions) AreaOptions {
	if over.Path != "" {
		a.Path = over.Path
	}
	if over.Code != "" {
		a.Code = over.Code
	}
	if over.Name != "" {
		a.Name = over.Name
	}
	if over.Group != "" {
		a.Group = over.Group
	}
	if len(over.ID) > 0 {
		a.ID = over.ID
	}
	if over.CommunityPrefix != "" {
		a.CommunityPrefix = over.CommunityPrefix
	}
	return a
}
