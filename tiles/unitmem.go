package tiles

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/simplify"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/sdc"
)

// The admin and grids layers are drawn by the service from outlines it holds in
// memory, like the H3 layers (h3mem.go): a city has a few hundred admin units and
// some tens of thousands of current grids (15,279 with 78,000 vertices for a
// 1,000,000-household city), while a z12 tile of them cost PostgreSQL 3–9 ms
// (ST_AsMVT of about a thousand grids, the load sums, the label points). Outlines
// with their label points (ST_PointOnSurface, computed by PostGIS) are read when
// the outline tables change (the admin_outlines and grid_outlines versions), the
// load figures (tile_load, a row per community and per micro-grid) when any write
// moves the layer's version.
//
// Drawing follows ST_AsMVTGeom(geom, tile, 4096, 64, true) of PostGIS 3.3: points
// closer than half a tile unit dropped and the outline simplified to half a unit
// (Douglas-Peucker), scaled to tile units and rounded half to even, clipped to the
// tile and its buffer, repeated points removed, collapsed rings dropped, exterior
// rings clockwise on screen. Clipping is orb's (Sutherland-Hodgman) rather than
// GEOS's, so a polygon cut by the buffer edge may keep a zero-width spur along that
// edge, outside the drawn tile, where GEOS would split it, and clip intersections
// may round one unit apart. TestOutlinesMatchPostGIS holds the two to that.

// unitLayer is the description of one outline layer.
type unitLayer struct {
	name, label     string
	outlineSource   string // version row of the outlines
	loadSource      string // version row of the layer (outlines and loads)
	loadKind        string // tile_load.kind summed over the unit's code prefix
	levelAt         func(z int) string
	withGridDetails bool // grids carry version and parent_code
	buildings       bool // footprints: own properties, no loads or labels
}

var (
	adminUnits = &unitLayer{
		name: "admin", label: "admin_label", outlineSource: "admin_outlines", loadSource: "admin", loadKind: "admin",
		levelAt: func(z int) string {
			switch {
			case z <= 9:
				return "district"
			case z <= 11:
				return "street"
			}
			return "community"
		},
	}
	gridUnits = &unitLayer{
		name: "grids", label: "grid_label", outlineSource: "grid_outlines", loadSource: "grids", loadKind: "grid",
		levelAt: func(z int) string {
			if z <= 13 {
				return "grid"
			}
			return "micro_grid"
		},
		withGridDetails: true,
	}
	// Building footprints: 40,873 for a 1,000,000-household city (5 MB of
	// outlines); a z14 tile of them cost PostgreSQL 2–4 ms.
	buildingUnits = &unitLayer{
		name: "buildings", outlineSource: "buildings", loadSource: "buildings",
		levelAt:   func(int) string { return "" },
		buildings: true,
	}
)

// unit is one admin unit, grid or building.
type unit struct {
	id                 uint64
	code, name, level  string
	prefix             string // load figures are summed over tile_load codes with this prefix
	version            int64
	parent             string
	hasParent          bool
	bound              orb.Bound // of geom, Web Mercator
	geom               orb.MultiPolygon
	label              orb.Point
	hasLabel           bool
	households, people int64 // as released (package sdc); shown only if loadShown
	loadShown          bool  // households at or above the threshold
	openEvents         int64
	figures            bool   // the load figures may be shown (the unit lies inside the jurisdiction)
	props              []prop // buildings: the feature's properties
}

// sizeofUnit is about what a unit takes in a snapshot, its outline aside.
const sizeofUnit = 256

// key names the unit among its layer's: the code of an admin unit, the row id
// of a grid or building.
func (u *unit) key(l *unitLayer) string {
	if l == adminUnits {
		return u.code
	}
	return strconv.FormatUint(u.id, 10)
}

// setFigures sets a unit's load figures from tile_load, summed over the codes
// of its subtree: the one place where what an outline shows of its households,
// people and open events is decided (for the whole city and for a
// jurisdiction's view alike), households and people as the disclosure-control
// rule releases them.
func setFigures(u *unit, loads *loadTable, rule sdc.Rule) {
	var households, people, hkey int64
	households, people, hkey, u.openEvents = loads.sum(u.prefix)
	u.households, u.loadShown = rule.Count(households, hkey, sdc.Households)
	u.people, _ = rule.Sum(people, households, hkey, sdc.People)
}

