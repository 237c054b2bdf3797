package query

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Collection is a feature collection the API serves: a table, its key, geometry,
// the properties it exposes (built in SQL with json_build_object) and the
// attribute filters it accepts. Households are not a collection: personal data.
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
	props       string // SQL expression: the properties object of row t
	versioned   bool   // grid versions: current by default, or valid at an instant
}

// FilterKind says how an attribute filter matches.
type FilterKind int

// Filter kinds.
const (
	FilterEnum     FilterKind = iota // comma list of allowed values, column = ANY
	FilterText                       // comma list of free values, column = ANY
	FilterCategory                   // an event category code at any taxonomy level: the code and its subtree
)

// Filter is an attribute filter: ?param=value[,value].
type Filter struct {
	Param   string
	Column  string
	Kind    FilterKind
	Allowed []string
	Doc     string
}

var collections = []*Collection{
	{
		ID: "addresses", Title: "Standard addresses", Description: "The unified address layer (统一地址库): one point per standard address.",
		table: "address", key: "id", GridCol: "grid_code", AdminCol: "admin_code",
		props: `json_build_object('parent_id', t.parent_id, 'level', t.level, 'full_text', t.full_text, 'code', t.code, 'admin_code', t.admin_code, 'grid_code', t.grid_code, 'status', t.status, 'h3', h3_text(t.h3))`,
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: []string{"district", "street", "community", "road", "building", "unit", "floor", "room"}, Doc: "address level"},
			{Param: "status", Column: "status", Kind: FilterEnum, Allowed: []string{"active", "retired"}, Doc: "active or retired"},
		},
	},
	{
		ID: "buildings", Title: "Buildings", Description: "Building footprints linked to their building-level address.",
		table: "building", key: "id", GridCol: "grid_code", AdminCol: "admin_code",
		props: `json_build_object('address_id', t.address_id, 'name', t.name, 'floors', t.floors, 'use', t.use, 'admin_code', t.admin_code, 'grid_code', t.grid_code, 'h3', h3_text(t.h3))`,
		Filters: []Filter{
			{Param: "use", Column: "use", Kind: FilterText, Doc: "building use, e.g. residential"},
		},
	},
	{
		ID: "events", Title: "Events", Description: "Events (事件) reported in the closed loop, at their point.",
		table: "event", key: "id", GridCol: "grid_code", AdminCol: "admin_code", Temporal: "reported_at",
		props: `json_build_object('category_code', t.category_code, 'severity', t.severity, 'source', t.source, 'status', t.status, 'title', t.title, 'reported_at', t.reported_at, 'happened_at', t.happened_at, 'closed_at', t.closed_at, 'deadline', t.deadline, 'escalation', t.escalation, 'satisfaction', t.satisfaction, 'address_id', t.address_id, 'admin_code', t.admin_code, 'grid_code', t.grid_code, 'grid_version', t.grid_version, 'h3', h3_text(t.h3))`,
		Filters: []Filter{
			{Param: "category", Column: "category_code", Kind: FilterCategory, Doc: "category code at any taxonomy level (the code and everything below it)"},
			{Param: "severity", Column: "severity", Kind: FilterEnum, Allowed: Severities, Doc: "severity"},
			{Param: "status", Column: "status", Kind: FilterEnum, Allowed: Statuses, Doc: "status"},
			{Param: "source", Column: "source", Kind: FilterEnum, Allowed: Sources, Doc: "intake channel"},
		},
	},
	{
		ID: "grids", Title: "Grids", Description: "Grid polygons (streets, communities, grids, micro-grids); current versions unless a time is given.",
		table: "grid", key: "id", GridCol: "code", AdminCol: "admin_code", versioned: true,
		props: `json_build_object('code', t.code, 'version', t.version, 'level', t.level, 'name', t.name, 'parent_code', t.parent_code, 'admin_code', t.admin_code, 'staff_seats', t.staff_seats, 'valid_from', CASE WHEN isfinite(t.valid_from) THEN t.valid_from END, 'valid_to', t.valid_to)`,
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: GridLevels, Doc: "grid level"},
		},
	},
	{
		ID: "admin_areas", Title: "Administrative areas", Description: "Districts, streets and communities with their 6/9/12-digit codes.",
		table: "admin_area", key: "code", keyText: true, GridCol: "", AdminCol: "code",
		props: `json_build_object('code', t.code, 'level', t.level, 'name', t.name, 'parent_code', t.parent_code)`,
		Filters: []Filter{
			{Param: "level", Column: "level", Kind: FilterEnum, Allowed: []string{"province", "city", "district", "street", "community"}, Doc: "admin level"},
		},
	},
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
	default:
		var out []string
		for _, v := range strings.Split(value, ",") {
			v = strings.TrimSpace(v)
			if v == "" || len(v) > 64 {
				return nil, paramErr(param, "each value must be 1..64 bytes")
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
		b.where("ST_Intersects(t.geom, ST_GeomFromGeoJSON(%s))", q.Area.GeoJSON)
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
// or from q.Offset.
func (s *Store) Features(ctx context.Context, q *FeatureQuery) (*FeaturePage, error) {
	c := q.Collection
	b, err := s.conditions(ctx, q)
	if err != nil {
		return nil, err
	}
	page := &FeaturePage{}
	if q.Count {
		if err := s.db.QueryRow(ctx, "SELECT count(*) FROM "+c.table+" t"+b.clause(), b.args...).Scan(&page.NumberMatched); err != nil {
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
	sql := "SELECT t." + c.key + "::text, json_build_object('type', 'Feature', 'id', t." + c.key +
		", 'geometry', ST_AsGeoJSON(t.geom, 7)::json, 'properties', " + c.props + ")::text FROM " + c.table + " t" +
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
		if err := rows.Scan(&key, &f); err != nil {
			return nil, fmt.Errorf("features %s: %w", c.ID, err)
		}
		if len(page.Features) == q.Limit {
			page.More = true
			break
		}
		page.Features = append(page.Features, json.RawMessage(f))
		page.LastKey = key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("features %s: %w", c.ID, err)
	}
	return page, nil
}

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
	sql := "SELECT json_build_object('type', 'Feature', 'id', t." + c.key + ", 'geometry', ST_AsGeoJSON(t.geom, 7)::json, 'properties', " + c.props + ")::text FROM " + c.table + " t WHERE t." + c.key + " = $1"
	if c.versioned {
		sql += " ORDER BY t.valid_from DESC"
	}
	var f string
	err := s.db.QueryRow(ctx, sql+" LIMIT 1", arg).Scan(&f)
	if err != nil {
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("feature %s/%s: %w", c.ID, key, err)
	}
	return json.RawMessage(f), nil
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

// Extent returns c's extent: estimated from planner statistics where the table
// has been analysed, exact otherwise.
func (s *Store) Extent(ctx context.Context, c *Collection) (Extent, error) {
	var e Extent
	var minx, miny, maxx, maxy *float64
	sql := `SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) FROM (SELECT coalesce(ST_EstimatedExtent('public', '` + c.table + `', 'geom')::box2d, (SELECT ST_Extent(geom) FROM ` + c.table + `)) AS b) x`
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
