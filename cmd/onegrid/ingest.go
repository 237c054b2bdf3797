package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"
	_ "time/tzdata" // --tz must work on machines without a zoneinfo database

	"github.com/onegrid/onegrid/ingest"
)

func init() { commands["ingest"] = runIngest }

const ingestUsage = `usage: onegrid ingest [flags] <kind> <file>

kinds:
  addresses, buildings, households, admin, grids, events
              CSV (geometry as a WKT column or lon/lat columns) or GeoJSON
  categories  a three-level event taxonomy: code, parent, level, name
              [, name_en, department, default_severity, time_limit_hours]
  osm         OpenStreetMap XML (.osm) or PBF (.osm.pbf): buildings and addresses
  open311     a 311 case export (CSV); --preset sf (default: San Francisco's
              layout, with --areas <tracts.geojson>) or none

a city's own incident export, with categories created from its offence text
and a study area derived from its points:
  onegrid ingest --map id=INCIDENT_NUMBER,reported_at=OCCURRED_ON_DATE,category=OFFENSE_DESCRIPTION \
      --create-categories --category-prefix BOS --area-code BOS --area-name Boston events export.csv

flags:
`

// runIngest loads one file and prints read / loaded / rejected; it exits 3 when
// rows were rejected, unless --allow-rejects.
func runIngest(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var (
		mapFlag      = fs.String("map", "", "column mapping: field=column,field=column")
		mappingFile  = fs.String("mapping", "", "JSON mapping file: {\"field\": \"column\", …}")
		format       = fs.String("format", "", "csv or geojson (default: from the file name)")
		dataset      = fs.String("dataset", "", "dataset name, with the source id the key of idempotent re-loads (default: file base name)")
		addrDataset  = fs.String("address-dataset", "", "dataset that address_ref values refer to (default: --dataset)")
		srs          = fs.String("srs", "wgs84", "coordinate system of the file: wgs84 or gcj02 (converted to WGS-84)")
		tz           = fs.String("tz", "", "time zone of times without an offset, e.g. Asia/Shanghai (default UTC; open311: America/Los_Angeles)")
		rejects      = fs.String("rejects", "", "reject file (default: <file>.rejects.csv)")
		allowRejects = fs.Bool("allow-rejects", false, "exit 0 even when rows were rejected")
		areas        = fs.String("areas", "", "events, open311: GeoJSON of polygons loaded (before the events) as the city --area-code, street units (--area-group), communities and a grid each")
		areaCode     = fs.String("area-code", "", "events, open311, osm: code of the city's areas (prefix of every unit's code); without --areas, derive a study area from the points or an extract's buildings (their convex hull)")
		areaName     = fs.String("area-name", "", "events, open311, osm: name of the city (default: --area-code)")
		areaGroup    = fs.String("area-group", "", "--areas: property that groups polygons into street-level units (default: one per polygon; open311 sf: nhood)")
		areaID       = fs.String("area-id", "", "--areas: comma list of properties naming a polygon, first present wins (default: its feature number; open311 sf: tractce10,geoid)")
		createCats   = fs.Bool("create-categories", false, "events: the category column (and category1, category2 where mapped, level 1 first) holds names: create the categories they name")
		catPrefix    = fs.String("category-prefix", "", "events --create-categories, open311: code prefix of created categories (default: from --dataset; open311 sf: SF)")
		preset       = fs.String("preset", "sf", "open311: sf (San Francisco's 311 layout, time zone and areas) or none")
		timeFormat   = fs.String("time-format", "", `Go reference layout of the file's times, tried first, e.g. "1/2/2006 15:04" (default: RFC 3339 and common layouts)`)
		hashKey      = fs.String("hash-key", os.Getenv("ONEGRID_HASH_KEY"), "HMAC key for personal data hashes (ONEGRID_HASH_KEY)")
		bulk         = fs.String("bulk", "auto", "drop and rebuild the target table's secondary indexes around the insert: auto (large loads into small tables), on, off")
		progress     = fs.Bool("progress", isTerminal(m.Stderr) && os.Getenv("CI") != "true", "show progress on stderr (default: when stderr is a terminal, never under CI=true)")
	)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ingestUsage)
		fs.PrintDefaults()
	}
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 2 {
		return usageError{msg: fmt.Sprintf("ingest: unexpected argument %q", fs.Arg(2))}
	}
	if fs.NArg() != 2 {
		return usageError{msg: "ingest needs <kind> <file> (onegrid ingest -h)"}
	}
	kind, path := fs.Arg(0), fs.Arg(1)
	mapping := ingest.Mapping{}
	if *mappingFile != "" {
		f, err := os.Open(*mappingFile)
		if err != nil {
			return fmt.Errorf("mapping: %w", err)
		}
		mf, err := ingest.ReadMapping(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *mappingFile, err)
		}
		mapping = mapping.Merge(mf)
	}
	if *mapFlag != "" {
		mf, err := ingest.ParseMapping(*mapFlag)
		if err != nil {
			return usageError{msg: "--map: " + err.Error()}
		}
		mapping = mapping.Merge(mf)
	}
	var loc *time.Location
	if *tz != "" {
		l, err := time.LoadLocation(*tz)
		if err != nil {
			return usageError{msg: fmt.Sprintf("--tz %q: %v", *tz, err)}
		}
		loc = l
	}
	o := ingest.Options{
		Kind: kind, Path: path, Format: *format, Mapping: mapping, Dataset: *dataset, AddressDataset: *addrDataset,
		SRS: *srs, TimeZone: loc, HashKey: []byte(*hashKey), RejectsPath: *rejects, Log: m.Log, Bulk: *bulk,
		TimeFormat: *timeFormat, CreateCategories: *createCats, CategoryPrefix: *catPrefix,
		Areas: ingest.AreaOptions{Path: *areas, Code: *areaCode, Name: *areaName, Group: *areaGroup},
	}
	if *areaID != "" {
		for _, p := range strings.Split(*areaID, ",") {
			if p = strings.TrimSpace(p); p != "" {
				o.Areas.ID = append(o.Areas.ID, p)
			}
		}
	}
	p311, ok := ingest.Presets311[*preset]
	if !ok {
		return usageError{msg: fmt.Sprintf("--preset %q: want sf or none", *preset)}
	}
	if *progress {
		o.Progress = progressPrinter(m.Stderr)
	}
	if kind == "households" {
		key, err := m.dataKey()
		if err != nil {
			return err
		}
		o.DataKey = key
	}
	if os.Getenv("GOGC") == "" {
		// A load's live heap is a few batches of rows: let it grow before
		// collecting, which saves a fifth of the CPU and stays far below 1 GB.
		debug.SetGCPercent(400)
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	var s ingest.Summary
	switch kind {
	case "osm":
		s, err = ingest.LoadOSM(ctx, db, o)
	case "open311":
		o.Kind = ""
		s, err = ingest.Load311(ctx, db, o, p311)
	default:
		s, err = ingest.Load(ctx, db, o)
	}
	if o.Progress != nil {
		fmt.Fprint(m.Stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	var detail string
	switch {
	case kind == "events" || kind == "open311":
		detail = fmt.Sprintf(" (%d outside every grid, stored unassigned)", s.Unassigned)
	case kind == "categories":
		detail = fmt.Sprintf(" (created %d, updated %d)", s.Detail["created"], s.Detail["updated"])
	}
	fmt.Fprintf(m.Stdout, "%s %s: read %d, loaded %d%s, unchanged %d, rejected %d in %s (%.0f rows/s), run %d\n",
		kind, path, s.Read, s.Loaded, detail, s.Unchanged, s.Rejected, s.Elapsed.Round(time.Millisecond), float64(s.Read)/s.Elapsed.Seconds(), s.RunID)
	if s.Rejected > 0 {
		fmt.Fprintf(m.Stdout, "rejects: %s (and table load_reject, run_id %d)\n", s.RejectsPath, s.RunID)
		if !*allowRejects {
			return exitError(3)
		}
	}
	return nil
}

// progressPrinter redraws one status line: rows, rows/s and, when the file
// size is known, percent and ETA.
func progressPrinter(w io.Writer) func(ingest.Progress) {
	return func(p ingest.Progress) {
		var b strings.Builder
		fmt.Fprintf(&b, "\r\033[K%s: %d rows, %.0f rows/s", p.Phase, p.Rows, p.RowsPerSecond())
		if p.Size > 0 && p.Phase == "reading" {
			fmt.Fprintf(&b, ", %.0f%%", 100*float64(p.Bytes)/float64(p.Size))
			if eta := p.ETA(); eta > 0 {
				fmt.Fprintf(&b, ", ETA %s", eta.Round(time.Second))
			}
		}
		io.WriteString(w, b.String())
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