// unitSnap is one layer's units with their load figures.
type unitSnap struct {
	outlineVersion, loadVersion int64
	byLevel                     map[string][]unit // sorted by bound.Min[0]
	maxWidth                    map[string]float64
	bytes                       int64 // a jurisdiction's view: what it holds besides the shared outlines
}

// near returns the units of a level whose bounds may overlap [minX, maxX]: those
// starting at most the level's widest unit before minX, up to maxX.
func (s *unitSnap) near(level string, minX, maxX float64) []unit {
	us := s.byLevel[level]
	lo := sort.Search(len(us), func(i int) bool { return us[i].bound.Min[0] >= minX-s.maxWidth[level] })
	hi := sort.Search(len(us), func(i int) bool { return us[i].bound.Min[0] > maxX })
	return us[lo:max(lo, hi)]
}

// unitStore holds the snapshot of one outline layer.
type unitStore struct {
	layer *unitLayer
	pool  *pgxpool.Pool
	rule  sdc.Rule // releases the household figures
	snap  snapshot[unitSnap]
}

// get returns a snapshot at least as new as the versions in vset.
func (st *unitStore) get(ctx context.Context, vset *versionSet) (*unitSnap, error) {
	return st.getAt(ctx, vset.v[st.layer.outlineSource], vset.v[st.layer.loadSource])
}

// getAt returns a snapshot of outline version wantOutline and load version
// wantLoad or newer.
func (st *unitStore) getAt(ctx context.Context, wantOutline, wantLoad int64) (*unitSnap, error) {
	return st.snap.get(func(s *unitSnap) bool {
		return s.outlineVersion >= wantOutline && s.loadVersion >= wantLoad
	}, func(old *unitSnap) (*unitSnap, error) {
		s, err := st.read(ctx, old, wantOutline)
		if err != nil {
			return nil, fmt.Errorf("read %s outlines: %w", st.layer.name, err)
		}
		return s, nil
	})
}

// read reads the load figures, and the outlines too unless old's are current.
func (st *unitStore) read(ctx context.Context, old *unitSnap, wantOutline int64) (*unitSnap, error) {
	s := &unitSnap{}
	err := readSnapshot(ctx, st.pool, scope.System(), func(tx pgx.Tx) (err error) {
		if s.outlineVersion, err = layerVersion(ctx, tx, st.layer.outlineSource); err != nil {
			return err
		}
		if s.loadVersion, err = layerVersion(ctx, tx, st.layer.loadSource); err != nil {
			return err
		}
		var units []unit
		if old != nil && old.outlineVersion >= max(wantOutline, s.outlineVersion) {
			for _, us := range old.byLevel {
				units = append(units, us...) // copies: loads are rewritten below
			}
		} else if units, err = st.readOutlines(ctx, tx); err != nil {
			return err
		}
		loads := &loadTable{}
		if st.layer.loadKind != "" {
			if loads, err = readLoads(ctx, tx, st.layer.loadKind); err != nil {
				return err
			}
		}
		s.byLevel, s.maxWidth = map[string][]unit{}, map[string]float64{}
		for _, u := range units {
			u.figures = true
			setFigures(&u, loads, st.rule)
			s.byLevel[u.level] = append(s.byLevel[u.level], u)
			s.maxWidth[u.level] = max(s.maxWidth[u.level], u.bound.Max[0]-u.bound.Min[0])
		}
		for _, us := range s.byLevel {
			slices.SortFunc(us, func(a, b unit) int { return cmp.Compare(a.bound.Min[0], b.bound.Min[0]) })
		}
		return nil
	})
	return s, err
}

// adminOutlines and gridOutlines read the units the SQL layers drew: admin
// districts, streets and communities with the feature id of their code (a numeric
// code as itself, any other by hash), current grids and micro-grids by row id.
const (
	adminOutlines = `SELECT CASE WHEN a.code ~ '^[0-9]{1,18}$' THEN a.code::bigint
	            ELSE ('x' || left(md5(a.code), 15))::bit(60)::bigint END,
	       a.code, a.name, a.level, unit_prefix(a.code), 0, NULL::text,
	       ST_AsBinary(a.geom_3857), ST_X(l.pt), ST_Y(l.pt)
	FROM admin_area a, LATERAL (SELECT ST_PointOnSurface(a.geom_3857) AS pt) l
	WHERE a.level IN ('district', 'street', 'community')`
	gridOutlines = `SELECT g.id, g.code, g.name, g.level, g.code, g.version, g.parent_code,
	       ST_AsBinary(g.geom_3857), ST_X(l.pt), ST_Y(l.pt)
	FROM grid g, LATERAL (SELECT ST_PointOnSurface(g.geom_3857) AS pt) l
	WHERE g.valid_to IS NULL AND g.level IN ('grid', 'micro_grid')`
)

