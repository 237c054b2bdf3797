package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/seal"
)

// step logs how long a step of a load took.
func step(log *slog.Logger, name string, start time.Time) {
	if log != nil {
		log.Debug("ingest step", "step", name, "took", time.Since(start).Round(time.Microsecond))
	}
}

// DB is what a load needs: a *pgxpool.Pool or a *pgx.Conn.
type DB interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options configure one load.
type Options struct {
	Kind    string  // addresses, buildings, households, admin, grids, events
	Path    string  // the file
	Format  string  // "csv" or "geojson"; "" = from the file name
	Mapping Mapping // loader field → file column
	// Dataset names where the rows come from (default: the file's base name
	// without extension); (dataset, id) makes re-loading idempotent.
	Dataset string
	// AddressDataset is the dataset address_ref values refer to (default Dataset).
	AddressDataset string
	SRS            string         // "wgs84" (default) or "gcj02"
	TimeZone       *time.Location // for times without an offset (default UTC)
	HashKey        []byte         // HMAC key for personal data; without it only masks are stored
	DataKey        *seal.Key      // seals clear personal values (household_personal); nil keeps none
	RejectsPath    string         // default <Path>.rejects.csv
	Workers        int            // conversion goroutines (default GOMAXPROCS)
	Progress       func(Progress) // called a few times a second, and per phase
	Log            *slog.Logger   // debug timings of each step; nil = none
	// Bulk is "auto" (default), "on" or "off": whether to drop and rebuild the
	// target table's secondary indexes around the insert (see BulkMinRows).
	Bulk string
	// TimeFormat is a Go reference layout ("1/2/2006 15:04") tried before the
	// built-in ones, for exports whose times are in a local notation.
	TimeFormat string

	// Events (and open311):
	// CreateCategories: the category columns (category; category1 and
	// category2 where the file has them, level 1 first) hold names, and the
	// categories they name are created (see createCategorySQL).
	CreateCategories bool
	// CategoryPrefix is the code prefix of created categories (default: from
	// the dataset name, DefaultCategoryPrefix).
	CategoryPrefix string
	// Areas are the areas the events come with, or the code of an area to
	// derive from them (see AreaOptions).
	Areas AreaOptions
}

// Summary is what a load did.
type Summary struct {
	RunID       int64
	Read        int64 // rows (features, elements) read
	Loaded      int64 // rows inserted
	Unassigned  int64 // events: of Loaded, those outside every grid current at their time (stored with no grid)
	Unchanged   int64 // rows already present from an earlier load of the dataset
	Rejected    int64
	RejectsPath string           // "" when nothing was rejected
	Detail      map[string]int64 // per-table counts where a load fills several
	Elapsed     time.Duration
}

