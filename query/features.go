package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/privacy"
	"github.com/onegrid/onegrid/scope"
)

// Collection is a feature collection the API serves: a table, its key, geometry,
// the properties it exposes (built in SQL with json_build_object, per the
// caller's view: package privacy says the class of each) and the attribute
// filters it accepts. Households are not a collection: personal data.
type Collection struct {
	ID          string
	Title       string
	Description string
	Filters     []Filter // attribute filters, by query parameter name
	Temporal    string   // column the time window / datetime applies to ("" = none)
	GridCol     string   // column grid= matches by prefix
	AdminCol    string   // column admin= matches by prefix
	table       string
	key         string // unique, ordered key column
	keyText     bool   // key is text (else bigint)
	versioned   bool   // grid versions: current by default, or valid at an instant
	// kind is the record kind of the rows in package privacy's registry;
	// sensitiveKind, when set, the kind of rows of a sensitive event category
	// (events): outside the caller's duty they are coarsened.
	kind, sensitiveKind string
	props               []prop
	variants            map[variant]*shape
}

// prop is one output field: geometry (the feature's) or a property.
type prop struct {
	name string
	expr string // SQL of the value, on row t
	// others is the SQL shown to a caller who may not see the field's class
	// ("" = the field is left out); coarse the SQL of a sensitive row outside
	// the caller's duty ("" = null).
	others, coarse string
}

// variant is what shapes a collection's output for one caller: whether they
// see personal fields, and whether every sensitive event is their duty.
type variant struct{ households, allSensitive bool }

func variantOf(v privacy.View) variant {
	return variant{households: v.Households(), allSensitive: v.AllSensitive()}
}

// shape is a collection's SQL for one variant; its text is fixed, so pgx's
// statement cache serves every request of the variant.
type shape struct {
	from     string // FROM clause: the table as t, with what coarse needs
	geometry string // SQL of the feature's geometry (json)
	props    string // SQL of the properties object
	coarse   string // SQL: the row is coarsened ("" = never)
}

// FilterKind says how an attribute filter matches.
type FilterKind int

// Filter kinds.
const (
	FilterEnum     FilterKind = iota // comma list of allowed values, column = ANY
	FilterText                       // comma list of free values, column = ANY
	FilterCategory                   // an event category code at any taxonomy level: the code and its subtree
	FilterPresence                   // true or false: the column is set (or not)
)

// Filter is an attribute filter: ?param=value[,value].
type Filter struct {
	Param   string
	Column  string
	Kind    FilterKind
	Allowed []string
	Doc     string
}

// coarseSQL says that an event's row is coarsened for the caller: its
// category is sensitive and not among the caller's duties (the caller's
// setting onegrid.duties, read by app_duty).
const coarseSQL = `(tc.sensitive AND NOT app_duty(t.category_code))`

