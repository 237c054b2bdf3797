package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Open311 exports (the San Francisco 311 case layout: CaseID, Opened, Closed,
// Updated, Status, Category, Request.Type, Request.Details, Address, Source, Lat,
// Long) load as events:
//
//   - categories are created as needed: Category → level 1 "SF" + 2 digits,
//     Request.Type → level 2 parent + 3 digits, Request.Details → level 3 parent +
//     3 digits; numbers are assigned in name order after the highest existing one,
//     so re-loads and later files keep earlier codes. An event gets the finest
//     category its row names.
//   - Status Open → reported (handling when Updated is later than Opened),
//     Closed → closed with closed_at = Closed.
//   - Source: Voice In → hotline; Open311, Web Self Service, Twitter → app;
//     Integrated Agency, Other Department, e-mail In, Mail In → other.
//   - Times without an offset are America/Los_Angeles unless --tz says otherwise.
//
// The areas file (census tracts with an "nhood" property) loads, in the same
// transaction, as a two-level hierarchy under the city SF0000 (level city):
// each neighbourhood is a street-level admin area SF0000NNN (NNN = 001… in name
// order), each tract a community SF0000NNNTTT (TTT = 001… in tract order within
// its neighbourhood), and each tract also becomes a grid (level grid) with code
// <community code>001, valid since -infinity, so every event gets a grid_code.

// open311Sources maps Open311 request sources to event sources.
var open311Sources = map[string]string{
	"voice in": "hotline", "phone": "hotline", "open311": "app", "web self service": "app", "twitter": "app",
	"mobile/open311": "app", "web": "app", "integrated agency": "other", "other department": "other",
	"e-mail in": "other", "email": "other", "mail in": "other",
}

// open311Mapping is the default mapping of the SF 311 export.
var open311Mapping = Mapping{
	"id": "CaseID", "reported_at": "Opened", "closed_at": "Closed", "updated": "Updated", "status": "Status",
	"cat1": "Category", "cat2": "Request.Type", "cat3": "Request.Details", "title": "Request.Type",
	"source": "Source", "lat": "Lat", "lon": "Long",
}

var open311Kind = (&kindSpec{
	name: "open311",
	fields: []field{
		idField(),
		textField("category", false), // filled from cat1..cat3 in the database
		textField("cat1", true),
		textField("cat2", false),
		textField("cat3", false),
		enumField("severity", false, "", severities),
		enumField("source", true, "", open311Sources),
		enumField("status", true, "", statuses),
		textField("title", false),
		timeField("reported_at", true),
		timeField("happened_at", false),
		timeField("closed_at", false),
		timeField("updated", false),
		intField("address_id", false, 1, 1<<62),
		textField("address_ref", false),
		intField("satisfaction", false, 1, 5),
	},
	geom: pointRequired,
	idOf: byID,
	check: func(v rowView) *FieldError {
		if s, _ := v.str("status"); s == "reported" {
			rep, _ := v.time("reported_at")
			if up, ok := v.time("updated"); ok && up.After(rep) {
				v.row[v.k.colIndex["status"]] = "handling"
			}
		}
		if s, _ := v.str("status"); s != "closed" {
			// An open case's Closed column, where filled, is not a closing time.
			v.row[v.k.colIndex["closed_at"]] = nil
		}
		return kinds["events"].check(rowView{k: v.k, row: v.row})
	},
	sql: kindSQL{
		checks:     append([]string{}, eventSQL.checks...),
		gridChecks: eventSQL.gridChecks,
		insert:     eventSQL.insert,
	},
}).init()

// categorySQL creates the categories staged rows name and sets their codes.
var categorySQL = []string{
	`INSERT INTO event_category (code, level, name, name_en)
SELECT 'SF' || lpad((coalesce((SELECT max(substr(code, 3)::int) FROM event_category WHERE level = 1 AND code ~ '^SF[0-9]+$'), 0)
        + row_number() OVER (ORDER BY n.cat1))::text, 2, '0'), 1, n.cat1, n.cat1
FROM (SELECT DISTINCT cat1 FROM ingest_stage WHERE rreason IS NULL AND cat1 IS NOT NULL) n
WHERE NOT EXISTS (SELECT 1 FROM event_category c WHERE c.level = 1 AND c.code ~ '^SF[0-9]+$' AND c.name_en = n.cat1)`,
	`INSERT INTO event_category (code, level, parent_code, name, name_en)
SELECT p.code || lpad((coalesce((SELECT max(substr(c.code, length(p.code) + 1)::int) FROM event_category c WHERE c.parent_code = p.code), 0)
        + row_number() OVER (PARTITION BY p.code ORDER BY n.cat2))::text, 3, '0'), 2, p.code, n.cat2, n.cat2
FROM (SELECT DISTINCT cat1, cat2 FROM ingest_stage WHERE rreason IS NULL AND cat2 IS NOT NULL) n
JOIN event_category p ON p.level = 1 AND p.code ~ '^SF[0-9]+$' AND p.name_en = n.cat1
WHERE NOT EXISTS (SELECT 1 FROM event_category c WHERE c.parent_code = p.code AND c.name_en = n.cat2)`,
	`INSERT INTO event_category (code, level, parent_code, name, name_en)
SELECT p.code || lpad((coalesce((SELECT max(substr(c.code, length(p.code) + 1)::int) FROM event_category c WHERE c.parent_code = p.code), 0)
        + row_number() OVER (PARTITION BY p.code ORDER BY n.cat3))::text, 3, '0'), 3, p.code, n.cat3, n.cat3
FROM (SELECT DISTINCT cat1, cat2, cat3 FROM ingest_stage WHERE rreason IS NULL AND cat2 IS NOT NULL AND cat3 IS NOT NULL) n
JOIN event_category p1 ON p1.level = 1 AND p1.code ~ '^SF[0-9]+$' AND p1.name_en = n.cat1
JOIN event_category p ON p.parent_code = p1.code AND p.name_en = n.cat2
WHERE NOT EXISTS (SELECT 1 FROM event_category c WHERE c.parent_code = p.code AND c.name_en = n.cat3)`,
	`UPDATE ingest_stage s SET category = m.code
FROM (SELECT n.cat1, n.cat2, n.cat3, coalesce(c3.code, c2.code, c1.code) AS code
      FROM (SELECT DISTINCT cat1, cat2, cat3 FROM ingest_stage WHERE rreason IS NULL) n
      JOIN event_category c1 ON c1.level = 1 AND c1.code ~ '^SF[0-9]+$' AND c1.name_en = n.cat1
      LEFT JOIN event_category c2 ON c2.parent_code = c1.code AND c2.name_en = n.cat2
      LEFT JOIN event_category c3 ON c3.parent_code = c2.code AND c3.name_en = n.cat3) m
WHERE s.rreason IS NULL AND s.cat1 = m.cat1 AND s.cat2 IS NOT DISTINCT FROM m.cat2 AND s.cat3 IS NOT DISTINCT FROM m.cat3`,
}

// areasSQL turns the staged tracts into the city, neighbourhoods, tracts and grids.
var areasSQL = []string{
	`INSERT INTO admin_area (code, level, name, geom, dataset)
SELECT 'SF0000', 'city', 'San Francisco', ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(g)), 3)), @areas_dataset
FROM ingest_areas HAVING count(*) > 0
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT 'SF0000' || lpad(row_number() OVER (ORDER BY nhood)::text, 3, '0'), 'street', nhood, 'SF0000',
    ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(g)), 3)), @areas_dataset
FROM ingest_areas GROUP BY nhood
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT st.code || lpad(row_number() OVER (PARTITION BY a.nhood ORDER BY a.tract)::text, 3, '0'), 'community',
    'Tract ' || a.tract, st.code, a.g, @areas_dataset
FROM ingest_areas a JOIN admin_area st ON st.level = 'street' AND st.parent_code = 'SF0000' AND st.name = a.nhood
ON CONFLICT (code) DO NOTHING`,
	`INSERT INTO grid (code, version, level, name, admin_code, geom, dataset)
SELECT c.code || '001', 1, 'grid', c.name, c.code, c.geom, @areas_dataset
FROM admin_area c WHERE c.level = 'community' AND c.code LIKE 'SF0000%' AND c.dataset = @areas_dataset
ON CONFLICT DO NOTHING`,
}

// LoadOpen311 loads an Open311 case export as events, with the area hierarchy
// from areasPath first when it is given.
func LoadOpen311(ctx context.Context, db DB, o Options, areasPath string) (Summary, error) {
	if o.TimeZone == nil {
		la, err := time.LoadLocation("America/Los_Angeles")
		if err != nil {
			return Summary{}, fmt.Errorf("load open311: %w", err)
		}
		o.TimeZone = la
	}
	if o.Format == "" {
		o.Format = "csv"
	}
	if err := o.defaults(); err != nil {
		return Summary{}, fmt.Errorf("load open311: %w", err)
	}
	k := open311Kind
	f, cr, rd, has, err := openReader(o.Path, o.Format)
	if err != nil {
		return Summary{}, fmt.Errorf("load open311: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	m := open311Mapping.Merge(o.Mapping)
	conv, err := newConverter(k, m, &convCtx{loc: o.TimeZone}, rd.unit(), o.SRS == "gcj02", has)
	if err != nil {
		return Summary{}, fmt.Errorf("load open311 %s: %w", o.Path, err)
	}
	var areas [][]any
	if areasPath != "" {
		if areas, err = readAreas(areasPath); err != nil {
			return Summary{}, fmt.Errorf("load open311 areas: %w", err)
		}
	}
	areasDataset := DefaultDataset(areasPath)
	j := stageJob{
		kind: "open311", file: o.Path, dataset: o.Dataset, unit: rd.unit(), rejectsPath: o.RejectsPath,
		cols: k.cols, sql: k.sql, log: o.Log, table: "event", bulk: o.Bulk,
		args: pgx.NamedArgs{"dataset": o.Dataset, "address_dataset": o.AddressDataset, "unit": rd.unit(), "id_field": "id", "areas_dataset": areasDataset},
		reread: func(want map[int64]bool) (map[int64]string, error) {
			f, _, rd, _, err := openReader(o.Path, o.Format)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			return rawLines(rd, want)
		},
		fill: func(ctx context.Context, tx pgx.Tx, t *tracker) (int64, error) {
			p := startPipeline(ctx, rd, conv.convertInto, len(k.cols), o.Workers, &t.rows)
			defer p.stop()
			return copyRows(ctx, tx, stageTable, k.cols, p)
		},
		before: func(ctx context.Context, tx pgx.Tx) error {
			if areas != nil {
				if _, err := tx.Exec(ctx, `CREATE TEMP TABLE ingest_areas (nhood text, tract text, geom bytea) ON COMMIT DROP`); err != nil {
					return fmt.Errorf("stage areas: %w", err)
				}
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ingest_areas"}, []string{"nhood", "tract", "geom"}, pgx.CopyFromRows(areas)); err != nil {
					return fmt.Errorf("stage areas: %w", err)
				}
				if _, err := tx.Exec(ctx, `ALTER TABLE ingest_areas ADD COLUMN g geometry(MultiPolygon, 4326)`); err != nil {
					return fmt.Errorf("stage areas: %w", err)
				}
				if _, err := tx.Exec(ctx, `UPDATE ingest_areas SET g = CASE WHEN ST_IsValid(ST_GeomFromEWKB(geom)) THEN ST_GeomFromEWKB(geom)
    ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromEWKB(geom)), 3)) END`); err != nil {
					return fmt.Errorf("stage areas: %w", err)
				}
				for i, q := range areasSQL {
					if _, err := tx.Exec(ctx, q, pgx.NamedArgs{"areas_dataset": areasDataset}); err != nil {
						return fmt.Errorf("load areas, step %d: %w", i+1, err)
					}
				}
			}
			for i, q := range categorySQL {
				if _, err := tx.Exec(ctx, q); err != nil {
					return fmt.Errorf("create categories, step %d: %w", i+1, err)
				}
			}
			return nil
		},
	}
	t := newTracker(o.Progress, cr, size)
	s, err := j.run(ctx, db, t)
	if err != nil {
		return s, fmt.Errorf("load open311 %s: %w", o.Path, err)
	}
	return s, nil
}

// readAreas reads the tracts file: each feature's nhood, tract (tractce10, or
// geoid) and polygon. The areas file is reference data: a bad feature fails the load.
func readAreas(path string) ([][]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := newGeoJSONReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows [][]any
	for {
		rec, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if err := rec.prepare(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		nhood, ok := rec.get("nhood")
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "nhood", Reason: "missing required field"})
		}
		tract, ok := rec.get("tractce10")
		if !ok {
			if tract, ok = rec.get("geoid"); !ok {
				return nil, fmt.Errorf("%s: %w", path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "tractce10", Reason: "missing required field"})
			}
		}
		g, err := parseGeoJSONGeometry(rec.nativeGeometry())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "geometry", Reason: err.Error()})
		}
		b, _, err := shapeGeom(g, areaRequired)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, &FieldError{Unit: "feature", Pos: rec.pos(), Field: "geometry", Reason: err.Error()})
		}
		rows = append(rows, []any{strings.TrimSpace(nhood), tract, b})
	}
	return rows, nil
}
