package tiles

import (
	"embed"
	"slices"

	"github.com/onegrid/onegrid/scope"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

func mustSQL(name string) string {
	b, err := sqlFiles.ReadFile("sql/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Layer describes one tile layer: what it holds and at which zooms.
type Layer struct {
	Name        string
	Description string
	// MinZoom and MaxZoom are the zooms at which the layer has data. A tile below
	// MinZoom or above MaxZoom is empty without asking the database; ServeMax (the
	// TileJSON maxzoom) is lower where clients should overzoom instead of asking.
	MinZoom, MaxZoom int
	ServeMax         int
	// Fields are the properties of the layer's features (TileJSON vector_layers).
	Fields map[string]string
	// Label names the point layer carried in the same tile with one label point per
	// polygon ("" for none); LabelFields are its properties.
	Label       string
	LabelFields map[string]string
	// Filtered layers take the event filters (from, to, category, status).
	Filtered bool
	// Daily layers carry properties relative to today (age_days), so their cache key
	// includes the date.
	Daily bool
	// Sources are the tile_layer_version rows the layer depends on.
	Sources []string
	// CacheControl is sent with the layer's tiles (the HTTP layer makes it
	// private and varying with the credentials, as every scoped answer).
	CacheControl string
	// Need is the capability (scope.Can*) a caller's scope must carry to see the
	// layer, or Anyone: every layer states one (a test fails for a layer
	// without). A caller without it gets the layer left out of the composite
	// layer, TileJSON and the style, and ErrForbiddenLayer for the layer itself.
	Need string
	// FiguresNeed is the capability that shows the load figures of an outline
	// layer (households, people, open_events); without it the outlines come bare.
	FiguresNeed string

	kind      layerKind
	sql       string
	coarseSQL string // events: the sensitive events to draw coarsened
	units     *unitLayer
}

type layerKind int

const (
	kindSQL layerKind = iota
	kindEventsH3
	kindHouseholdsH3
	kindUnits
	kindEvents
	kindHotspots
)

// All is the name of the composite layer: every layer's features in one tile.
const All = "all"

// Anyone is the Need of a layer any identity may see (row-level security still
// narrows it to the jurisdiction): the outlines of admin units and grids.
const Anyone = "any"

const loadFields = "households: households in the unit; people: their members (both under disclosure control: rounded to a multiple of the threshold, left out below it); open_events: events reported, dispatched or being handled"

var (
	adminFields = map[string]string{
		"code": "String", "name": "String", "level": "String",
		"households": "Number", "people": "Number", "open_events": "Number",
	}
	gridFields = map[string]string{
		"code": "String", "name": "String", "level": "String", "version": "Number", "parent_code": "String",
		"households": "Number", "people": "Number", "open_events": "Number",
	}
	gridLabelFields = map[string]string{
		"code": "String", "name": "String", "level": "String",
		"households": "Number", "people": "Number", "open_events": "Number",
	}
)

// layers is the registry, in drawing order (bottom first).
var layers = []*Layer{
	{
		Name:        "admin",
		Description: "administrative units: districts up to z9, streets z10-11, communities from z12; " + loadFields,
		MinZoom:     0, MaxZoom: 24, ServeMax: 16,
		Fields: adminFields, Label: "admin_label", LabelFields: adminFields,
		Sources:      []string{"admin"},
		CacheControl: "max-age=300, must-revalidate",
		Need:         Anyone, FiguresNeed: scope.CanAggregates,
		kind: kindUnits, units: adminUnits,
	},
	{
		Name:        "grids",
		Description: "current grids: level grid at z12-13, micro_grid from z14; " + loadFields,
		MinZoom:     12, MaxZoom: 24, ServeMax: 16,
		Fields: gridFields, Label: "grid_label", LabelFields: gridLabelFields,
		Sources:      []string{"grids"},
		CacheControl: "max-age=60, must-revalidate",
		Need:         Anyone, FiguresNeed: scope.CanAggregates,
		kind: kindUnits, units: gridUnits,
	},
	{
		Name:        "households_h3",
		Description: "households, people and households per tag (tag_<tag>) per H3 cell at the zoom's resolution (6 at z8 .. 11 from z15), under disclosure control: cells and tag counts below the threshold are left out, the rest rounded to multiples of it (the same values as the aggregates by H3 cell)",
		MinZoom:     0, MaxZoom: 24, ServeMax: 16,
		Fields:       map[string]string{"cell": "String", "res": "Number", "households": "Number", "people": "Number"},
		Sources:      []string{"households_h3"},
		CacheControl: "max-age=300, must-revalidate",
		Need:         scope.CanAggregates,
		kind:         kindHouseholdsH3,
	},
	{
		Name:        "buildings",
		Description: "building footprints from z14, simplified below z16",
		MinZoom:     14, MaxZoom: 24, ServeMax: 16,
		Fields: map[string]string{
			"name": "String", "floors": "Number", "use": "String", "address_id": "Number", "grid_code": "String",
		},
		Sources:      []string{"buildings"},
		CacheControl: "max-age=300, must-revalidate",
		Need:         scope.CanRows,
		kind:         kindUnits, units: buildingUnits,
	},
	{
		Name:        "events_h3",
		Description: "event counts per H3 cell at the zoom's resolution up to z14 (events: all matching, open: still open); filters from, to, category, status; a sensitive event outside the caller's duties counts, finer than resolution 9, in the cell at the centre of its resolution-9 cell",
		MinZoom:     0, MaxZoom: 14, ServeMax: 14,
		Fields:       map[string]string{"cell": "String", "res": "Number", "events": "Number", "open": "Number"},
		Filtered:     true,
		Sources:      []string{"events_h3", "event_categories"},
		CacheControl: "max-age=10, must-revalidate",
		Need:         scope.CanAggregates,
		kind:         kindEventsH3,
	},
	{
		Name:        "hotspots",
		Description: "significant cells of the latest stored standard hotspot analysis (last 30 days, res 9, Gi* with FDR) of the whole city, or for a smaller jurisdiction of each street in it: z, p, bin and bin_fdr (+3/+2/+1 hot at 99/95/90 %); category filter: all or a top-level category",
		MinZoom:     0, MaxZoom: 24, ServeMax: 14,
		Fields: map[string]string{
			"cell": "String", "count": "Number", "z": "Number", "p": "Number", "bin": "Number", "bin_fdr": "Number", "computed_at": "String",
		},
		Filtered:     true,
		Sources:      []string{"hotspots"},
		CacheControl: "max-age=60, must-revalidate",
		Need:         scope.CanAggregates,
		kind:         kindHotspots,
	},
	{
		Name:        "events",
		Description: "event points from z15 (a z14 tile of a dense district holds over 10,000 events a year, over 1 MB); filters from, to, category, status; a sensitive event outside the caller's duties is drawn at the centre of its H3 resolution-9 cell, with coarsened: true",
		MinZoom:     15, MaxZoom: 24, ServeMax: 16,
		Fields: map[string]string{
			"category": "String", "severity": "String", "status": "String", "source": "String",
			"escalation": "Number", "age_days": "Number", "overdue": "Boolean", "coarsened": "Boolean",
		},
		Filtered: true, Daily: true,
		Sources:      []string{"events", "event_categories"},
		CacheControl: "max-age=10, must-revalidate",
		Need:         scope.CanRows,
		kind:         kindEvents, sql: mustSQL("events.sql"), coarseSQL: mustSQL("events_coarse.sql"),
	},
	{
		Name:        "addresses",
		Description: "road/compound and building/doorplate addresses from z16",
		MinZoom:     16, MaxZoom: 24, ServeMax: 16,
		Fields:       map[string]string{"code": "String", "level": "String", "text": "String", "grid_code": "String"},
		Sources:      []string{"addresses"},
		CacheControl: "max-age=300, must-revalidate",
		Need:         scope.CanRows,
		kind:         kindSQL, sql: mustSQL("addresses.sql"),
	},
}

var (
	layerByName = map[string]*Layer{}
	allSources  []string
)

func init() {
	for _, l := range layers {
		layerByName[l.Name] = l
		for _, s := range l.Sources {
			if !slices.Contains(allSources, s) {
				allSources = append(allSources, s)
			}
		}
	}
	slices.Sort(allSources)
}

// Layers returns the layers in drawing order (bottom first).
func Layers() []*Layer { return slices.Clone(layers) }

// LookupLayer returns the named layer; ok is false for an unknown name. The
// composite layer All is not in the registry.
func LookupLayer(name string) (l *Layer, ok bool) {
	l, ok = layerByName[name]
	return l, ok
}

// Visible reports whether a caller with the scope may see the layer.
func (l *Layer) Visible(sc scope.Scope) bool {
	if l.Need == Anyone {
		return len(sc.Units) > 0
	}
	return sc.Can(l.Need)
}

// figures reports whether the scope sees the layer's load figures.
func (l *Layer) figures(sc scope.Scope) bool { return l.FiguresNeed != "" && sc.Can(l.FiguresNeed) }

// visibleLayers returns the layers of the registry the scope may see, in
// drawing order.
func visibleLayers(sc scope.Scope) []*Layer {
	var out []*Layer
	for _, l := range layers {
		if l.Visible(sc) {
			out = append(out, l)
		}
	}
	return out
}

// inZoom reports whether the layer has data at zoom z.
func (l *Layer) inZoom(z int) bool { return z >= l.MinZoom && z <= l.MaxZoom }