var collections = []*Collection{
	{
		ID: "addresses", Title: "Standard addresses", Description: "The unified address layer (统一地址库): one point per standard address (flats, below building level, only to those who serve households).",
		table: "address", key: "id", GridCol: "grid_code", AdminCol: "admin_code", kind: "address",
		props: []prop{{name: "geometry", expr: "ST_AsGeoJSON(t.geom, 7)::json"},
			{name: "parent_id", expr: "t.parent_id"}, {name: "level", expr: "t.level"}, {name: "full_text", expr: "t.full_text"},
			{name: "code", expr: "t.code"}, {name: "admin_code", expr: "t.admin_code"}, {name: "grid_code", expr: "t.grid_code"},
			{name: "status", expr: "t.status"}, {name: "h3", expr: "h3_text(t.h3)"}},
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: []string{"district", "street", "community", "road", "building", "unit", "floor", "room"}, Doc: "address level"},
			{Param: "status", Column: "status", Kind: FilterEnum, Allowed: []string{"active", "retired"}, Doc: "active or retired"},
		},
	},
	{
		ID: "buildings", Title: "Buildings", Description: "Building footprints linked to their building-level address.",
		table: "building", key: "id", GridCol: "grid_code", AdminCol: "admin_code", kind: "building",
		props: []prop{{name: "geometry", expr: "ST_AsGeoJSON(t.geom, 7)::json"},
			{name: "address_id", expr: "t.address_id"}, {name: "name", expr: "t.name"}, {name: "floors", expr: "t.floors"},
			{name: "use", expr: "t.use"}, {name: "admin_code", expr: "t.admin_code"}, {name: "grid_code", expr: "t.grid_code"},
			{name: "h3", expr: "h3_text(t.h3)"}},
		Filters: []Filter{
			{Param: "use", Column: "use", Kind: FilterText, Doc: "building use, e.g. residential"},
		},
	},
	{
		ID: "events", Title: "Events", Description: "Events (事件) reported in the closed loop, at their point (sensitive categories outside the caller's duty: at their H3 res-9 cell's centre, without address and title).",
		table: "event", key: "id", GridCol: "grid_code", AdminCol: "admin_code", Temporal: "reported_at", kind: "event", sensitiveKind: "sensitive_event",
		props: []prop{{name: "geometry", expr: "ST_AsGeoJSON(t.geom, 7)::json"},
			{name: "category_code", expr: "t.category_code"}, {name: "severity", expr: "t.severity"}, {name: "source", expr: "t.source"},
			{name: "status", expr: "t.status"}, {name: "title", expr: "t.title"}, {name: "reported_at", expr: "t.reported_at"},
			{name: "happened_at", expr: "t.happened_at"}, {name: "closed_at", expr: "t.closed_at"}, {name: "deadline", expr: "t.deadline"},
			{name: "escalation", expr: "t.escalation"}, {name: "satisfaction", expr: "t.satisfaction"},
			{name: "address_id", expr: "t.address_id", others: "address_shown(t.address_id)"},
			{name: "admin_code", expr: "t.admin_code"}, {name: "grid_code", expr: "t.grid_code"}, {name: "grid_version", expr: "t.grid_version"},
			{name: "h3", expr: "h3_text(t.h3)", coarse: "h3_text(h3_parent(t.h3, 9))"},
			{name: "coarsened", expr: "false", coarse: "true"}},
		Filters: []Filter{
			{Param: "category", Column: "category_code", Kind: FilterCategory, Doc: "category code at any taxonomy level (the code and everything below it)"},
			{Param: "severity", Column: "severity", Kind: FilterEnum, Allowed: Severities, Doc: "severity"},
			{Param: "status", Column: "status", Kind: FilterEnum, Allowed: Statuses, Doc: "status"},
			{Param: "source", Column: "source", Kind: FilterEnum, Allowed: Sources, Doc: "intake channel"},
			{Param: "assigned", Column: "grid_code", Kind: FilterPresence, Doc: "false: only events outside every grid (stored unassigned, linked when grids that cover them are loaded); true: only events in a grid"},
		},
	},
	{
		ID: "grids", Title: "Grids", Description: "Grid polygons (streets, communities, grids, micro-grids); current versions unless a time is given.",
		table: "grid", key: "id", GridCol: "code", AdminCol: "admin_code", versioned: true, kind: "grid",
		props: []prop{{name: "geometry", expr: "ST_AsGeoJSON(t.geom, 7)::json"},
			{name: "code", expr: "t.code"}, {name: "version", expr: "t.version"}, {name: "level", expr: "t.level"}, {name: "name", expr: "t.name"},
			{name: "parent_code", expr: "t.parent_code"}, {name: "admin_code", expr: "t.admin_code"}, {name: "staff_seats", expr: "t.staff_seats"},
			{name: "valid_from", expr: "CASE WHEN isfinite(t.valid_from) THEN t.valid_from END"}, {name: "valid_to", expr: "t.valid_to"}},
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: GridLevels, Doc: "grid level"},
		},
	},
	{
		ID: "admin_areas", Title: "Administrative areas", Description: "Districts, streets and communities with their 6/9/12-digit codes.",
		table: "admin_area", key: "code", keyText: true, GridCol: "", AdminCol: "code", kind: "admin_area",
		props: []prop{{name: "geometry", expr: "ST_AsGeoJSON(t.geom, 7)::json"},
			{name: "code", expr: "t.code"}, {name: "level", expr: "t.level"}, {name: "name", expr: "t.name"}, {name: "parent_code", expr: "t.parent_code"}},
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: []string{"province", "city", "district", "street", "community"}, Doc: "admin level"},
		},
	},
}

func init() {
	for _, c := range collections {
		c.variants = map[variant]*shape{}
		for _, households := range []bool{false, true} {
			for _, all := range []bool{false, true} {
				v := variant{households, all}
				sh, err := c.shape(v)
				if err != nil {
					panic(err) // the registry and the collections are tested together
				}
				c.variants[v] = sh
			}
		}
	}
}