// DefaultDataset is the dataset name of a file: its base name without extension.
func DefaultDataset(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func (o *Options) defaults() error {
	if err := o.common(); err != nil {
		return err
	}
	if o.Format == "" {
		switch strings.ToLower(filepath.Ext(o.Path)) {
		case ".csv", ".tsv", ".txt":
			o.Format = "csv"
		case ".geojson", ".json":
			o.Format = "geojson"
		default:
			return fmt.Errorf("%s: cannot tell the format from the name: give csv or geojson", o.Path)
		}
	}
	return nil
}

// common sets the defaults every loader shares.
func (o *Options) common() error {
	if o.Dataset == "" {
		o.Dataset = DefaultDataset(o.Path)
	}
	if o.AddressDataset == "" {
		o.AddressDataset = o.Dataset
	}
	if o.RejectsPath == "" {
		o.RejectsPath = o.Path + ".rejects.csv"
	}
	if o.TimeZone == nil {
		o.TimeZone = time.UTC
	}
	switch strings.ToLower(o.SRS) {
	case "", "wgs84", "epsg:4326", "4326", "cgcs2000", "epsg:4490":
		o.SRS = "wgs84"
	case "gcj02", "gcj-02":
		o.SRS = "gcj02"
	default:
		return fmt.Errorf("srs %q: want wgs84 or gcj02", o.SRS)
	}
	return nil
}

// openReader opens the file and its reader; has reports CSV columns (nil for GeoJSON).
func openReader(path, format string) (*os.File, *countingReader, reader, func(string) bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cr := &countingReader{r: f}
	switch format {
	case "csv":
		rd, err := newCSVReader(cr)
		if err != nil {
			f.Close()
			return nil, nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return f, cr, rd, rd.hasColumn, nil
	case "geojson":
		rd, err := newGeoJSONReader(cr)
		if err != nil {
			f.Close()
			return nil, nil, nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return f, cr, rd, nil, nil
	}
	f.Close()
	return nil, nil, nil, nil, fmt.Errorf("format %q: want csv or geojson", format)
}

// Load loads one file of a mapped kind in one transaction.
func Load(ctx context.Context, db DB, o Options) (Summary, error) {
	k, ok := kinds[o.Kind]
	if !ok {
		return Summary{}, fmt.Errorf("load: unknown kind %q: want %s", o.Kind, strings.Join(Kinds, ", "))
	}
	if err := o.defaults(); err != nil {
		return Summary{}, fmt.Errorf("load %s: %w", o.Kind, err)
	}
	var before func(ctx context.Context, tx pgx.Tx) error
	if o.Kind == "events" {
		var tax *taxonomy
		if o.CreateCategories {
			t, err := newTaxonomy(cmp.Or(o.CategoryPrefix, DefaultCategoryPrefix(o.Dataset)))
			if err != nil {
				return Summary{}, fmt.Errorf("load events: %w", err)
			}
			tax = &t
		}
		var err error
		if before, err = eventsBefore(o, tax, eventCategoryLevels); err != nil {
			return Summary{}, fmt.Errorf("load events: %w", err)
		}
	} else if o.CreateCategories || o.Areas.Code != "" || o.Areas.Path != "" {
		return Summary{}, fmt.Errorf("load %s: creating categories and areas is for events and open311", o.Kind)
	}
	s, err := loadKind(ctx, db, o, k, o.Mapping, before)
	if err != nil {
		return s, fmt.Errorf("load %s %s: %w", o.Kind, o.Path, err)
	}
	return s, nil
}

// eventsBefore returns what an events load does between staging its rows and
// checking them: create the categories they name (tax non-nil; levels says
// which staged columns hold them) and the areas they come with.
func eventsBefore(o Options, tax *taxonomy, levels func(context.Context, pgx.Tx) ([]string, error)) (func(context.Context, pgx.Tx) error, error) {
	if err := o.Areas.check(); err != nil {
		return nil, err
	}
	areaRows, err := readAreas(o.Areas)
	if err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	return func(ctx context.Context, tx pgx.Tx) error {
		if tax != nil {
			cols, err := levels(ctx, tx)
			if err != nil {
				return err
			}
			if err := createCategories(ctx, tx, *tax, cols); err != nil {
				return err
			}
		}
		return loadAreas(ctx, tx, o.Areas, areaRows)
	}, nil
}

// loadKind runs one load of kind k with mapping m; before, if not nil, runs
// after the rows are staged (see stageJob). o has its defaults.
func loadKind(ctx context.Context, db DB, o Options, k *kindSpec, m Mapping, before func(context.Context, pgx.Tx) error) (Summary, error) {
	f, cr, rd, has, err := openReader(o.Path, o.Format)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	conv, err := newConverter(k, m, &convCtx{loc: o.TimeZone, hashKey: o.HashKey, layout: o.TimeFormat, dataKey: o.DataKey}, rd.unit(), o.SRS == "gcj02", has)
	if err != nil {
		return Summary{}, err
	}
	reread := func(want map[int64]bool) (map[int64]string, error) {
		f, _, rd, _, err := openReader(o.Path, o.Format)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return rawLines(rd, want)
	}
	table := targetTables[o.Kind]
	if k == open311Kind {
		table = "event"
	}
	st := stageJob{
		kind: k.name, file: o.Path, dataset: o.Dataset, unit: rd.unit(), rejectsPath: o.RejectsPath,
		cols: k.cols, sql: k.sql, reread: reread, log: o.Log, table: table, bulk: o.Bulk, before: before,
		args: pgx.NamedArgs{"dataset": o.Dataset, "address_dataset": o.AddressDataset, "unit": rd.unit(), "id_field": idFieldName(k), "grid_dataset": o.Dataset,
			"key_id": keyID(o.DataKey)},
		fill: func(ctx context.Context, tx pgx.Tx, t *tracker) (int64, error) {
			p := startPipeline(ctx, rd, conv.convertInto, len(k.cols), o.Workers, &t.rows)
			defer p.stop()
			return copyRows(ctx, tx, stageTable, k.cols, p)
		},
	}
	t := newTracker(o.Progress, cr, size)
	return st.run(ctx, db, t)
}

// interrupted makes a load that its context ended say so in a way errors.Is
// matches. pgx reports a COPY cut short by cancellation as the server's answer
// to its CopyFail (SQLSTATE 57014, "COPY from stdin failed: context
// canceled"), which does not wrap context.Canceled; callers telling an
// interrupted load from a failed one need the match.
func interrupted(ctx context.Context, err error) error {
	if cause := ctx.Err(); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

func idFieldName(k *kindSpec) string {
	switch k.name {
	case "admin":
		return "code"
	case "grids":
		return "code@version"
	case "categories":
		return "code"
	}
	return "id"
}

// rawLines returns the raw text of the wanted rows of a file.
func rawLines(rd reader, want map[int64]bool) (map[int64]string, error) {
	out := make(map[int64]string, len(want))
	for len(out) < len(want) {
		rec, err := rd.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return out, err
		}
		if want[rec.pos()] {
			out[rec.pos()] = rec.rawText()
		}
	}
	return out, nil
}

// stageJob is the transaction every load runs: record the run, fill the staging
// table, mark rejects set-based, insert the rest, save rejects, commit.
type stageJob struct {
	kind, file, dataset, unit, rejectsPath string
	cols                                   []stageCol
	sql                                    kindSQL
	args                                   pgx.NamedArgs
	fill                                   func(ctx context.Context, tx pgx.Tx, t *tracker) (int64, error)
	reread                                 func(want map[int64]bool) (map[int64]string, error)
	// before runs after the staging table is filled and before the checks
	// (e.g. to create categories or areas the rows refer to).
	before func(ctx context.Context, tx pgx.Tx) error
	log    *slog.Logger
	table  string // target table, for bulk mode
	bulk   string
}

func (j *stageJob) run(ctx context.Context, db DB, t *tracker) (s Summary, err error) {
	start := time.Now()
	defer t.finish()
	tx, err := db.Begin(ctx)
	if err != nil {
		return s, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			err = interrupted(ctx, err)
		}
	}()
	// Hash aggregates and joins over a million staged rows want memory.
	if _, err = tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
		return s, fmt.Errorf("set work_mem: %w", err)
	}
	if err = checkClient(ctx, tx); err != nil {
		return s, err
	}
	if s.RunID, err = startRun(ctx, tx, j.kind, j.file, j.dataset); err != nil {
		return s, err
	}
	if err = createStage(ctx, tx, stageTable, j.cols); err != nil {
		return s, err
	}
	t0 := time.Now()
	if s.Read, err = j.fill(ctx, tx, t); err != nil {
		return s, err
	}
	step(j.log, "copy", t0)
	t.setPhase("checking")
	if _, err = tx.Exec(ctx, `ANALYZE `+stageTable); err != nil {
		return s, fmt.Errorf("analyze staging table: %w", err)
	}
	if j.before != nil {
		t0 = time.Now()
		if err = j.before(ctx, tx); err != nil {
			return s, err
		}
		step(j.log, "before", t0)
	}
	checks := j.sql.checks
	var hasGrids bool
	if err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grid)`).Scan(&hasGrids); err != nil {
		return s, fmt.Errorf("look for grids: %w", err)
	}
	if hasGrids {
		checks = append(append([]string{}, checks...), j.sql.gridChecks...)
	}
	for i, q := range checks {
		t0 = time.Now()
		if _, err = tx.Exec(ctx, q, j.args); err != nil {
			return s, fmt.Errorf("check %d: %w", i+1, err)
		}
		step(j.log, fmt.Sprintf("check %d", i+1), t0)
	}
	t.setPhase("linking")
	insert := j.sql.insert
	var hasAreas bool
	if err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grid) OR EXISTS (SELECT 1 FROM admin_area)`).Scan(&hasAreas); err != nil {
		return s, fmt.Errorf("look for areas: %w", err)
	}
	if !hasAreas {
		insert = withoutLinks(insert)
	}
	var dropped []indexDef
	var rollup *eventRollup
	if j.table != "" {
		bulk, err := useBulk(ctx, tx, j.bulk, j.table, s.Read)
		if err != nil {
			return s, err
		}
		if bulk {
			t0 = time.Now()
			bare, keys := withoutConflict(insert)
			if keys {
				if err = markPresent(ctx, tx, j.table, j.args); err != nil {
					return s, err
				}
			}
			if dropped, err = dropForBulk(ctx, tx, j.table, keys); err != nil {
				return s, err
			}
			insert = bare
			if j.table == "event" {
				ok, err := bulkRollupOK(ctx, tx)
				if err != nil {
					return s, err
				}
				if ok {
					if rollup, err = beginEventRollup(ctx, tx, j.log); err != nil {
						return s, err
					}
				}
			}
			step(j.log, "bulk prepare", t0)
		}
	}
	t0 = time.Now()
	if j.sql.unassigned {
		// The insert counts what it stored and how much of it has no grid.
		err = tx.QueryRow(ctx, `WITH ins AS (`+insert+` RETURNING grid_code IS NULL AS unassigned)
SELECT count(*), count(*) FILTER (WHERE unassigned) FROM ins`, j.args).Scan(&s.Loaded, &s.Unassigned)
	} else if j.sql.counts != "" {
		var n int64
		if err = tx.QueryRow(ctx, insert, j.args).Scan(&s.Loaded, &n); err == nil {
			s.Detail = map[string]int64{j.sql.counts: n, "created": s.Loaded - n}
		}
	} else {
		var tag pgconn.CommandTag
		tag, err = tx.Exec(ctx, insert, j.args)
		s.Loaded = tag.RowsAffected()
	}
	if err != nil {
		return s, fmt.Errorf("insert: %w", err)
	}
	step(j.log, "insert", t0)
	if err = createIndexes(ctx, tx, dropped, j.log); err != nil {
		return s, err
	}
	if rollup != nil {
		if err = rollup.finish(ctx, tx, s.Loaded); err != nil {
			return s, err
		}
	}
	if dropped != nil && s.Loaded > 0 {
		// A bulk load adds many rows against what the table held: without fresh
		// statistics the queries right after it (tiles, hotspots, the next
		// load's checks) would be planned for the table as it was, empty
		// perhaps. ANALYZE samples the rows this transaction inserted too.
		t0 = time.Now()
		if _, err = tx.Exec(ctx, `ANALYZE `+pgx.Identifier{j.table}.Sanitize()); err != nil {
			return s, fmt.Errorf("analyze %s: %w", j.table, err)
		}
		step(j.log, "analyze", t0)
	}
	for i, q := range j.sql.afterInsert {
		if _, err = tx.Exec(ctx, q, j.args); err != nil {
			return s, fmt.Errorf("after insert %d: %w", i+1, err)
		}
	}
	t.setPhase("rejects")
	t0 = time.Now()
	defer step(j.log, "rejects", t0)
	if err = fillRaw(ctx, tx, stageTable, j.reread); err != nil {
		return s, err
	}
	if s.Rejected, err = saveRejects(ctx, tx, s.RunID, stageTable); err != nil {
		return s, err
	}
	s.Unchanged = s.Read - s.Rejected - s.Loaded
	if err = finishRun(ctx, tx, &s); err != nil {
		return s, err
	}
	if s.Rejected > 0 {
		if err = writeRejectFile(ctx, tx, s.RunID, j.rejectsPath, j.unit); err != nil {
			return s, err
		}
		s.RejectsPath = j.rejectsPath
	}
	if err = tx.Commit(ctx); err != nil {
		return s, fmt.Errorf("commit: %w", err)
	}
	s.Elapsed = time.Since(start)
	return s, nil
}

// checkClient makes the load's backend notice within a second that its client
// has gone (a loader killed mid-insert) and stop, releasing its locks, where
// the server does not already check (client_connection_check_interval is 0 by
// default; the embedded cluster sets 1s). On a platform without the check the
// setting is refused; the load goes on without it.
func checkClient(ctx context.Context, tx pgx.Tx) error {
	var v string
	if err := tx.QueryRow(ctx, `SELECT current_setting('client_connection_check_interval')`).Scan(&v); err != nil {
		return fmt.Errorf("read client_connection_check_interval: %w", err)
	}
	if v != "0" {
		return nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if _, err := sp.Exec(ctx, `SET LOCAL client_connection_check_interval = '1s'`); err != nil {
		return sp.Rollback(ctx)
	}
	return sp.Commit(ctx)
}
