package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/osm"
	"github.com/paulmach/osm/osmpbf"
	"github.com/paulmach/osm/osmxml"

	"github.com/onegrid/onegrid/geo"
)

// OpenStreetMap files load as buildings and standard addresses:
//   - a closed way or a multipolygon relation tagged building=* (not "no") is a
//     building (name from name:zh or name, floors from building:levels, use from
//     the building value), dataset_id "way/ID" or "relation/ID";
//   - every element with an addr:* tag is a building-level address whose full_text
//     is addr:city, addr:district, addr:street, addr:housenumber and name:zh (or
//     name) joined by spaces, with all addr:* tags in components; its point is the
//     node, or a point on the surface of the way or relation;
//   - a building gets its own address when it carries addr:* tags, otherwise the
//     first address node that lies inside it; such a node's components name the
//     building ("building": "way/ID").
//
// Positions in rejects count elements in file order (1-based).

// osmElem is an element that becomes a building, an address or both.
type osmElem struct {
	pos     int64
	typ     osm.Type
	id      int64
	tags    osm.Tags
	point   orb.Point // nodes
	refs    osm.WayNodes
	members osm.Members
}

func (e *osmElem) key() string { return string(e.typ) + "/" + strconv.FormatInt(e.id, 10) }

func (e *osmElem) raw() string {
	var b strings.Builder
	b.WriteString(e.key())
	for _, t := range e.tags {
		b.WriteString(" ")
		b.WriteString(t.Key)
		b.WriteString("=")
		b.WriteString(t.Value)
	}
	return b.String()
}

func isBuilding(t osm.Tags) bool {
	v := t.Find("building")
	return v != "" && v != "no"
}

func hasAddr(t osm.Tags) bool {
	for _, x := range t {
		if strings.HasPrefix(x.Key, "addr:") && x.Key != "addr:country" && strings.TrimSpace(x.Value) != "" {
			return true
		}
	}
	return false
}

// osmData is what a scan keeps: every node's position and every way's nodes
// (needed to build geometries), and the elements of interest.
type osmData struct {
	nodes map[osm.NodeID]orb.Point
	ways  map[osm.WayID]osm.WayNodes
	elems []*osmElem
	n     int64
}

type osmScanner interface {
	Scan() bool
	Object() osm.Object
	Err() error
	Close() error
}

