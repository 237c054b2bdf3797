package ingest

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The 311-export loader: a city's case (or incident) export loads as events,
// its categories created from the export's own category columns and its areas,
// where given, loaded in the same transaction. A Preset311 says how one city's
// export looks; SF311, the San Francisco 311 case layout (CaseID, Opened,
// Closed, Updated, Status, Category, Request.Type, Request.Details, Address,
// Source, Lat, Long), is the `open311` kind's default:
//
//   - categories are created as needed: cat1 → level 1 "SF" + 2 digits, cat2 →
//     level 2 parent + 3 digits, cat3 → level 3 parent + 3 digits (see
//     createCategorySQL: assigned once, found again by their text, so re-loads
//     and later files keep earlier codes). An event gets the finest category its
//     row names.
//   - Status Open → reported (handling when Updated is later than Opened),
//     Closed → closed with closed_at = Closed.
//   - Source: Voice In → hotline; Open311, Web Self Service, Twitter → app;
//     Integrated Agency, Other Department, e-mail In, Mail In → other.
//   - Times without an offset are America/Los_Angeles unless --tz says otherwise.
//   - The areas file (census tracts with an "nhood" property) loads as the city
//     SF0000 with the neighbourhoods as streets SF0000NNN, the tracts as
//     communities SF0000NNNTTT named "Tract <tractce10>", and a grid per tract
//     (see AreaOptions).
//
// Preset "none" starts from nothing: every field is read from the column of
// its own name unless mapped, times are UTC unless --tz, categories get the
// prefix given (or one made from the dataset name), and areas come from the
// area options alone.

// Preset311 is how one city's 311 export looks.
type Preset311 struct {
	Name           string
	Mapping        Mapping // loader field → export column
	TimeZone       string  // IANA name; "" = UTC
	CategoryPrefix string
	CategoryDigits [3]int
	Areas          AreaOptions // Path is the caller's
}

// SF311 is the San Francisco preset: `onegrid ingest --areas tracts.geojson
// open311 cases.csv` loads DataSF's 311 sample as before this loader was general.
var SF311 = Preset311{
	Name:           "sf",
	Mapping:        open311Mapping,
	TimeZone:       "America/Los_Angeles",
	CategoryPrefix: "SF",
	CategoryDigits: [3]int{2, 3, 3},
	Areas:          AreaOptions{Code: "SF0000", Name: "San Francisco", Group: "nhood", ID: []string{"tractce10", "geoid"}, CommunityPrefix: "Tract "},
}

// Presets311 are the presets by name.
var Presets311 = map[string]Preset311{"sf": SF311, "none": {Name: "none", CategoryDigits: [3]int{3, 3, 3}}}

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
		insert:     eventSQL.insert,
		unassigned: true,
	},
}).init()

// LoadOpen311 loads a San Francisco 311 case export with the SF311 preset,
// with the area hierarchy from areasPath first when it is given; o's mapping,
// time zone and category prefix, where set, override the preset's.
func LoadOpen311(ctx context.Context, db DB, o Options, areasPath string) (Summary, error) {
	p := SF311
	p.Areas.Path = areasPath
	return Load311(ctx, db, o, p)
}

// Load311 loads a 311 export as events with preset p: o.Mapping is merged over
// the preset's, o.TimeZone and o.CategoryPrefix replace the preset's where
// set, and o.Areas's non-empty fields replace p.Areas's.
func Load311(ctx context.Context, db DB, o Options, p Preset311) (Summary, error) {
	if o.TimeZone == nil && p.TimeZone != "" {
		loc, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			return Summary{}, fmt.Errorf("load open311: %w", err)
		}
		o.TimeZone = loc
	}
	if o.Format == "" {
		o.Format = "csv"
	}
	if err := o.defaults(); err != nil {
		return Summary{}, fmt.Errorf("load open311: %w", err)
	}
	tax := taxonomy{prefix: p.CategoryPrefix, digits: p.CategoryDigits}
	if o.CategoryPrefix != "" || tax.prefix == "" {
		t, err := newTaxonomy(cmp.Or(o.CategoryPrefix, DefaultCategoryPrefix(o.Dataset)))
		if err != nil {
			return Summary{}, fmt.Errorf("load open311: %w", err)
		}
		tax.prefix = t.prefix
	}
	areas := p.Areas.merge(o.Areas)
	if areas.Path == "" && o.Areas.Code == "" {
		// The preset's area names describe its areas file: without one (and
		// without an area code of the caller's, which derives one) no areas.
		areas = AreaOptions{}
	}
	o.Areas = areas
	k := open311Kind
	levels := func(context.Context, pgx.Tx) ([]string, error) { return []string{"cat1", "cat2", "cat3"}, nil }
	before, err := eventsBefore(o, &tax, levels)
	if err != nil {
		return Summary{}, fmt.Errorf("load open311: %w", err)
	}
	s, err := loadKind(ctx, db, o, k, p.Mapping.Merge(o.Mapping), before)
	if err != nil {
		return s, fmt.Errorf("load open311 %s: %w", o.Path, err)
	}
	return s, nil
}
