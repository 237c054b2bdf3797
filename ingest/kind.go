package ingest

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kinds lists the kinds of file `ingest` loads through a column mapping.
var Kinds = []string{"addresses", "buildings", "households", "admin", "grids", "events", "categories"}

// kindSpec describes one loadable kind: its fields, geometry, staging columns and
// the SQL that checks and inserts the staged rows.
type kindSpec struct {
	name   string
	fields []field
	geom   geomRule
	// idOf returns the row's source id (dataset_id, or the natural key for
	// admin areas and grids) from its converted values; ok false = none given.
	idOf  func(v rowView) (string, bool)
	check func(v rowView) *FieldError // cross-field rules, after conversion
	sql   kindSQL

	cols     []stageCol
	colIndex map[string]int
}

// fixed staging columns before the fields' columns.
var headCols = []stageCol{{"line", "bigint"}, {"rfield", "text"}, {"rreason", "text"}, {"raw", "text"}, {"id", "text"}}

// fixed staging columns after the fields' columns.
var tailCols = []stageCol{{"geom", "bytea"}, {"h3", "bigint"}}

func (k *kindSpec) init() *kindSpec {
	k.cols = append([]stageCol{}, headCols...)
	for _, f := range k.fields {
		k.cols = append(k.cols, f.cols...)
	}
	k.cols = append(k.cols, tailCols...)
	k.colIndex = map[string]int{}
	for i, c := range k.cols {
		k.colIndex[c.name] = i
	}
	return k
}

// fieldNames are the names a mapping may use for this kind.
func (k *kindSpec) fieldNames() []string {
	names := []string{"id"}
	for _, f := range k.fields {
		if f.name != "id" {
			names = append(names, f.name)
		}
	}
	if k.geom != geomNone {
		names = append(names, "wkt", "lon", "lat")
	}
	return names
}

// rowView reads a converted staging row by column name.
type rowView struct {
	k   *kindSpec
	row []any
}

func (v rowView) get(col string) any { return v.row[v.k.colIndex[col]] }

func (v rowView) str(col string) (string, bool) {
	s, ok := v.get(col).(string)
	return s, ok
}

func (v rowView) time(col string) (time.Time, bool) {
	t, ok := v.get(col).(time.Time)
	return t, ok
}

func byID(v rowView) (string, bool) { return v.str("src_id") }

// idField is the row's id in its file; it becomes dataset_id.
func idField() field {
	f := textField("id", false)
	f.cols = []stageCol{{"src_id", "text"}}
	return f
}

var severities = map[string]string{
	"general": "general", "一般": "general", "normal": "general", "low": "general",
	"important": "important", "重要": "important", "high": "important", "major": "important",
	"urgent": "urgent", "紧急": "urgent", "critical": "urgent",
}

var sources = map[string]string{
	"patrol": "patrol", "巡查": "patrol", "qr": "qr", "扫码": "qr", "hotline": "hotline", "热线": "hotline",
	"12345": "hotline", "phone": "hotline", "app": "app", "web": "app", "sensor": "sensor", "传感器": "sensor",
	"other": "other", "其他": "other",
}

var statuses = map[string]string{
	"reported": "reported", "上报": "reported", "open": "reported", "dispatched": "dispatched", "分拨": "dispatched",
	"handling": "handling", "处置中": "handling", "resolved": "resolved", "已处置": "resolved",
	"closed": "closed", "结案": "closed", "cancelled": "cancelled", "canceled": "cancelled", "作废": "cancelled",
}

var addressLevels = enumSet("district", "street", "community", "road", "building", "unit", "floor", "room")
var adminLevels = enumSet("province", "city", "district", "street", "community")
var gridLevels = enumSet("street", "community", "grid", "micro_grid")

func enumSet(vs ...string) map[string]string {
	m := map[string]string{}
	for _, v := range vs {
		m[v] = v
	}
	return m
}