func (st *unitStore) readOutlines(ctx context.Context, tx pgx.Tx) ([]unit, error) {
	if st.layer.buildings {
		return readBuildings(ctx, tx)
	}
	q := adminOutlines
	if st.layer.withGridDetails {
		q = gridOutlines
	}
	rows, _ := tx.Query(ctx, q)
	var units []unit
	var (
		id                        int64
		code, name, level, prefix string
		version                   int64
		parent                    *string
		wkbGeom                   []byte
		lx, ly                    *float64
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &code, &name, &level, &prefix, &version, &parent, &wkbGeom, &lx, &ly}, func() error {
		mp, err := multiPolygon(wkbGeom)
		if err != nil {
			return fmt.Errorf("%s %s: %w", st.layer.name, code, err)
		}
		u := unit{id: uint64(id), code: code, name: name, level: level, prefix: prefix, version: version, geom: mp, bound: mp.Bound()}
		if parent != nil {
			u.parent, u.hasParent = *parent, true
		}
		if lx != nil && ly != nil {
			u.label, u.hasLabel = orb.Point{*lx, *ly}, true
		}
		units = append(units, u)
		return nil
	})
	return units, err
}

// readBuildings reads the footprints with the properties the buildings layer
// shows (NULLs left out, as ST_AsMVT leaves them out).
func readBuildings(ctx context.Context, tx pgx.Tx) ([]unit, error) {
	rows, _ := tx.Query(ctx, "SELECT id, name, floors, use, address_id, grid_code, ST_AsBinary(geom_3857) FROM building")
	var units []unit
	var (
		id                  int64
		name, use, gridCode *string
		floors              *int32
		addressID           *int64
		wkbGeom             []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &name, &floors, &use, &addressID, &gridCode, &wkbGeom}, func() error {
		mp, err := multiPolygon(wkbGeom)
		if err != nil {
			return fmt.Errorf("building %d: %w", id, err)
		}
		var p []prop
		if name != nil {
			p = append(p, strProp("name", *name))
		}
		if floors != nil {
			p = append(p, numProp("floors", int64(*floors)))
		}
		if use != nil {
			p = append(p, strProp("use", *use))
		}
		if addressID != nil {
			p = append(p, numProp("address_id", *addressID))
		}
		if gridCode != nil {
			p = append(p, strProp("grid_code", *gridCode))
		}
		units = append(units, unit{id: uint64(id), geom: mp, bound: mp.Bound(), props: p})
		return nil
	})
	return units, err
}

func multiPolygon(wkbGeom []byte) (orb.MultiPolygon, error) {
	g, err := wkb.Unmarshal(wkbGeom)
	if err != nil {
		return nil, err
	}
	switch g := g.(type) {
	case orb.MultiPolygon:
		return g, nil
	case orb.Polygon:
		return orb.MultiPolygon{g}, nil
	}
	return nil, fmt.Errorf("%s is not a polygon", g.GeoJSONType())
}

// loadTable is tile_load of one kind, sorted by code.
type loadTable struct {
	codes                               []string
	households, people, hkeys, openEvts []int64
}

func readLoads(ctx context.Context, tx pgx.Tx, kind string) (*loadTable, error) {
	rows, _ := tx.Query(ctx, "SELECT code, households, people, hkey, open_events FROM tile_load WHERE kind = $1 ORDER BY code", kind)
	t := &loadTable{}
	var code string
	var h, p, k, o int64
	_, err := pgx.ForEachRow(rows, []any{&code, &h, &p, &k, &o}, func() error {
		t.codes = append(t.codes, code)
		t.households, t.people, t.hkeys, t.openEvts = append(t.households, h), append(t.people, p), append(t.hkeys, k), append(t.openEvts, o)
		return nil
	})
	return t, err
}

