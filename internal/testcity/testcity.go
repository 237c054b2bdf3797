// Package testcity loads a tiny hand-made city for the tile tests: one district
// in Futian, Shenzhen, two streets, two communities, a grid with two micro-grids
// (and a retired version), a few buildings and addresses, households with masked
// personal data, and events. Coordinates are WGS-84; H3 cells are computed here.
package testcity

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/geo"
)

// Points of interest, lon/lat.
var (
	// Centre is inside community 440304001001, grid G01, micro-grid M01.
	Centre = [2]float64{114.0125, 22.5400}
	// Five is a building with 5 households; Four one with 4, in other res-11 cells.
	Five = [2]float64{114.0100, 22.5410}
	Four = [2]float64{114.0150, 22.5390}
	// Now is what the events' reported_at values count back from: the time the
	// test binary started, so age_days (relative to the database's now()) is the
	// same every day and goldens stay put.
	Now = time.Now().UTC().Truncate(time.Second)
)

// Masked personal values stored on households; they must never reach a tile.
const (
	MaskedPhone = "138****5678"
	MaskedName  = "张*"
	MaskedIDNo  = "440304********1234"
)

func box(x0, y0, x1, y1 float64) string {
	return fmt.Sprintf("SRID=4326;MULTIPOLYGON(((%[1]g %[2]g,%[3]g %[2]g,%[3]g %[4]g,%[1]g %[4]g,%[1]g %[2]g)))", x0, y0, x1, y1)
}

func pt(p [2]float64) string { return fmt.Sprintf("SRID=4326;POINT(%g %g)", p[0], p[1]) }

func cell(p [2]float64) int64 {
	c, err := geo.CellAt(p[0], p[1], geo.StorageRes)
	if err != nil {
		panic(err)
	}
	return c
}