var kinds = map[string]*kindSpec{
	"events": (&kindSpec{
		name: "events",
		fields: []field{
			idField(),
			textField("category", true),
			textField("category1", false),                // with --create-categories: the level-1 name
			textField("category2", false),                // with --create-categories: the level-2 name
			enumField("severity", false, "", severities), // absent: the category's default, else general

			enumField("source", false, "other", sources),
			enumField("status", false, "reported", statuses),
			textField("title", false),
			timeField("reported_at", true),
			timeField("happened_at", false),
			timeField("closed_at", false),
			intField("address_id", false, 1, 1<<62),
			textField("address_ref", false),
			intField("satisfaction", false, 1, 5),
		},
		geom: pointRequired,
		idOf: byID,
		check: func(v rowView) *FieldError {
			rep, _ := v.time("reported_at")
			closed, hasClosed := v.time("closed_at")
			status, _ := v.str("status")
			if hasClosed && closed.Before(rep) {
				return &FieldError{Field: "closed_at", Reason: fmt.Sprintf("closed at %s before reported at %s", closed.Format(time.RFC3339), rep.Format(time.RFC3339))}
			}
			if (status == "closed" || status == "resolved") && !hasClosed {
				return &FieldError{Field: "closed_at", Reason: "missing required field for status " + status}
			}
			if hasClosed && status != "closed" && status != "resolved" && status != "cancelled" {
				return &FieldError{Field: "status", Reason: fmt.Sprintf("status %s with a closed_at: want closed or resolved", status)}
			}
			return nil
		},
		sql: eventSQL,
	}).init(),
	"addresses": (&kindSpec{
		name: "addresses",
		fields: []field{
			idField(),
			enumField("level", false, "building", addressLevels),
			textField("full_text", true),
			textField("code", false),
			textField("admin_code", false),
			textField("parent_ref", false),
		},
		geom: pointOptional,
		idOf: byID,
		sql:  addressSQL,
	}).init(),
	"buildings": (&kindSpec{
		name: "buildings",
		fields: []field{
			idField(),
			textField("name", false),
			intField("floors", false, 1, 200),
			textField("use", false),
			intField("address_id", false, 1, 1<<62),
			textField("address_ref", false),
		},
		geom: areaRequired,
		idOf: byID,
		sql:  buildingSQL,
	}).init(),
	"households": (&kindSpec{
		name: "households",
		fields: []field{
			idField(),
			intField("address_id", false, 1, 1<<62),
			textField("address_ref", false),
			textField("address_code", false),
			intField("members", true, 1, 50),
			tagsField("tags"),
			personalField("head_name", false, MaskName),
			personalField("phone", true, MaskPhone),
			personalField("id_no", true, MaskIDNo),
		},
		geom: pointOptional,
		idOf: byID,
		check: func(v rowView) *FieldError {
			if v.get("address_id") == nil && v.get("address_ref") == nil && v.get("address_code") == nil {
				return &FieldError{Field: "address_ref", Reason: "missing required field: a household needs address_ref, address_id or address_code"}
			}
			return nil
		},
		sql: householdSQL,
	}).init(),
	"admin": (&kindSpec{
		name: "admin",
		fields: []field{
			textField("code", true),
			enumField("level", true, "", adminLevels),
			textField("name", true),
			textField("parent_code", false),
		},
		geom: areaRequired,
		idOf: func(v rowView) (string, bool) { return v.str("code") },
		check: func(v rowView) *FieldError {
			level, _ := v.str("level")
			if _, ok := v.str("parent_code"); !ok && level != "province" && level != "city" && level != "district" {
				return &FieldError{Field: "parent_code", Reason: "missing required field for level " + level}
			}
			return nil
		},
		sql: adminSQL,
	}).init(),
	"grids": (&kindSpec{
		name: "grids",
		fields: []field{
			textField("code", true),
			{name: "version", def: "1", cols: []stageCol{{"version", "bigint"}}, conv: intField("version", false, 1, 1<<30).conv},
			enumField("level", true, "", gridLevels),
			textField("name", false),
			textField("parent_code", false),
			textField("admin_code", false),
			intField("staff_seats", false, 0, 10000),
			timeField("valid_from", false),
			timeField("valid_to", false),
		},
		geom: areaRequired,
		idOf: func(v rowView) (string, bool) {
			code, ok := v.str("code")
			return fmt.Sprintf("%s@%d", code, v.get("version")), ok
		},
		check: func(v rowView) *FieldError {
			from, okf := v.time("valid_from")
			to, okt := v.time("valid_to")
			if okf && okt && !to.After(from) {
				return &FieldError{Field: "valid_to", Reason: "valid_to must be after valid_from"}
			}
			return nil
		},
		sql: gridSQL,
	}).init(),
}

// fieldOf returns the spec of a field by name.
func (k *kindSpec) fieldOf(name string) (field, bool) {
	for _, f := range k.fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// KindFields lists a kind's mappable fields, for usage text.
func KindFields(kind string) ([]string, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %q: want %s, osm or open311", kind, strings.Join(Kinds, ", "))
	}
	names := k.fieldNames()
	sort.Strings(names)
	return names, nil
}
