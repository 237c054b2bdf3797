package privacy

import (
	"fmt"
	"strings"
)

// Field lists shared by record kinds.
var (
	unitCounts = []Field{
		{Name: "households", Class: Public, Doc: "households in the unit (disclosure-controlled)"},
		{Name: "people", Class: Public, Doc: "their members (disclosure-controlled)"},
		{Name: "open_events", Class: Public, Doc: "events still in the loop"},
	}
	addressFields = func(c Class) []Field {
		return []Field{
			{Name: "id", Class: c}, {Name: "parent_id", Class: c}, {Name: "level", Class: c},
			{Name: "full_text", Class: c, Doc: "the standard address text"}, {Name: "text", Class: c, Doc: "the same, as the address routes and tiles name it"},
			{Name: "code", Class: c}, {Name: "admin_code", Class: c}, {Name: "grid_code", Class: c},
			{Name: "status", Class: c}, {Name: "h3", Class: c}, {Name: "geometry", Class: c},
			{Name: "lon", Class: c}, {Name: "lat", Class: c}, {Name: "aliases", Class: c},
		}
	}
	// eventFields are an event's fields whose class does not depend on its
	// category's sensitivity.
	eventFields = []Field{
		{Name: "id", Class: Internal}, {Name: "category_code", Class: Internal}, {Name: "category", Class: Internal, Doc: "the category code (tiles)"},
		{Name: "severity", Class: Internal}, {Name: "source", Class: Internal}, {Name: "status", Class: Internal},
		{Name: "reported_at", Class: Internal}, {Name: "happened_at", Class: Internal}, {Name: "closed_at", Class: Internal},
		{Name: "deadline", Class: Internal}, {Name: "escalation", Class: Internal},
		{Name: "satisfaction", Class: Internal, Doc: "the reporter's rating, 1-5"},
		{Name: "admin_code", Class: Internal}, {Name: "grid_code", Class: Internal, Doc: "the micro-grid"}, {Name: "grid_version", Class: Internal},
		{Name: "coarsened", Class: Internal, Doc: "true where the point and cell are the H3 res-9 cell's, not the event's"},
		{Name: "age_days", Class: Internal, Doc: "tiles: days since reported"}, {Name: "overdue", Class: Internal, Doc: "tiles: open past its deadline"},
	}
)