// readOSM scans an OSM XML or PBF stream.
func readOSM(ctx context.Context, r io.Reader, pbf bool, seen func()) (*osmData, error) {
	var sc osmScanner
	if pbf {
		sc = osmpbf.New(ctx, r, 2)
	} else {
		sc = osmxml.New(ctx, r)
	}
	defer sc.Close()
	d := &osmData{nodes: map[osm.NodeID]orb.Point{}, ways: map[osm.WayID]osm.WayNodes{}}
	for sc.Scan() {
		d.n++
		if seen != nil {
			seen()
		}
		switch o := sc.Object().(type) {
		case *osm.Node:
			d.nodes[o.ID] = orb.Point{o.Lon, o.Lat}
			if hasAddr(o.Tags) {
				d.elems = append(d.elems, &osmElem{pos: d.n, typ: osm.TypeNode, id: int64(o.ID), tags: o.Tags, point: orb.Point{o.Lon, o.Lat}})
			}
		case *osm.Way:
			d.ways[o.ID] = o.Nodes
			if isBuilding(o.Tags) || hasAddr(o.Tags) {
				d.elems = append(d.elems, &osmElem{pos: d.n, typ: osm.TypeWay, id: int64(o.ID), tags: o.Tags, refs: o.Nodes})
			}
		case *osm.Relation:
			if (isBuilding(o.Tags) || hasAddr(o.Tags)) && (o.Tags.Find("type") == "multipolygon" || o.Tags.Find("type") == "building") {
				d.elems = append(d.elems, &osmElem{pos: d.n, typ: osm.TypeRelation, id: int64(o.ID), tags: o.Tags, members: o.Members})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read osm: element %d: %w", d.n+1, err)
	}
	return d, nil
}

// wayCoords returns the positions of a way's nodes.
func (d *osmData) wayCoords(refs osm.WayNodes) (orb.LineString, error) {
	ls := make(orb.LineString, 0, len(refs))
	for _, r := range refs {
		p, ok := d.nodes[r.ID]
		if !ok {
			return nil, fmt.Errorf("node %d is not in the file", r.ID)
		}
		ls = append(ls, p)
	}
	return ls, nil
}

// area returns the element's polygon geometry.
func (d *osmData) area(e *osmElem) (orb.MultiPolygon, error) {
	switch e.typ {
	case osm.TypeWay:
		ls, err := d.wayCoords(e.refs)
		if err != nil {
			return nil, err
		}
		if len(ls) < 4 || ls[0] != ls[len(ls)-1] {
			return nil, fmt.Errorf("way is not a closed ring (%d nodes)", len(ls))
		}
		return orb.MultiPolygon{{orb.Ring(ls)}}, nil
	case osm.TypeRelation:
		var outer, inner []orb.LineString
		for _, m := range e.members {
			if m.Type != osm.TypeWay {
				continue
			}
			refs, ok := d.ways[osm.WayID(m.Ref)]
			if !ok {
				if m.Role == "inner" {
					continue // a hole outside the extract: keep the building without it
				}
				return nil, fmt.Errorf("outer way %d is not in the file", m.Ref)
			}
			ls, err := d.wayCoords(refs)
			if err != nil {
				return nil, fmt.Errorf("way %d: %w", m.Ref, err)
			}
			if m.Role == "inner" {
				inner = append(inner, ls)
			} else {
				outer = append(outer, ls)
			}
		}
		outs, err := joinRings(outer)
		if err != nil {
			return nil, fmt.Errorf("outer: %w", err)
		}
		ins, err := joinRings(inner)
		if err != nil {
			return nil, fmt.Errorf("inner: %w", err)
		}
		if len(outs) == 0 {
			return nil, fmt.Errorf("no outer ring")
		}
		mp := make(orb.MultiPolygon, len(outs))
		for i, r := range outs {
			mp[i] = orb.Polygon{r}
		}
		for _, h := range ins {
			for i := range mp {
				if planar.RingContains(mp[i][0], h[0]) {
					mp[i] = append(mp[i], h)
					break
				}
			}
		}
		return mp, nil
	}
	return nil, fmt.Errorf("a %s is not an area", e.typ)
}

// joinRings chains way pieces end to end into closed rings.
func joinRings(parts []orb.LineString) ([]orb.Ring, error) {
	var rings []orb.Ring
	left := append([]orb.LineString{}, parts...)
	for len(left) > 0 {
		cur := append(orb.LineString{}, left[0]...)
		left = left[1:]
		for len(cur) > 0 && cur[0] != cur[len(cur)-1] {
			found := false
			for i, p := range left {
				if len(p) == 0 {
					continue
				}
				switch {
				case p[0] == cur[len(cur)-1]:
					cur = append(cur, p[1:]...)
				case p[len(p)-1] == cur[len(cur)-1]:
					rev := append(orb.LineString{}, p...)
					rev.Reverse()
					cur = append(cur, rev[1:]...)
				default:
					continue
				}
				left = append(left[:i], left[i+1:]...)
				found = true
				break
			}
			if !found {
				return nil, fmt.Errorf("ways do not close a ring")
			}
		}
		if len(cur) < 4 {
			return nil, fmt.Errorf("ring of %d nodes", len(cur))
		}
		rings = append(rings, orb.Ring(cur))
	}
	return rings, nil
}

// pointOnSurface returns a point inside a polygon: its centroid when that is
// inside, else the middle of the widest span of the horizontal line through it.
func pointOnSurface(mp orb.MultiPolygon) orb.Point {
	c, _ := planar.CentroidArea(mp)
	if planar.MultiPolygonContains(mp, c) {
		return c
	}
	var xs []float64
	for _, poly := range mp {
		for _, r := range poly {
			for i := 0; i+1 < len(r); i++ {
				a, b := r[i], r[i+1]
				if (a[1] > c[1]) != (b[1] > c[1]) {
					xs = append(xs, a[0]+(c[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]))
				}
			}
		}
	}
	sort.Float64s(xs)
	best, bestW := mp[0][0][0], -1.0
	for i := 0; i+1 < len(xs); i += 2 {
		if w := xs[i+1] - xs[i]; w > bestW {
			best, bestW = orb.Point{(xs[i] + xs[i+1]) / 2, c[1]}, w
		}
	}
	return best
}

// addressText composes the standard address of an element's tags.
func addressText(t osm.Tags) string {
	var parts []string
	for _, k := range []string{"addr:city", "addr:district", "addr:street", "addr:housenumber"} {
		if v := strings.TrimSpace(t.Find(k)); v != "" {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		if v := strings.TrimSpace(t.Find("addr:full")); v != "" {
			parts = append(parts, v)
		}
	}
	name := t.Find("name:zh")
	if name == "" {
		name = t.Find("name")
	}
	if name = strings.TrimSpace(name); name != "" {
		parts = append(parts, name)
	}
	if len(parts) == 0 {
		for _, x := range t {
			if strings.HasPrefix(x.Key, "addr:") && strings.TrimSpace(x.Value) != "" {
				parts = append(parts, strings.TrimSpace(x.Value))
			}
		}
	}
	return strings.Join(parts, " ")
}

var osmBuildingCols = []stageCol{{"line", "bigint"}, {"rfield", "text"}, {"rreason", "text"}, {"raw", "text"}, {"id", "text"},
	{"name", "text"}, {"floors", "int"}, {"use", "text"}, {"geom", "bytea"}, {"h3", "bigint"}}

var osmAddressCols = []stageCol{{"line", "bigint"}, {"rfield", "text"}, {"rreason", "text"}, {"raw", "text"}, {"id", "text"},
	{"full_text", "text"}, {"components", "jsonb"}, {"geom", "bytea"}, {"h3", "bigint"}}

// stageOSM turns the elements into building and address staging rows.
func (d *osmData) stage(gcj02 bool) (buildings, addresses [][]any) {
	for _, e := range d.elems {
		var mp orb.MultiPolygon
		var areaErr error
		if e.typ != osm.TypeNode {
			mp, areaErr = d.area(e)
			if areaErr == nil && gcj02 {
				mp = fromGCJ02(mp).(orb.MultiPolygon)
			}
			if areaErr == nil {
				areaErr = checkCoords(mp)
			}
		}
		if isBuilding(e.tags) && e.typ != osm.TypeNode {
			row := []any{e.pos, nil, nil, e.raw(), e.key(), nil, nil, e.tags.Find("building"), nil, nil}
			if name := e.tags.Find("name:zh"); name != "" {
				row[5] = name
			} else if name := e.tags.Find("name"); name != "" {
				row[5] = name
			}
			if n, err := strconv.Atoi(strings.TrimSpace(e.tags.Find("building:levels"))); err == nil && n >= 1 && n <= 200 {
				row[6] = n
			}
			if areaErr != nil {
				row[1], row[2] = "geometry", areaErr.Error()
			} else {
				b, p, err := shapeGeom(mp, areaRequired)
				if err != nil {
					row[1], row[2] = "geometry", err.Error()
				} else if cell, err := geo.CellAt(p[0], p[1], geo.StorageRes); err != nil {
					row[1], row[2] = "geometry", "no H3 cell: "+err.Error()
				} else {
					row[8], row[9] = b, cell
				}
			}
			buildings = append(buildings, row)
		}
		if hasAddr(e.tags) {
			comp := map[string]string{"osm": e.key()}
			for _, t := range e.tags {
				if strings.HasPrefix(t.Key, "addr:") || t.Key == "name" || t.Key == "name:zh" {
					comp[t.Key] = t.Value
				}
			}
			cj, _ := json.Marshal(comp)
			row := []any{e.pos, nil, nil, e.raw(), e.key(), addressText(e.tags), string(cj), nil, nil}
			p, err := e.point, areaErr
			if e.typ != osm.TypeNode && err == nil {
				p = pointOnSurface(mp)
			} else if e.typ == osm.TypeNode && gcj02 {
				p = fromGCJ02(p).(orb.Point)
			}
			if err == nil {
				err = checkCoords(p)
			}
			if err != nil {
				row[1], row[2] = "geometry", err.Error()
			} else if cell, err := geo.CellAt(p[0], p[1], geo.StorageRes); err != nil {
				row[1], row[2] = "geometry", "no H3 cell: "+err.Error()
			} else {
				row[7], row[8] = pointEWKB(p), cell
			}
			addresses = append(addresses, row)
		}
	}
	return buildings, addresses
}

var osmAddressInsert = `INSERT INTO address (level, full_text, components, geom, h3, admin_code, grid_code, dataset, dataset_id)
SELECT 'building', s.full_text, s.components, s.g, s.h3, coalesce(co.code, gr.admin_code), gr.code, @dataset, s.id
FROM (SELECT s.*, ST_GeomFromEWKB(s.geom) AS g FROM ingest_stage_addr s WHERE s.rreason IS NULL) s
` + gridAt("s.g", "now()") + `
` + communityAt("s.g") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`

var osmBuildingInsert = `INSERT INTO building (address_id, name, floors, use, geom, h3, admin_code, grid_code, dataset, dataset_id)
SELECT coalesce(own.id, inside.id), s.name, s.floors, s.use, s.g, s.h3, coalesce(co.code, gr.admin_code), gr.code, @dataset, s.id
FROM (SELECT x.*, ST_PointOnSurface(x.g) AS p FROM ` + stagedOK + ` x) s
LEFT JOIN address own ON own.dataset = @dataset AND own.dataset_id = s.id
LEFT JOIN LATERAL (SELECT a.id FROM address a WHERE a.dataset = @dataset AND a.dataset_id LIKE 'node/%'
    AND ST_Intersects(s.g, a.geom) ORDER BY a.id LIMIT 1) inside ON own.id IS NULL
` + gridAt("s.p", "now()") + `
` + communityAt("s.p") + `
ON CONFLICT (dataset, dataset_id) DO NOTHING`

// osmRepair mends invalid building polygons (OSM multipolygons often touch
// themselves) with ST_MakeValid; what cannot be mended stays invalid and is rejected.
const osmRepair = `UPDATE ingest_stage s SET geom = ST_AsEWKB(r.g)
FROM (SELECT line, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromEWKB(geom)), 3)) AS g
      FROM ingest_stage WHERE rreason IS NULL AND geom IS NOT NULL AND NOT ST_IsValid(ST_GeomFromEWKB(geom))) r