// sum adds the figures of every code starting with prefix (the codes are
// hierarchical: a unit's figures are its descendants'), with the households' key
// sum.
func (t *loadTable) sum(prefix string) (households, people, hkey, open int64) {
	for i := sort.SearchStrings(t.codes, prefix); i < len(t.codes) && strings.HasPrefix(t.codes[i], prefix); i++ {
		households += t.households[i]
		people += t.people[i]
		hkey += t.hkeys[i]
		open += t.openEvts[i]
	}
	return households, people, hkey, open
}

// appendLoad appends a unit's load properties: households and people when
// released, open events always.
func appendLoad(props []prop, u *unit) []prop {
	if u.loadShown {
		props = append(props, numProp("households", u.households), numProp("people", u.people))
	}
	return append(props, numProp("open_events", u.openEvents))
}

// render draws tile t of the layer and its label layer; figures says whether
// the caller may see load figures (a unit shows them only if it may, too).
func (s *unitSnap) render(l *unitLayer, t geo.Tile, figures bool) []byte {
	tb := t.MercatorBound()
	width, height := tb.Max[0]-tb.Min[0], tb.Max[1]-tb.Min[1]
	bx, by := width*Buffer/Extent, height*Buffer/Extent
	eb := orb.Bound{Min: orb.Point{tb.Min[0] - bx, tb.Min[1] - by}, Max: orb.Point{tb.Max[0] + bx, tb.Max[1] + by}}
	tr := newTileTransform(t)
	halfUnit := math.Min(width, height) / Extent / 2
	var sc drawScratch
	if l.buildings && t.Z < 16 {
		// Footprints are simplified by about four tile units below z16 first
		// (as ST_SimplifyPreserveTopology did: a ring that would collapse is kept).
		sc.preTolerance = width / 1024
	}

	polys, labels := newMVTEncoder(), newMVTEncoder()
	defer polys.release()
	defer labels.release()
	np, nl := 0, 0
	var props []prop
	near := s.near(l.levelAt(t.Z), eb.Min[0], eb.Max[0])
	for i := range near {
		u := &near[i]
		if !u.bound.Intersects(eb) {
			continue
		}
		geom := sc.polygons(u.geom, u.bound, eb, tr, halfUnit)
		if len(geom) == 0 {
			continue
		}
		if l.buildings {
			polys.feature(u.id, mvtPolygon, geom, u.props)
			np++
			continue
		}
		props = append(props[:0], uniqueProp("code", u.code), strProp("name", u.name), strProp("level", u.level))
		if l.withGridDetails {
			props = append(props, numProp("version", u.version))
			if u.hasParent {
				props = append(props, strProp("parent_code", u.parent))
			}
		}
		show := figures && u.figures
		if show {
			props = appendLoad(props, u)
		}
		polys.feature(u.id, mvtPolygon, geom, props)
		np++
		// The label point: in the tile itself (edges included), so each unit is
		// labelled in one tile, not in every tile its outline crosses.
		if u.hasLabel && tb.Contains(u.label) {
			if l.withGridDetails { // the label layer leaves the version details out
				props = props[:3]
				if show {
					props = appendLoad(props, u)
				}
			}
			x, y := tr.apply(u.label)
			labels.feature(u.id, mvtPoint, pointGeom(x, y), props)
			nl++
		}
	}
	var out []byte
	if np > 0 {
		out = polys.tile(l.name)
	}
	if nl > 0 {
		out = append(out, labels.tile(l.label)...)
	}
	return out
}

// tileTransform maps Web Mercator to tile units (y down), snapped to integers,
// with PostGIS's arithmetic (lwgeom_affine, then rint) so that points land on the
// same units as ST_AsMVTGeom puts them.
type tileTransform struct{ fx, fy, xoff, yoff float64 }

func newTileTransform(t geo.Tile) tileTransform {
	b := t.MercatorBound()
	fx, fy := Extent/(b.Max[0]-b.Min[0]), -(Extent / (b.Max[1] - b.Min[1]))
	return tileTransform{fx: fx, fy: fy, xoff: -b.Min[0] * fx, yoff: -b.Max[1] * fy}
}

func (tr tileTransform) apply(p orb.Point) (int32, int32) {
	return int32(math.RoundToEven(tr.fx*p[0] + tr.xoff)), int32(math.RoundToEven(tr.fy*p[1] + tr.yoff))
}

