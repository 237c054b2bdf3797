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
  osm         OpenStreetMap XML (.osm) or PBF (.osm.pbf): buildings and addresses
  open311     an Open311/SF 311 case export (CSV) with --areas <tracts.geojson>

flags:
`

// runIngest loads one file and prints read / loaded / rejected; it exits 3 when
// rows were rejected, unless --allow-rejects.
func runIngest(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
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
		areas        = fs.String("areas", "", "open311: GeoJSON of tracts with an nhood property, loaded as neighbourhoods, tracts and grids")
		hashKey      = fs.String("hash-key", os.Getenv("ONEGRID_HASH_KEY"), "HMAC key for personal data hashes (ONEGRID_HASH_KEY)")
		bulk         = fs.String("bulk", "auto", "drop and rebuild the target table's secondary indexes around the insert: auto (large loads into small tables), on, off")
		progress     = fs.Bool("progress", isTerminal(m.Stderr) && os.Getenv("CI") != "true", "show progress on stderr (default: when stderr is a terminal, never under CI=true)")
	)
	fs.Usage = func() {
		fmt.Fprint(m.Stderr, ingestUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError{}
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return usageError{msg: "ingest needs <kind> <file>"}
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
		s, err = ingest.LoadOpen311(ctx, db, o, *areas)
	default:
		s, err = ingest.Load(ctx, db, o)
	}
	if o.Progress != nil {
		fmt.Fprint(m.Stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s %s: read %d, loaded %d, unchanged %d, rejected %d in %s (%.0f rows/s), run %d\n",
		kind, path, s.Read, s.Loaded, s.Unchanged, s.Rejected, s.Elapsed.Round(time.Millisecond), float64(s.Read)/s.Elapsed.Seconds(), s.RunID)
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