// shape builds the collection's SQL for a variant from the privacy registry:
// a field the caller may not see is left out or replaced by what the registry
// says others get; a sensitive row outside the caller's duty shows its coarse
// form.
func (c *Collection) shape(v variant) (*shape, error) {
	rec, ok := privacy.Lookup(c.kind)
	if !ok {
		return nil, fmt.Errorf("collection %s: record kind %s not in the privacy registry", c.ID, c.kind)
	}
	var sens *privacy.Record
	sh := &shape{from: c.table + " t"}
	if c.sensitiveKind != "" && !v.allSensitive {
		if sens, ok = privacy.Lookup(c.sensitiveKind); !ok {
			return nil, fmt.Errorf("collection %s: record kind %s not in the privacy registry", c.ID, c.sensitiveKind)
		}
		sh.from = c.table + " t JOIN event_category tc ON tc.code = t.category_code"
		sh.coarse = coarseSQL
	}
	// The view of a caller with the variant's capabilities; duties are per
	// row, in SQL (coarseSQL), so a sensitive field is seen here only by those
	// for whom every sensitive row is their duty.
	caps := []string{scope.CanRows}
	if v.households {
		caps = append(caps, scope.CanHouseholds)
	}
	if v.allSensitive {
		caps = append(caps, scope.CanSensitive)
	}
	view := privacy.For(scope.Scope{Caps: caps})
	sees := func(cl privacy.Class) bool { return view.Sees(cl, view.AllSensitive()) }
	var pairs []string
	for _, p := range c.props {
		f, ok := rec.Field(p.name)
		if !ok {
			return nil, fmt.Errorf("collection %s: field %s has no class in the privacy registry (%s)", c.ID, p.name, c.kind)
		}
		if (f.Others != "") != (p.others != "") {
			return nil, fmt.Errorf("collection %s: field %s: the registry says others get %q, the collection %q", c.ID, p.name, f.Others, p.others)
		}
		expr := p.expr
		if !sees(f.Class) {
			expr = p.others
		}
		if sens != nil {
			sf, ok := sens.Field(p.name)
			if !ok {
				return nil, fmt.Errorf("collection %s: field %s has no class in the privacy registry (%s)", c.ID, p.name, c.sensitiveKind)
			}
			if (sf.Others != "") != (p.coarse != "" && p.coarse != "true") && p.name != "geometry" {
				return nil, fmt.Errorf("collection %s: field %s: the registry says others get %q of a sensitive event, the collection %q", c.ID, p.name, sf.Others, p.coarse)
			}
			if expr != "" {
				coarse := expr
				if sf.Class == privacy.Sensitive || p.coarse != "" {
					coarse = p.coarse
					if coarse == "" {
						coarse = "NULL"
					}
				}
				if coarse != expr {
					expr = "CASE WHEN " + coarseSQL + " THEN " + coarse + " ELSE " + expr + " END"
				}
			}
		}
		if expr == "" {
			continue // left out
		}
		if p.name == "geometry" {
			sh.geometry = expr
			continue
		}
		pairs = append(pairs, "'"+p.name+"', "+expr)
	}
	if sh.geometry == "" {
		return nil, fmt.Errorf("collection %s: no geometry", c.ID)
	}
	sh.props = "json_build_object(" + strings.Join(pairs, ", ") + ")"
	return sh, nil
}

// shapeFor returns the collection's SQL for the store's caller.
func (s *Store) shapeFor(c *Collection) *shape { return c.variants[variantOf(privacy.For(s.sc))] }

// Properties lists the names of every property the collection can output, for
// any caller (geometry first).
func (c *Collection) Properties() []string {
	names := make([]string, len(c.props))
	for i, p := range c.props {
		names[i] = p.name
	}
	return names
}

// Kinds returns the privacy record kinds of the collection's rows: its own and,
// for events, that of sensitive events.
func (c *Collection) Kinds() []string {
	if c.sensitiveKind != "" {
		return []string{c.kind, c.sensitiveKind}
	}
	return []string{c.kind}
}

// Collections returns the feature collections, in a stable order.
func Collections() []*Collection { return collections }

// FeatureCollections are the collections of /api/v1/features.
var FeatureCollections = []string{"buildings", "addresses", "events", "grids"}