// polygons returns the MVT geometry commands of mp in the tile (nil when
// nothing of it remains): simplified to half a tile unit, snapped to tile units,
// clipped to the tile and its buffer unless wholly inside, in that order, as
// ST_AsMVTGeom does.
//
// The result is valid until the next call.
func (sc *drawScratch) polygons(mp orb.MultiPolygon, bound, eb orb.Bound, tr tileTransform, tolerance float64) []uint32 {
	cmds := sc.cmds[:0]
	defer func() { sc.cmds = cmds }()
	var cx, cy int32
	inside := boundWithin(bound, eb)
	for _, poly := range mp {
		for ri, ring := range poly {
			pts := sc.ring(ring, tr, tolerance, inside)
			if len(pts) < 3 {
				if ri == 0 {
					break // the exterior collapsed: so does the polygon
				}
				continue
			}
			// Exterior rings clockwise on screen (y down): positive shoelace area.
			if a := ringArea2(pts); a == 0 {
				if ri == 0 {
					break
				}
				continue
			} else if (a > 0) != (ri == 0) {
				slices.Reverse(pts[1:]) // as PostGIS reverses a closed ring: same first point
			}
			cmds, cx, cy = appendRing(cmds, pts, cx, cy)
		}
	}
	return cmds
}

// drawScratch holds buffers reused from feature to feature of one tile.
type drawScratch struct {
	preTolerance float64 // simplify each ring by this first, unless it collapses
	pre          orb.Ring
	buf          orb.Ring
	pts          []tilePoint
	cmds         []uint32
}

// ring simplifies, snaps and (unless inside) clips one ring; the result is open,
// has no repeated points and is valid until the next call.
func (sc *drawScratch) ring(ring orb.Ring, tr tileTransform, tolerance float64, inside bool) []tilePoint {
	if sc.preTolerance > 0 && len(ring) > 4 {
		sc.pre = append(sc.pre[:0], ring...)
		if p := simplify.DouglasPeucker(sc.preTolerance).Ring(sc.pre); len(p) >= 4 {
			ring = p
		}
	}
	r := simplifyRing(sc.buf[:0], ring, tolerance)
	sc.buf = r
	if len(r) < 4 {
		return nil
	}
	for i, p := range r {
		x, y := tr.apply(p)
		r[i] = orb.Point{float64(x), float64(y)}
	}
	if !inside {
		if r = clip.Ring(clipBound, r); len(r) < 4 {
			return nil
		}
	}
	sc.pts = snapRing(sc.pts[:0], r)
	return sc.pts
}

// simplifyRing drops points within tolerance of the last kept one and simplifies
// the rest (Douglas-Peucker), as ST_AsMVTGeom does before clipping. The result is
// written to r; the snapshot's outline is not touched.
func simplifyRing(r, ring orb.Ring, tolerance float64) orb.Ring {
	for i, p := range ring {
		if i > 0 && i < len(ring)-1 {
			q := r[len(r)-1]
			if math.Abs(p[0]-q[0]) <= tolerance && math.Abs(p[1]-q[1]) <= tolerance && math.Hypot(p[0]-q[0], p[1]-q[1]) <= tolerance {
				continue
			}
		}
		r = append(r, p)
	}
	if len(r) <= 4 {
		return r
	}
	return simplify.DouglasPeucker(tolerance).Ring(r)
}

// snapRing rounds a closed ring in tile units (clipping puts points between
// units) and drops repeated points; the result is open (no closing point).
func snapRing(pts []tilePoint, r orb.Ring) []tilePoint {
	for _, p := range r {
		x, y := int32(math.RoundToEven(p[0])), int32(math.RoundToEven(p[1]))
		if n := len(pts); n > 0 && pts[n-1].x == x && pts[n-1].y == y {
			continue
		}
		pts = append(pts, tilePoint{x, y})
	}
	for len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1]
	}
	return pts
}

// ringArea2 is twice the ring's signed area in tile units (y down: positive is
// clockwise on screen).
func ringArea2(pts []tilePoint) int64 {
	var a int64
	for i := range pts {
		j := (i + 1) % len(pts)
		a += int64(pts[i].x)*int64(pts[j].y) - int64(pts[j].x)*int64(pts[i].y)
	}
	return a
}
