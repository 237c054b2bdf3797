package ingest

import "strings"

// kindSQL is the set-based part of a load: checks that mark staged rows as
// rejected (each guarded by rreason IS NULL, so a row keeps its first reason) and
// the final INSERT … SELECT that links and inserts the rest. Statements take
// named arguments: @dataset, @address_dataset, @unit, @id_field.
type kindSQL struct {
	checks      []string
	gridChecks  []string // run only when the database has grids
	insert      string
	afterInsert []string // e.g. resolving parents within the file
	// unassigned: the insert's rows have a grid_code, and the load counts
	// those it stored without one (outside every grid current at their time).
	unassigned bool
	// counts: the insert is a query returning the rows loaded and a second
	// count, reported in Summary.Detail under this name (categories: updated).
	counts string
}

// The staging table with its geometry decoded, rows not yet rejected.
const stagedOK = `(SELECT s.*, ST_GeomFromEWKB(s.geom) AS g FROM ingest_stage s WHERE s.rreason IS NULL)`

// gridAt is the finest grid containing point p in the version current at time t
// (gr.code, gr.version, gr.admin_code): the schema's link_grid, which every
// writer of located rows shares (migration 0630) and the planner inlines.
func gridAt(p, t string) string {
	return `LEFT JOIN LATERAL link_grid(` + p + `, ` + t + `) gr ON true`
}

// withoutLinks returns an insert with the grid and community lookups replaced by
// NULLs, for databases that have no areas yet (two index probes a row saved).
func withoutLinks(insert string) string {
	for _, p := range []string{"s.g", "s.p"} {
		insert = strings.Replace(insert, gridAt(p, "s.reported_at"), noGrid, 1)
		insert = strings.Replace(insert, gridAt(p, "now()"), noGrid, 1)
		insert = strings.Replace(insert, communityAt(p), noCommunity, 1)
	}
	return insert
}

const (
	noGrid      = `LEFT JOIN (SELECT NULL::text AS code, NULL::int AS version, NULL::text AS admin_code) gr ON true`
	noCommunity = `LEFT JOIN (SELECT NULL::text AS code) co ON true`
)

// communityAt is the community (admin area) containing point p (co.code): the
// schema's link_community (migration 0630).
func communityAt(p string) string {
	return `LEFT JOIN LATERAL link_community(` + p + `) co ON true`
}

// outsideCheck rejects located rows that fall in no grid current at time t.
func outsideCheck(p, t, what string) string {
	return `UPDATE ingest_stage s SET rfield = 'geometry', rreason = ` + what + `
FROM ` + strings.Replace(stagedOK, "s.*", "s.line AS l, s.*", 1) + ` x
WHERE s.line = x.l AND s.rreason IS NULL AND ` + p + ` IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM grid g WHERE ST_Intersects(g.geom, ` + p + `) AND g.valid_from <= ` + t + ` AND (g.valid_to IS NULL OR ` + t + ` < g.valid_to))`
}

// dupCheck rejects every repeat of an id within the file, naming the first.
const dupCheck = `UPDATE ingest_stage s SET rfield = @id_field,
    rreason = format('duplicate %s %s within the file (first at %s %s)', @id_field::text, s.id, @unit::text, d.first)
FROM (SELECT id, min(line) AS first FROM ingest_stage WHERE rreason IS NULL AND id IS NOT NULL GROUP BY id HAVING count(*) > 1) d
WHERE s.id = d.id AND s.line > d.first AND s.rreason IS NULL`

// validCheck rejects polygons PostGIS finds invalid, with its reason.
const validCheck = `UPDATE ingest_stage s SET rfield = 'geometry', rreason = 'invalid geometry: ' || ST_IsValidReason(ST_GeomFromEWKB(s.geom))
WHERE s.rreason IS NULL AND s.geom IS NOT NULL AND NOT ST_IsValid(ST_GeomFromEWKB(s.geom))`

const addressIDCheck = `UPDATE ingest_stage s SET rfield = 'address_id', rreason = format('no address with id %s', s.address_id)
WHERE s.rreason IS NULL AND s.address_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM address a WHERE a.id = s.address_id)`

const addressRefCheck = `UPDATE ingest_stage s SET rfield = 'address_ref', rreason = format('no address %s in dataset %s', s.address_ref, @address_dataset::text)
WHERE s.rreason IS NULL AND s.address_ref IS NOT NULL AND NOT EXISTS (SELECT 1 FROM address a WHERE a.dataset = @address_dataset AND a.dataset_id = s.address_ref)`

