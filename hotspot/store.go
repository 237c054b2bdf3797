package hotspot

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uber/h3-go/v4"
)

// ErrNoRun is returned when no stored run matches.
var ErrNoRun = errors.New("no stored hotspot run")

// Alert is a cell that became a new or intensifying 99 % hot spot.
type Alert struct {
	ID           int64     `json:"id"`
	RunID        *int64    `json:"run_id"`
	Cell         int64     `json:"-"`
	CellHex      string    `json:"cell"`
	Res          int       `json:"res"`
	Area         string    `json:"area"`
	Category     string    `json:"category"`
	Kind         string    `json:"kind"` // "new" or "intensifying"
	Z            float64   `json:"z"`
	PrevZ        *float64  `json:"prev_z"`
	Count        int       `json:"count"`
	CreatedAt    time.Time `json:"created_at"`
	Acknowledged bool      `json:"acknowledged"`
}

const insertRun = `INSERT INTO hotspot_run (param_key, params, area, category, res, k, by, smooth, from_at, to_at,
    computed_at, n_cells, n_events, n_dropped, status, note, standard)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
RETURNING id`

// previousRun is the latest earlier run of the same parameter set.
const previousRun = `SELECT id FROM hotspot_run WHERE param_key = $1 AND id <> $2
ORDER BY computed_at DESC, id DESC LIMIT 1`

// insertAlerts applies the alert rule (see the package comment) to run $1
// against the previous run $2.
const insertAlerts = `INSERT INTO hotspot_alert (run_id, prev_run_id, cell, area, category, res, kind, z, prev_z, count, created_at)
SELECT $1, $2, c.cell, $3, $4, $5,
       CASE WHEN p.bin_fdr IS DISTINCT FROM 3 THEN 'new' ELSE 'intensifying' END,
       c.z, p.z, c.count, $7
FROM hotspot_cell c
LEFT JOIN hotspot_cell p ON p.run_id = $2 AND p.cell = c.cell
WHERE c.run_id = $1 AND c.bin_fdr = 3
  AND (p.bin_fdr IS DISTINCT FROM 3 OR c.z - p.z >= $6)
ORDER BY c.cell
RETURNING id, run_id, cell, res, area, category, kind, z, prev_z, count, created_at, acknowledged`

// pruneRuns keeps the latest $2 runs of parameter set $1.
const pruneRuns = `DELETE FROM hotspot_run WHERE param_key = $1 AND id NOT IN (
    SELECT id FROM hotspot_run WHERE param_key = $1 ORDER BY computed_at DESC, id DESC LIMIT $2)`

// insertCells writes a run's cells from arrays in one statement. Not COPY:
// PostgreSQL refuses COPY FROM into a table with row-level security to any
// role but its owner, and serve stores runs as the application role.
const insertCells = `INSERT INTO hotspot_cell (run_id, cell, count, value, z, p, bin, bin_fdr, geom)
SELECT $1, c.cell, c.count, c.value, c.z, c.p, c.bin, c.bin_fdr, ST_GeomFromEWKB(c.geom)
FROM unnest($2::bigint[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::int2[], $8::int2[], $9::bytea[])
    AS c(cell, count, value, z, p, bin, bin_fdr, geom)`

// Store writes r as a run (its cells in one INSERT), raises alerts against the previous
// run of the same parameters, and prunes old runs, in one transaction. It sets
// r.RunID and returns the new alerts. standard marks a run of the standard set
// (what Latest serves).
func (s *Service) Store(ctx context.Context, r *Result, standard bool) ([]Alert, error) {
	p := r.Params
	params, err := json.Marshal(map[string]any{
		"area": p.Area, "category": p.Category, "res": p.Res, "k": p.K, "by": p.By, "smooth": p.Smooth,
		"from": p.From.UTC(), "to": p.To.UTC(), "window_hours": p.To.Sub(p.From).Hours(),
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: store: %w", err)
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("hotspot: store: %w", err)
	}
	defer tx.Rollback(ctx)
	key := p.key()
	var id int64
	err = tx.QueryRow(ctx, insertRun, key, params, p.Area, p.Category, p.Res, p.K, p.By, p.Smooth, p.From, p.To,
		r.ComputedAt, r.Summary.Cells, r.Summary.Events, r.Summary.Dropped, r.Status, r.Reason+r.Summary.Note, standard).Scan(&id)
	if err != nil {
		return nil, fmt.Errorf("hotspot: store run: %w", err)
	}
	if len(r.Cells) > 0 {
		n := len(r.Cells)
		cells, counts := make([]int64, n), make([]int32, n)
		values, zs, ps := make([]float64, n), make([]float64, n), make([]float64, n)
		bins, fdrs, geoms := make([]int16, n), make([]int16, n), make([][]byte, n)
		for i, c := range r.Cells {
			cells[i], counts[i], values[i], zs[i], ps[i] = c.Cell, int32(c.Count), c.Value, c.Z, c.P
			bins[i], fdrs[i], geoms[i] = int16(c.Bin), int16(c.BinFDR), hexagonEWKB(nil, c.Cell)
		}
		if _, err := tx.Exec(ctx, insertCells, id, cells, counts, values, zs, ps, bins, fdrs, geoms); err != nil {
			return nil, fmt.Errorf("hotspot: store cells: %w", err)
		}
	}
	var alerts []Alert
	var prev int64
	err = tx.QueryRow(ctx, previousRun, key, id).Scan(&prev)
	switch {
	case errors.Is(err, pgx.ErrNoRows): // the first run: nothing to compare with
	case err != nil:
		return nil, fmt.Errorf("hotspot: previous run: %w", err)
	case len(r.Cells) > 0:
		rows, err := tx.Query(ctx, insertAlerts, id, prev, p.Area, p.Category, p.Res, s.cfg.IntensifyDelta, r.ComputedAt)
		if err != nil {
			return nil, fmt.Errorf("hotspot: alerts: %w", err)
		}
		if alerts, err = scanAlerts(rows); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, pruneRuns, key, s.cfg.KeepRuns); err != nil {
		return nil, fmt.Errorf("hotspot: prune runs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("hotspot: store: %w", err)
	}
	r.RunID = id
	return alerts, nil
}

func scanAlerts(rows pgx.Rows) ([]Alert, error) {
	var out []Alert
	var a Alert
	_, err := pgx.ForEachRow(rows, []any{&a.ID, &a.RunID, &a.Cell, &a.Res, &a.Area, &a.Category, &a.Kind, &a.Z, &a.PrevZ, &a.Count, &a.CreatedAt, &a.Acknowledged}, func() error {
		a.CellHex = fmt.Sprintf("%x", a.Cell)
		out = append(out, a)
		a.RunID, a.PrevZ = nil, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: alerts: %w", err)
	}
	return out, nil
}

// hexagonEWKB appends the cell's boundary as an EWKB polygon with SRID 4326
// (little endian), the binary form PostGIS receives for geometry.
func hexagonEWKB(buf []byte, cell int64) []byte {
	b := h3.Cell(cell).Boundary()
	buf = append(buf, 1)                                      // little endian
	buf = binary.LittleEndian.AppendUint32(buf, 3|0x20000000) // polygon with SRID
	buf = binary.LittleEndian.AppendUint32(buf, 4326)
	buf = binary.LittleEndian.AppendUint32(buf, 1) // one ring
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(b)+1))
	for i := 0; i <= len(b); i++ {
		ll := b[i%len(b)]
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(ll.Lng))
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(ll.Lat))
	}
	return buf
}