WHERE s.line = r.line AND NOT ST_IsEmpty(r.g)`

const osmNodeBuildingLink = `UPDATE address a SET components = a.components || jsonb_build_object('building', b.dataset_id)
FROM building b
WHERE b.dataset = @dataset AND a.dataset = @dataset AND a.dataset_id LIKE 'node/%'
  AND ST_Intersects(b.geom, a.geom) AND NOT a.components ? 'building'`

// LoadOSM loads the buildings and addresses of an OpenStreetMap XML (.osm) or
// PBF (.pbf) file in one transaction. An extract brings no admin units; with
// o.Areas.Code it becomes an area of its own, derived from its buildings as an
// events load derives one from its points (AreaOptions), before the rows are
// linked, so the buildings and addresses get its grid and the screen lists it.
func LoadOSM(ctx context.Context, db DB, o Options) (s Summary, err error) {
	if err := o.common(); err != nil {
		return s, fmt.Errorf("load osm: %w", err)
	}
	if o.Areas.Path != "" {
		return s, fmt.Errorf("load osm: an extract's area is derived from its buildings (--area-code); --areas is for events")
	}
	if err := o.Areas.check(); err != nil {
		return s, fmt.Errorf("load osm: %w", err)
	}
	start := time.Now()
	f, err := os.Open(o.Path)
	if err != nil {
		return s, fmt.Errorf("load osm: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	cr := &countingReader{r: f}
	t := newTracker(o.Progress, cr, size)
	defer t.finish()
	pbf := strings.HasSuffix(strings.ToLower(o.Path), ".pbf") || o.Format == "pbf"
	d, err := readOSM(ctx, cr, pbf, func() { t.rows.Add(1) })
	if err != nil {
		return s, fmt.Errorf("load osm %s: %w", o.Path, err)
	}
	blds, addrs := d.stage(o.SRS == "gcj02")
	s.Read = int64(len(blds) + len(addrs))

	tx, err := db.Begin(ctx)
	if err != nil {
		return s, fmt.Errorf("load osm: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			err = interrupted(ctx, err)
		}
	}()
	if s.RunID, err = startRun(ctx, tx, "osm", o.Path, o.Dataset); err != nil {
		return s, err
	}
	if err = createStage(ctx, tx, stageTable, osmBuildingCols); err != nil {
		return s, err
	}
	if err = createStage(ctx, tx, "ingest_stage_addr", osmAddressCols); err != nil {
		return s, err
	}
	if _, err = copyRows(ctx, tx, stageTable, osmBuildingCols, pgx.CopyFromRows(blds)); err != nil {
		return s, err
	}
	if _, err = copyRows(ctx, tx, "ingest_stage_addr", osmAddressCols, pgx.CopyFromRows(addrs)); err != nil {
		return s, err
	}
	t.setPhase("checking")
	args := pgx.NamedArgs{"dataset": o.Dataset}
	tag, err := tx.Exec(ctx, osmRepair)
	if err != nil {
		return s, fmt.Errorf("load osm: repair polygons: %w", err)
	}
	repaired := tag.RowsAffected()
	if _, err = tx.Exec(ctx, validCheck); err != nil {
		return s, fmt.Errorf("load osm: check polygons: %w", err)
	}
	if err = loadAreas(ctx, tx, o.Areas, nil); err != nil {
		return s, fmt.Errorf("load osm: %w", err)
	}
	t.setPhase("linking")
	tag, err = tx.Exec(ctx, osmAddressInsert, args)
	if err != nil {
		return s, fmt.Errorf("load osm: insert addresses: %w", err)
	}
	nAddr := tag.RowsAffected()
	if tag, err = tx.Exec(ctx, osmBuildingInsert, args); err != nil {
		return s, fmt.Errorf("load osm: insert buildings: %w", err)
	}
	nBld := tag.RowsAffected()
	if _, err = tx.Exec(ctx, osmNodeBuildingLink, args); err != nil {
		return s, fmt.Errorf("load osm: link address nodes to buildings: %w", err)
	}
	s.Loaded = nAddr + nBld
	s.Detail = map[string]int64{"buildings": nBld, "addresses": nAddr, "elements": d.n, "repaired": repaired}
	t.setPhase("rejects")
	r1, err := saveRejects(ctx, tx, s.RunID, stageTable)
	if err != nil {
		return s, err
	}
	r2, err := saveRejects(ctx, tx, s.RunID, "ingest_stage_addr")
	if err != nil {
		return s, err
	}
	s.Rejected = r1 + r2
	s.Unchanged = s.Read - s.Rejected - s.Loaded
	if err = finishRun(ctx, tx, &s); err != nil {
		return s, err
	}
	if s.Rejected > 0 {
		if err = writeRejectFile(ctx, tx, s.RunID, o.RejectsPath, "element"); err != nil {
			return s, err
		}
		s.RejectsPath = o.RejectsPath
	}
	if err = tx.Commit(ctx); err != nil {
		return s, fmt.Errorf("load osm: commit: %w", err)
	}
	s.Elapsed = time.Since(start)
	return s, nil
}