// eventSQL keeps events outside every grid: they are stored unassigned
// (grid_code NULL, admin_code from a community containing them if any),
// counted in the load's summary, and linked by relinkEvents when grids that
// cover them are loaded later. An event without a severity takes its
// category's default severity, else general.
var eventSQL = kindSQL{
	checks: []string{
		dupCheck,
		`UPDATE ingest_stage s SET rfield = 'category', rreason = format('unknown category %s', s.category)
WHERE s.rreason IS NULL AND NOT EXISTS (SELECT 1 FROM event_category c WHERE c.code = s.category)`,
		addressIDCheck,
		addressRefCheck,
	},
	insert: `INSERT INTO event (category_code, severity, source, status, title, reported_at, happened_at, closed_at,
    satisfaction, address_id, geom, h3, admin_code, grid_code, grid_version, dataset, dataset_id)
SELECT s.category, coalesce(s.severity, cat.default_severity, 'general'), s.source, s.status, coalesce(s.title, ''), s.reported_at, s.happened_at, s.closed_at,
    s.satisfaction, coalesce(s.address_id, ar.id), s.g, s.h3, coalesce(co.code, gr.admin_code), gr.code, gr.version, @dataset, s.id
FROM ` + stagedOK + ` s
JOIN event_category cat ON cat.code = s.category
LEFT JOIN address ar ON s.address_ref IS NOT NULL AND ar.dataset = @address_dataset AND ar.dataset_id = s.address_ref
` + gridAt("s.g", "s.reported_at") + `
` + communityAt("s.g") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`,
	unassigned: true,
}

// relinkEvents links the unassigned events that the grids of dataset
// @grid_dataset cover (at the event's reported time) to the finest grid then
// current, as an events load would have linked them had the grids been there.
// Found through event_geom_idx from each new grid. One UPDATE: the
// roll-up and tile triggers fold it in, and the tile layers' versions move.
var relinkEvents = `UPDATE event e SET grid_code = gr.code, grid_version = gr.version, admin_code = coalesce(co.code, gr.admin_code)
FROM (SELECT DISTINCT x.id, x.geom AS g, x.reported_at
      FROM grid n JOIN event x ON x.grid_code IS NULL AND ST_Intersects(n.geom, x.geom)
      WHERE n.dataset = @grid_dataset AND n.valid_from <= x.reported_at AND (n.valid_to IS NULL OR x.reported_at < n.valid_to)) s
` + gridAt("s.g", "s.reported_at") + `
` + communityAt("s.g") + `
WHERE e.id = s.id AND gr.code IS NOT NULL`

var addressSQL = kindSQL{
	checks: []string{
		dupCheck,
		`UPDATE ingest_stage s SET rfield = 'parent_ref', rreason = format('no parent address %s in dataset %s or this file', s.parent_ref, @dataset::text)
WHERE s.rreason IS NULL AND s.parent_ref IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM address a WHERE a.dataset = @dataset AND a.dataset_id = s.parent_ref)
  AND NOT EXISTS (SELECT 1 FROM ingest_stage p WHERE p.id = s.parent_ref AND p.rreason IS NULL)`,
	},
	insert: `INSERT INTO address (level, full_text, code, admin_code, grid_code, geom, h3, dataset, dataset_id)
SELECT s.level, s.full_text, s.code, coalesce(s.admin_code, co.code, gr.admin_code), gr.code, s.g, s.h3, @dataset, s.id
FROM ` + stagedOK + ` s
` + gridAt("s.g", "now()") + `
` + communityAt("s.g") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`,
	afterInsert: []string{
		`UPDATE address a SET parent_id = p.id
FROM ingest_stage s JOIN address p ON p.dataset = @dataset AND p.dataset_id = s.parent_ref
WHERE s.rreason IS NULL AND s.parent_ref IS NOT NULL AND a.dataset = @dataset AND a.dataset_id = s.id
  AND a.parent_id IS DISTINCT FROM p.id`,
	},
}