// registry is the class of every field the server can output, per record kind.
// README.md's "Privacy by class" table is Markdown() of it (a test keeps them
// equal); tests walk every output and fail on a field it does not list.
var registry = []Record{
	{Kind: "admin_area", Row: Public, Doc: "districts, streets, communities", Fields: []Field{
		{Name: "code", Class: Public}, {Name: "level", Class: Public}, {Name: "name", Class: Public},
		{Name: "parent_code", Class: Public}, {Name: "geometry", Class: Public},
	}},
	{Kind: "grid", Row: Public, Doc: "grid versions: streets, communities, grids, micro-grids", Fields: []Field{
		{Name: "code", Class: Public}, {Name: "version", Class: Public}, {Name: "level", Class: Public}, {Name: "name", Class: Public},
		{Name: "parent_code", Class: Public}, {Name: "admin_code", Class: Public}, {Name: "valid_from", Class: Public},
		{Name: "valid_to", Class: Public}, {Name: "geometry", Class: Public},
		{Name: "staff_seats", Class: Internal, Doc: "staffing of the grid"},
	}},
	{Kind: "unit_load", Row: Public, Doc: "counts per admin unit or grid (tiles, grid load)", Fields: unitCounts},
	{Kind: "address", Row: Internal, Doc: "a standard address at road, building or a coarser level", Fields: append(addressFields(Internal),
		Field{Name: "matched", Class: Internal, Doc: "search: the text or alias that matched"},
		Field{Name: "by_alias", Class: Internal}, Field{Name: "rank", Class: Internal}, Field{Name: "distance_m", Class: Internal})},
	{Kind: "flat", Row: Personal, Doc: "an address at unit, floor or room level: it identifies a flat (others see addresses down to the building; the flat's rows are not in their answers)",
		Fields: addressFields(Personal)},
	{Kind: "building", Row: Internal, Doc: "a footprint and its building-level address", Fields: []Field{
		{Name: "id", Class: Internal}, {Name: "address_id", Class: Internal}, {Name: "name", Class: Internal},
		{Name: "floors", Class: Internal}, {Name: "use", Class: Internal}, {Name: "admin_code", Class: Internal},
		{Name: "grid_code", Class: Internal}, {Name: "h3", Class: Internal}, {Name: "geometry", Class: Internal},
		{Name: "address", Class: Internal, Doc: "its standard address text"}, {Name: "address_code", Class: Internal},
		{Name: "households", Class: Public, Doc: "households on its address tree (disclosure-controlled)"},
		{Name: "people", Class: Public, Doc: "their members (disclosure-controlled)"},
	}},
	{Kind: "event", Row: Internal, Doc: "an event of a category that is not sensitive", Fields: append([]Field{
		{Name: "title", Class: Personal, Doc: "free text: reporters write names and flats into it"},
		{Name: "address_id", Class: Personal, Others: "its building's address when the address is a flat (the nearest ancestor above unit level)"},
		{Name: "h3", Class: Internal, Doc: "res-12 cell of the point"}, {Name: "geometry", Class: Internal},
	}, eventFields...)},
	{Kind: "sensitive_event", Row: Internal, Doc: "an event of a sensitive category (event_category.sensitive: drug leads, children in difficulty, mental disorder patients, suspected infectious cases, social assistance cases, …)", Fields: append([]Field{
		{Name: "title", Class: Sensitive, Doc: "left out outside the duty"},
		{Name: "address_id", Class: Sensitive, Doc: "left out outside the duty"},
		{Name: "h3", Class: Sensitive, Others: "its H3 res-9 cell"},
		{Name: "geometry", Class: Sensitive, Others: "the centre of its H3 res-9 cell; a bbox or polygon query leaves the event out"},
	}, eventFields...)},
	{Kind: "event_step", Row: Internal, Doc: "one step of an event's history", Fields: []Field{
		{Name: "event_id", Class: Internal}, {Name: "at", Class: Internal}, {Name: "status", Class: Internal},
		{Name: "actor", Class: Internal, Doc: "the staff account"}, {Name: "note", Class: Personal, Doc: "free text"},
	}},
	{Kind: "household", Row: Personal, Doc: "a household on its address (households callers only; never a feature collection or tile)", Fields: []Field{
		{Name: "id", Class: Personal}, {Name: "address_id", Class: Personal}, {Name: "address", Class: Personal, Doc: "the flat's standard address"},
		{Name: "members", Class: Personal},
		{Name: "tags", Class: Sensitive, Doc: "shown to those who serve the household; household_tag_class says which tags are sensitive (unknown tags count as sensitive) for counts elsewhere"},
		{Name: "head_name", Class: Personal, Masked: true, Doc: "张*"}, {Name: "phone", Class: Personal, Masked: true, Doc: "138****5678"},
		{Name: "id_no", Class: Personal, Masked: true, Doc: "440304********1234"},
		{Name: "admin_code", Class: Internal}, {Name: "grid_code", Class: Internal},
		{Name: "sealed", Class: Personal, Doc: "clear values are on record (may be unmasked)"},
	}},
	{Kind: "h3_cell", Row: Public, Doc: "counts per H3 cell (households_h3, events_h3 tiles; aggregates by h3), disclosure-controlled", Fields: []Field{
		{Name: "cell", Class: Public}, {Name: "res", Class: Public},
		{Name: "households", Class: Public}, {Name: "people", Class: Public}, {Name: "tag_<tag>", Class: Public, Doc: "households per tag"},
		{Name: "events", Class: Public}, {Name: "open", Class: Public},
	}},
	{Kind: "hotspot_cell", Row: Public, Doc: "Gi* statistics of an H3 cell", Fields: []Field{
		{Name: "cell", Class: Public}, {Name: "count", Class: Public}, {Name: "z", Class: Public}, {Name: "p", Class: Public},
		{Name: "bin", Class: Public}, {Name: "bin_fdr", Class: Public}, {Name: "computed_at", Class: Public},
	}},
}

// Who says in words who sees a class.
func (c Class) Who() string {
	switch c {
	case Public:
		return "anyone who gets the record"
	case Internal:
		return "rows"
	case Personal:
		return "households (masked as stored; clear by unmasking: personal, a reason, audited)"
	case Sensitive:
		return "the duty: the event's category among the caller's duties, or sensitive; a household's tags: households"
	}
	return ""
}

// Markdown is the registry as the README's table: one line per record kind
// and class.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| record | record needs | public | internal | personal | sensitive | others get |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range registry {
		cols := map[Class][]string{}
		var others []string
		for _, f := range r.Fields {
			name := "`" + f.Name + "`"
			if f.Masked {
				name += " (masked)"
			}
			cols[f.Class] = append(cols[f.Class], name)
			if f.Others != "" {
				others = append(others, "`"+f.Name+"`: "+f.Others)
			}
		}
		cell := func(c Class) string {
			if len(cols[c]) == 0 {
				return "—"
			}
			return strings.Join(cols[c], ", ")
		}
		fmt.Fprintf(&b, "| %s: %s | %s | %s | %s | %s | %s | %s |\n", r.Kind, r.Doc, r.Row, cell(Public), cell(Internal),
			cell(Personal), cell(Sensitive), strings.Join(others, "; "))
	}
	return b.String()
}