// CollectionByID returns a collection, or nil.
func CollectionByID(id string) *Collection {
	for _, c := range collections {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// Filter returns the attribute filter named param, or nil.
func (c *Collection) Filter(param string) *Filter {
	for i := range c.Filters {
		if c.Filters[i].Param == param {
			return &c.Filters[i]
		}
	}
	return nil
}

// FeatureQuery selects features of one collection.
type FeatureQuery struct {
	Collection *Collection
	BBox       *BBox
	Grid       string // grid code prefix
	Admin      string // admin code prefix
	Area       *Area
	Attr       map[string][]string // attribute filter values by parameter
	Window     Window              // on the temporal column: [From, To) or, with ClosedEnd, [From, To]
	ClosedEnd  bool
	At         time.Time // versioned collections: the versions valid then (zero = current)
	AllTimes   bool      // versioned collections: versions overlapping Window instead
	Limit      int
	After      string // keyset: the last key of the previous page
	Offset     int
	Count      bool // also count all matches (OGC numberMatched)
}

// ParseAttr parses the attribute filter param of c from value.
func (c *Collection) ParseAttr(param, value string) ([]string, error) {
	f := c.Filter(param)
	if f == nil {
		return nil, paramErr(param, "not a filter of collection %s", c.ID)
	}
	switch f.Kind {
	case FilterEnum:
		v, err := ParseEnumList(param, value, f.Allowed)
		if err == nil && len(v) == 0 {
			return nil, paramErr(param, "empty")
		}
		return v, err
	case FilterCategory:
		code, err := ParseCode(param, value)
		return []string{code}, err
	case FilterPresence:
		switch value {
		case "true", "false":
			return []string{value}, nil
		}
		return nil, paramErr(param, "want true or false")
	default:
		var out []string
		for _, v := range strings.Split(value, ",") {
			v = strings.TrimSpace(v)
			if v == "" || len(v) > 64 {
				return nil, paramErr(param, "each value must be 1..64 bytes")
			}
			if err := CheckText(param, v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		if len(out) > 20 {
			return nil, paramErr(param, "at most 20 values")
		}
		return out, nil
	}
}

// Fingerprint identifies the query's filters (not its page), for cursors.
func (q *FeatureQuery) Fingerprint() uint32 {
	parts := []string{q.Collection.ID, q.Grid, q.Admin, q.Window.From.String(), q.Window.To.String(), q.At.String()}
	if q.BBox != nil {
		parts = append(parts, fmt.Sprint(*q.BBox))
	}
	if q.Area != nil {
		parts = append(parts, q.Area.GeoJSON)
	}
	for _, f := range q.Collection.Filters {
		parts = append(parts, f.Param+"="+strings.Join(q.Attr[f.Param], ","))
	}
	return Fingerprint(parts...)
}

// FeaturePage is one page of GeoJSON features, each built by PostGIS.
type FeaturePage struct {
	Features      []json.RawMessage
	LastKey       string // key of the last feature
	More          bool   // another page follows
	NumberMatched int64  // with Count
}

// sqlBuilder collects WHERE conditions and their arguments.
type sqlBuilder struct {
	conds []string
	args  []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *sqlBuilder) where(format string, args ...any) {
	ph := make([]any, len(args))
	for i, a := range args {
		ph[i] = b.arg(a)
	}
	b.conds = append(b.conds, fmt.Sprintf(format, ph...))
}

func (b *sqlBuilder) clause() string {
	if len(b.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.conds, " AND ")
}

// conditions builds the WHERE clause of q.
func (s *Store) conditions(ctx context.Context, q *FeatureQuery) (*sqlBuilder, error) {
	c := q.Collection
	b := &sqlBuilder{}
	if q.BBox != nil {
		b.where("t.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", q.BBox.MinLon, q.BBox.MinLat, q.BBox.MaxLon, q.BBox.MaxLat)
		if c.ID != "addresses" && c.ID != "events" { // points: the box test is exact
			b.where("ST_Intersects(t.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", q.BBox.MinLon, q.BBox.MinLat, q.BBox.MaxLon, q.BBox.MaxLat)
		}
	}
	if q.Area != nil {
		if err := s.checkArea(ctx, "body", *q.Area); err != nil {
			return nil, err
		}
		// The box test on its own reaches the index under row-level security (schema/0703).
		b.where("t.geom && ST_GeomFromGeoJSON(%s) AND ST_Intersects(t.geom, ST_GeomFromGeoJSON(%s))", q.Area.GeoJSON, q.Area.GeoJSON)
	}
	if sh := s.shapeFor(c); sh.coarse != "" && (q.BBox != nil || q.Area != nil) {
		// A coarsened row's exact point must not decide whether it lies in a box
		// or polygon (repeated queries would find it): such rows are left out of
		// spatially filtered answers (ask by grid or admin unit instead).
		b.conds = append(b.conds, "NOT "+sh.coarse)
	}
	if q.Grid != "" {
		if c.GridCol == "" {
			return nil, paramErr("grid", "collection %s has no grid", c.ID)
		}
		b.where("inside(t."+c.GridCol+", %s)", q.Grid)
	}
	if q.Admin != "" {
		b.where("inside(t."+c.AdminCol+", %s)", q.Admin)
	}
	for _, f := range c.Filters {
		vals, ok := q.Attr[f.Param]
		if !ok {
			continue
		}
		if f.Kind == FilterPresence {
			if vals[0] == "true" {
				b.conds = append(b.conds, "t."+f.Column+" IS NOT NULL")
			} else {
				b.conds = append(b.conds, "t."+f.Column+" IS NULL")
			}
			continue
		}
		if f.Kind == FilterCategory {
			cats, err := s.categorySubtree(ctx, f.Param, vals[0])
			if err != nil {
				return nil, err
			}
			vals = cats
		}
		b.where("t."+f.Column+" = ANY(%s)", vals)
	}
	if !q.Window.IsZero() {
		switch {
		case c.Temporal != "":
			if !q.Window.From.IsZero() {
				b.where("t."+c.Temporal+" >= %s", q.Window.From)
			}
			if !q.Window.To.IsZero() {
				if q.ClosedEnd {
					b.where("t."+c.Temporal+" <= %s", q.Window.To)
				} else {
					b.where("t."+c.Temporal+" < %s", q.Window.To)
				}
			}
		case c.versioned && q.AllTimes:
			if !q.Window.To.IsZero() {
				b.where("t.valid_from <= %s", q.Window.To)
			}
			if !q.Window.From.IsZero() {
				b.where("(t.valid_to IS NULL OR t.valid_to > %s)", q.Window.From)
			}
		}
	}
	if c.versioned && !q.AllTimes {
		if q.At.IsZero() {
			b.conds = append(b.conds, "t.valid_to IS NULL")
		} else {
			b.where("t.valid_from <= %s AND (t.valid_to IS NULL OR t.valid_to > %s)", q.At, q.At)
		}
	}
	return b, nil
}

// Features returns a page of q's features ordered by key: after q.After (keyset)
// or from q.Offset. Its properties are those the store's caller may see.
func (s *Store) Features(ctx context.Context, q *FeatureQuery) (*FeaturePage, error) {
	c := q.Collection
	sh := s.shapeFor(c)
	b, err := s.conditions(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &FeaturePage{}
	if q.Count {
		from := c.table + " t" // the category is joined only for a condition that needs it
		if sh.coarse != "" && (q.BBox != nil || q.Area != nil) {
			from = sh.from
		}
		if err := s.db.QueryRow(ctx, "SELECT count(*) FROM "+from+b.clause(), b.args...).Scan(&page.NumberMatched); err != nil {
			return nil, fmt.Errorf("count %s: %w", c.ID, err)
		}
	}
	if q.After != "" {
		if c.keyText {
			b.where("t."+c.key+" > %s", q.After)
		} else {
			k, err := strconv.ParseInt(q.After, 10, 64)
			if err != nil {
				return nil, paramErr("cursor", "not a cursor from this API")
			}
			b.where("t."+c.key+" > %s", k)
		}
	}
	sql := "SELECT t." + c.key + "::text, " + sh.cellSQL() + ", " + sh.featureSQL(c) + " FROM " + sh.from +
		b.clause() + " ORDER BY t." + c.key + " LIMIT " + b.arg(q.Limit+1)
	if q.Offset > 0 {
		sql += " OFFSET " + b.arg(q.Offset)
	}
	rows, err := s.db.Query(ctx, sql, b.args...)
	if err != nil {
		return nil, fmt.Errorf("features %s: %w", c.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, f string
		var cell *int64
		if err := rows.Scan(&key, &cell, &f); err != nil {
			return nil, fmt.Errorf("features %s: %w", c.ID, err)
		}
		if len(page.Features) == q.Limit {
			page.More = true
			break
		}
		feature, err := coarsen(json.RawMessage(f), cell)
		if err != nil {
			return nil, fmt.Errorf("features %s: %w", c.ID, err)
		}
		page.Features = append(page.Features, feature)
		page.LastKey = key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("features %s: %w", c.ID, err)
	}
	return page, nil
}

// featureSQL is the SQL of one GeoJSON feature of row t, as text.
func (sh *shape) featureSQL(c *Collection) string {
	return "json_build_object('type', 'Feature', 'id', t." + c.key + ", 'geometry', " + sh.geometry + ", 'properties', " + sh.props + ")::text"
}

// cellSQL is the SQL of a coarsened row's H3 res-9 cell (NULL for the others).
func (sh *shape) cellSQL() string {
	if sh.coarse == "" {
		return "NULL::bigint"
	}
	return "CASE WHEN " + sh.coarse + " THEN h3_parent(t.h3, 9) END"
}

// coarsen gives a coarsened feature (cell not nil; its geometry null) the
// centre of its H3 cell as its point. PostGIS cannot compute an H3 cell's
// centre, so the server does (geo.CellCenter), as the tiles do.
func coarsen(f json.RawMessage, cell *int64) (json.RawMessage, error) {
	if cell == nil {
		return f, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(f, &m); err != nil {
		return nil, err
	}
	p := geo.CellCenter(*cell)
	g, err := json.Marshal(map[string]any{"type": "Point", "coordinates": []float64{round7(p[0]), round7(p[1])}})
	if err != nil {
		return nil, err
	}
	m["geometry"] = g
	return json.Marshal(m)
}

// round7 rounds degrees to 7 decimals, as ST_AsGeoJSON(geom, 7) does.
func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// Feature returns one feature of c by its key, or ErrNotFound.
func (s *Store) Feature(ctx context.Context, c *Collection, key string) (json.RawMessage, error) {
	var arg any = key
	if !c.keyText {
		k, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, ErrNotFound
		}
		arg = k
	}
	sh := s.shapeFor(c)
	sql := "SELECT " + sh.cellSQL() + ", " + sh.featureSQL(c) + " FROM " + sh.from + " WHERE t." + c.key + " = $1"
	if c.versioned {
		sql += " ORDER BY t.valid_from DESC"
	}
	var f string
	var cell *int64
	err := s.db.QueryRow(ctx, sql+" LIMIT 1", arg).Scan(&cell, &f)
	if err != nil {
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("feature %s/%s: %w", c.ID, key, err)
	}
	return coarsen(json.RawMessage(f), cell)
}

// categorySubtree resolves a category code to it and the codes below it.
func (s *Store) categorySubtree(ctx context.Context, param, code string) ([]string, error) {
	_, cats, err := s.category(ctx, param, code)
	return cats, err
}

// category returns a category's taxonomy level and the codes of its subtree.
func (s *Store) category(ctx context.Context, param, code string) (int, []string, error) {
	var level *int
	var cats []string
	if err := s.db.QueryRow(ctx, `SELECT (SELECT level FROM event_category WHERE code = $1), event_category_subtree($1)`, code).Scan(&level, &cats); err != nil {
		return 0, nil, fmt.Errorf("category %s: %w", code, err)
	}
	if level == nil || len(cats) == 0 {
		return 0, nil, paramErr(param, "unknown event category %q", code)
	}
	return *level, cats, nil
}

// Extent is a collection's spatial and temporal extent.
type Extent struct {
	BBox     *BBox
	From, To *time.Time
}

// Extent returns c's extent as the caller sees it: for a caller whose scope is
// everything, estimated from planner statistics where the table has been
// analysed (exact otherwise); for a jurisdiction, the exact extent of the rows
// row-level security lets it read — the statistics are the whole table's, and
// a jurisdiction's collection spans its own area only.
func (s *Store) Extent(ctx context.Context, c *Collection) (Extent, error) {
	var e Extent
	var minx, miny, maxx, maxy *float64
	exact := `(SELECT ST_Extent(geom) FROM ` + c.table + `)`
	box := exact
	if s.sc.All() {
		box = `coalesce(ST_EstimatedExtent('public', '` + c.table + `', 'geom')::box2d, ` + exact + `)`
	}
	sql := `SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT ` + box + ` AS b) x`
	if err := s.db.QueryRow(ctx, sql).Scan(&minx, &miny, &maxx, &maxy); err != nil {
		return e, fmt.Errorf("extent %s: %w", c.ID, err)
	}
	if minx != nil {
		e.BBox = &BBox{*minx, *miny, *maxx, *maxy}
	}
	if c.Temporal != "" {
		if err := s.db.QueryRow(ctx, `SELECT min(`+c.Temporal+`), max(`+c.Temporal+`) FROM `+c.table).Scan(&e.From, &e.To); err != nil {
			return e, fmt.Errorf("extent %s: %w", c.ID, err)
		}
	}
	return e, nil
}