var buildingSQL = kindSQL{
	checks: []string{dupCheck, validCheck, addressIDCheck, addressRefCheck},
	insert: `INSERT INTO building (address_id, name, floors, use, geom, h3, admin_code, grid_code, dataset, dataset_id)
SELECT coalesce(s.address_id, ar.id), s.name, s.floors, s.use, s.g, s.h3, coalesce(co.code, gr.admin_code), gr.code, @dataset, s.id
FROM (SELECT x.*, ST_PointOnSurface(x.g) AS p FROM ` + stagedOK + ` x) s
LEFT JOIN address ar ON s.address_ref IS NOT NULL AND ar.dataset = @address_dataset AND ar.dataset_id = s.address_ref
` + gridAt("s.p", "now()") + `
` + communityAt("s.p") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`,
}

// householdPlace is a household's point: its own, else its address's.
const householdSource = `(SELECT x.*, coalesce(x.g, a.geom) AS p, coalesce(x.h3, a.h3) AS cell, a.id AS aid
FROM ` + stagedOK + ` x
LEFT JOIN LATERAL (SELECT a.id, a.geom, a.h3 FROM address a
    WHERE (x.address_id IS NOT NULL AND a.id = x.address_id)
       OR (x.address_id IS NULL AND x.address_ref IS NOT NULL AND a.dataset = @address_dataset AND a.dataset_id = x.address_ref)
       OR (x.address_id IS NULL AND x.address_ref IS NULL AND a.code = x.address_code)
    ORDER BY a.id LIMIT 1) a ON true)`

var householdSQL = kindSQL{
	checks: []string{
		dupCheck, addressIDCheck, addressRefCheck,
		`UPDATE ingest_stage s SET rfield = 'address_code', rreason = format('no address with code %s', s.address_code)
WHERE s.rreason IS NULL AND s.address_id IS NULL AND s.address_ref IS NULL AND s.address_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM address a WHERE a.code = s.address_code)`,
	},
	gridChecks: []string{
		`UPDATE ingest_stage s SET rfield = 'geometry', rreason = CASE WHEN h.p IS NULL
    THEN 'no location: the row has no point and its address none' ELSE 'point outside every current grid' END
FROM ` + strings.Replace(householdSource, "x.*", "x.line AS l, x.*", 1) + ` h
WHERE s.line = h.l AND s.rreason IS NULL AND (h.p IS NULL OR NOT EXISTS (
    SELECT 1 FROM grid g WHERE ST_Intersects(g.geom, h.p) AND g.valid_from <= now() AND (g.valid_to IS NULL OR now() < g.valid_to)))`,
	},
	insert: `INSERT INTO household (address_id, members, tags, head_name_masked, phone_masked, phone_hash, id_no_masked, id_no_hash,
    h3, admin_code, grid_code, dataset, dataset_id)
SELECT s.aid, s.members, coalesce(s.tags, '{}'), s.head_name_masked, s.phone_masked, s.phone_hash, s.id_no_masked, s.id_no_hash,
    s.cell, coalesce(co.code, gr.admin_code), gr.code, @dataset, s.id
FROM ` + householdSource + ` s
` + gridAt("s.p", "now()") + `
` + communityAt("s.p") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`,
}

var adminSQL = kindSQL{
	checks: []string{
		dupCheck, validCheck,
		`UPDATE ingest_stage s SET rfield = 'parent_code', rreason = format('no admin area %s in the database or this file', s.parent_code)
WHERE s.rreason IS NULL AND s.parent_code IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM admin_area a WHERE a.code = s.parent_code)
  AND NOT EXISTS (SELECT 1 FROM ingest_stage p WHERE p.code = s.parent_code AND p.rreason IS NULL)`,
	},
	insert: `INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT s.code, s.level, s.name, s.parent_code, s.g, @dataset
FROM ` + stagedOK + ` s
ON CONFLICT (code) DO NOTHING`,
}

var gridSQL = kindSQL{
	checks: []string{
		dupCheck, validCheck,
		`UPDATE ingest_stage s SET rfield = 'valid_from', rreason = format('version %s of grid %s overlaps version %s in time', s.version, s.code, g.version)
FROM grid g
WHERE s.rreason IS NULL AND g.code = s.code AND g.version <> s.version
  AND tstzrange(g.valid_from, g.valid_to) && tstzrange(coalesce(s.valid_from, '-infinity'), s.valid_to)`,
		`UPDATE ingest_stage s SET rfield = 'valid_from', rreason = format('version %s of grid %s overlaps version %s (%s %s) in time', s.version, s.code, o.version, @unit::text, o.line)
FROM ingest_stage o
WHERE s.rreason IS NULL AND o.rreason IS NULL AND o.code = s.code AND o.line < s.line AND o.version <> s.version
  AND tstzrange(coalesce(o.valid_from, '-infinity'), o.valid_to) && tstzrange(coalesce(s.valid_from, '-infinity'), s.valid_to)`,
	},
	insert: `INSERT INTO grid (code, version, level, name, parent_code, admin_code, staff_seats, geom, valid_from, valid_to, dataset)
SELECT s.code, s.version, s.level, coalesce(s.name, ''), s.parent_code, coalesce(s.admin_code, co.code), coalesce(s.staff_seats, 0),
    s.g, coalesce(s.valid_from, '-infinity'), s.valid_to, @dataset
FROM (SELECT x.*, ST_PointOnSurface(x.g) AS p FROM ` + stagedOK + ` x) s
` + communityAt("s.p") + `
ON CONFLICT DO NOTHING`,
	afterInsert: []string{relinkEvents},
}