// Load inserts the city into an empty, migrated database.
func Load(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	ex := func(sql string, args ...any) {
		if err != nil {
			return
		}
		if _, e := tx.Exec(ctx, sql, args...); e != nil {
			err = fmt.Errorf("testcity: %s: %w", sql, e)
		}
	}
	const admin = "INSERT INTO admin_area (code, level, name, parent_code, geom) VALUES ($1, $2, $3, $4, $5)"
	ex(admin, "440304", "district", "福田区", nil, box(114.00, 22.52, 114.06, 22.56))
	ex(admin, "440304001", "street", "园岭街道", "440304", box(114.00, 22.52, 114.03, 22.56))
	ex(admin, "440304002", "street", "南园街道", "440304", box(114.03, 22.52, 114.06, 22.56))
	ex(admin, "440304001001", "community", "百花社区", "440304001", box(114.00, 22.52, 114.03, 22.54))
	ex(admin, "440304001002", "community", "红荔社区", "440304001", box(114.00, 22.54, 114.03, 22.56))

	const grid = `INSERT INTO grid (code, version, level, name, parent_code, admin_code, geom, valid_from, valid_to)
		VALUES ($1, $2, $3, $4, $5, $6, $7, '2024-01-01', $8)`
	ex(grid, "440304001002G01", 1, "grid", "红荔一网格(旧)", "440304001002", "440304001002", box(114.00, 22.54, 114.02, 22.55), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	ex(`INSERT INTO grid (code, version, level, name, parent_code, admin_code, geom, valid_from)
		VALUES ('440304001002G01', 2, 'grid', '红荔一网格', '440304001002', '440304001002', $1, '2025-01-01')`, box(114.00, 22.535, 114.02, 22.545))
	ex(`INSERT INTO grid (code, level, name, parent_code, admin_code, geom)
		VALUES ('440304001002G01M01', 'micro_grid', '红荔一网格一微格', '440304001002G01', '440304001002', $1)`, box(114.00, 22.535, 114.0125, 22.545))
	ex(`INSERT INTO grid (code, level, name, parent_code, admin_code, geom)
		VALUES ('440304001002G01M02', 'micro_grid', '红荔一网格二微格', '440304001002G01', '440304001002', $1)`, box(114.0125, 22.535, 114.02, 22.545))

	type bld struct {
		id   int
		p    [2]float64
		grid string
		hh   int
	}
	blds := []bld{{1, Five, "440304001002G01M01", 5}, {2, Four, "440304001002G01M02", 4}, {3, Centre, "440304001002G01M02", 0}}
	for _, b := range blds {
		ex(`INSERT INTO address (id, level, full_text, code, admin_code, grid_code, geom, h3)
			VALUES ($1, 'building', $2, $3, '440304001002', $4, $5, $6)`,
			b.id, fmt.Sprintf("福田区红荔路%d号", b.id), fmt.Sprintf("440304001002R01B%02d", b.id), b.grid, pt(b.p), cell(b.p))
		const d = 0.0002
		ex(`INSERT INTO building (id, address_id, name, floors, use, geom, h3, admin_code, grid_code)
			VALUES ($1, $1, $2, 6, 'residential', $3, $4, '440304001002', $5)`,
			b.id, fmt.Sprintf("%d栋", b.id), box(b.p[0]-d, b.p[1]-d, b.p[0]+d, b.p[1]+d), cell(b.p), b.grid)
		for i := range b.hh {
			room := 100*b.id + i + 1
			ex(`INSERT INTO address (id, parent_id, level, full_text, admin_code, grid_code, geom, h3)
				VALUES ($1, $2, 'room', $3, '440304001002', $4, $5, $6)`,
				room, b.id, fmt.Sprintf("福田区红荔路%d号%d室", b.id, room), b.grid, pt(b.p), cell(b.p))
			tags := []string{}
			if i < 3 {
				tags = []string{"留守老人"}
			}
			if i == 0 {
				tags = append(tags, "残疾人")
			}
			ex(`INSERT INTO household (address_id, members, tags, head_name_masked, phone_masked, id_no_masked, h3, admin_code, grid_code)
				VALUES ($1, $2, $3, $4, $5, $6, $7, '440304001002', $8)`,
				room, 1+i%4, tags, MaskedName, MaskedPhone, MaskedIDNo, cell(b.p), b.grid)
		}
	}
	ex(`INSERT INTO event_category (code, level, parent_code, name, name_en) VALUES
		('01', 1, NULL, '市容环境', 'city appearance'), ('0101', 2, '01', '垃圾', 'rubbish'),
		('010101', 3, '0101', '暴露垃圾', 'exposed rubbish'), ('02', 1, NULL, '治安', 'public order'),
		('0201', 2, '02', '噪音', 'noise'), ('020101', 3, '0201', '夜间施工噪音', 'night construction noise')`)
	type ev struct {
		cat, severity, status string
		p                     [2]float64
		daysAgo               int
	}
	evs := []ev{
		{"010101", "general", "reported", Centre, 1},
		{"010101", "important", "handling", Five, 3},
		{"020101", "urgent", "closed", Four, 10},
		{"020101", "general", "dispatched", [2]float64{114.0400, 22.5300}, 40},
		{"010101", "general", "resolved", [2]float64{114.0130, 22.5405}, 5},
	}
	for i, e := range evs {
		at := Now.AddDate(0, 0, -e.daysAgo)
		var closed any
		if e.status == "closed" || e.status == "resolved" {
			closed = at.Add(24 * time.Hour)
		}
		ex(`INSERT INTO event (id, category_code, severity, source, status, title, reported_at, closed_at, deadline, geom, h3, admin_code, grid_code)
			VALUES ($1, $2, $3, 'patrol', $4, $5, $6, $7, $8, $9, $10, '440304001002', '440304001002G01M01')`,
			i+1, e.cat, e.severity, e.status, fmt.Sprintf("事件%d", i+1), at, closed, at.Add(72*time.Hour), pt(e.p), cell(e.p))
	}
	ex(`SELECT setval(pg_get_serial_sequence('event', 'id'), 100)`)
	if err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// AddEvent inserts one more open event at p, reported at Now, and returns its id.
func AddEvent(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, p [2]float64) (int64, error) {
	return AddEventAt(ctx, db, p, Now, "reported")
}

// AddEventAt inserts one more event at p, reported at at with status status, and
// returns its id.
func AddEventAt(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, p [2]float64, at time.Time, status string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `INSERT INTO event (category_code, severity, source, status, reported_at, geom, h3, grid_code)
		VALUES ('010101', 'urgent', 'app', $4, $1, $2, $3, '440304001002G01M01') RETURNING id`,
		at, pt(p), cell(p), status).Scan(&id)
	return id, err
}