const selectLatestRun = `SELECT id, params, area, category, res, k, by, smooth, from_at, to_at, computed_at,
    n_cells, n_events, n_dropped, status, note
FROM hotspot_run WHERE standard AND area = $1 AND category = $2
ORDER BY computed_at DESC, id DESC LIMIT 1`

const selectRunCells = `SELECT cell, count, value, z, p, bin, bin_fdr FROM hotspot_cell WHERE run_id = $1 ORDER BY cell`

// Latest returns the latest stored standard run for area ("" = whole city) and
// category ("" = all), or ErrNoRun.
func (s *Service) Latest(ctx context.Context, area, category string) (*Result, error) {
	if area != "" && !codePattern.MatchString(area) {
		return nil, paramErr("area", "not an area code")
	}
	if category != "" && !codePattern.MatchString(category) {
		return nil, paramErr("category", "not a category code")
	}
	r := &Result{}
	var params []byte
	var res, k int16
	var note string
	err := s.db.QueryRow(ctx, selectLatestRun, area, category).Scan(&r.RunID, &params, &r.Params.Area, &r.Params.Category,
		&res, &k, &r.Params.By, &r.Params.Smooth, &r.Params.From, &r.Params.To, &r.ComputedAt,
		&r.Summary.Cells, &r.Summary.Events, &r.Summary.Dropped, &r.Status, &note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("hotspot: latest run for area %q category %q: %w", area, category, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("hotspot: latest run: %w", err)
	}
	r.Params.Res, r.Params.K = int(res), int(k)
	if r.Status == StatusNothingToFind {
		r.Reason = note
	} else if note == ColdSpotNote {
		r.Summary.Note = note
	}
	rows, err := s.db.Query(ctx, selectRunCells, r.RunID)
	if err != nil {
		return nil, fmt.Errorf("hotspot: run cells: %w", err)
	}
	var c Cell
	var bin, binFDR int16
	var count int32
	_, err = pgx.ForEachRow(rows, []any{&c.Cell, &count, &c.Value, &c.Z, &c.P, &bin, &binFDR}, func() error {
		c.Count, c.Bin, c.BinFDR = int(count), int8(bin), int8(binFDR)
		r.Cells = append(r.Cells, c)
		if c.Bin > 0 {
			r.Summary.Hot.add(c.Bin)
		} else {
			r.Summary.Cold.add(c.Bin)
		}
		if c.BinFDR > 0 {
			r.Summary.HotFDR.add(c.BinFDR)
		} else {
			r.Summary.ColdFDR.add(c.BinFDR)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hotspot: run cells: %w", err)
	}
	r.Summary.ColdSpotsReachable = r.Status == StatusOK && r.Summary.Note == ""
	r.Area = Area{Code: area}
	return r, nil
}

const selectAlerts = `SELECT id, run_id, cell, res, area, category, kind, z, prev_z, count, created_at, acknowledged
FROM hotspot_alert
WHERE created_at >= $1 AND inside(area, $2)
ORDER BY created_at DESC, id DESC LIMIT $3`

// Alerts lists alerts created at or after since, newest first, for areas
// starting with areaPrefix ("" = all), at most limit.
func (s *Service) Alerts(ctx context.Context, since time.Time, areaPrefix string, limit int) ([]Alert, error) {
	if areaPrefix != "" && !codePattern.MatchString(areaPrefix) {
		return nil, paramErr("area", "not an area code")
	}
	rows, err := s.db.Query(ctx, selectAlerts, since, areaPrefix, limit)
	if err != nil {
		return nil, fmt.Errorf("hotspot: list alerts: %w", err)
	}
	return scanAlerts(rows)
}
