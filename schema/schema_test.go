package schema_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uber/h3-go/v4"

	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/schema"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestMigrateTwiceAppliesNothing(t *testing.T) {
	db := pgtest.New(t) // already migrated once from the template
	ctx := context.Background()
	applied, err := schema.Migrate(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second Migrate applied %v, want nothing", applied)
	}
	ms, _ := schema.Migrations()
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM schema_migration").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) {
		t.Fatalf("schema_migration has %d rows, want %d", n, len(ms))
	}
}

func TestMigrationErrorNamesFileAndLine(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	bad := schema.Migration{Name: "9999_bad.sql", SQL: "CREATE TABLE ok_one (a int);\nCREATE TABLE broken (a nosuchtype);\n"}
	err = schema.ApplyForTest(ctx, db, bad)
	var me *schema.MigrationError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a *MigrationError", err)
	}
	if me.File != "9999_bad.sql" || me.Line != 2 {
		t.Fatalf("error names %s line %d, want 9999_bad.sql line 2 (%v)", me.File, me.Line, err)
	}
	// The failed file rolled back whole: its first statement left nothing behind.
	var exists bool
	if err := db.QueryRow(ctx, "SELECT to_regclass('ok_one') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("table ok_one from the failed migration exists; the file was not rolled back")
	}
	var recorded bool
	if err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migration WHERE name = '9999_bad.sql')").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded {
		t.Fatal("the failed migration was recorded as applied")
	}
}

// TestH3ParentAgreesWithH3Go checks the SQL bit arithmetic against the H3 library
// on random cells at every resolution, pentagons included.
func TestH3ParentAgreesWithH3Go(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	var cells, parents []int64
	var resolutions []int32
	add := func(c h3.Cell) {
		for r := 0; r <= c.Resolution(); r++ {
			p := c.Parent(r)
			cells = append(cells, int64(c))
			resolutions = append(resolutions, int32(r))
			parents = append(parents, int64(p))
		}
	}
	for i := 0; i < 3000; i++ {
		lat := rng.Float64()*180 - 90
		lng := rng.Float64()*360 - 180
		res := rng.IntN(16)
		add(h3.LatLngToCell(h3.NewLatLng(lat, lng), res))
	}
	for _, p := range h3.Pentagons(12) {
		add(p)
		kids := p.Children(15)
		add(kids[0])
	}
	rows, err := db.Query(ctx, `SELECT i, h3_parent(c, r) FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS t(c, r, i)`, cells, resolutions)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var i int
		var got int64
		if err := rows.Scan(&i, &got); err != nil {
			t.Fatal(err)
		}
		if want := parents[i-1]; got != want {
			t.Errorf("h3_parent(%x, %d) = %x, h3-go says %x", cells[i-1], resolutions[i-1], got, want)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(cells) {
		t.Fatalf("checked %d cells, want %d", n, len(cells))
	}
	var finer *int64
	if err := db.QueryRow(ctx, "SELECT h3_parent($1, 13)", int64(mustCell(t, 22.54, 114.05, 12))).Scan(&finer); err != nil {
		t.Fatal(err)
	}
	if finer != nil {
		t.Fatalf("h3_parent to a finer resolution = %x, want NULL", *finer)
	}
}

func mustCell(t *testing.T, lat, lng float64, res int) h3.Cell {
	return h3.LatLngToCell(h3.NewLatLng(lat, lng), res)
}

func TestConstraintsRejectBadRows(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	cell := int64(mustCell(t, 22.54, 114.05, 12))
	setup := []string{
		`INSERT INTO address (id, level, full_text, geom, h3) VALUES (1, 'building', '深圳市福田区福华路1号', ST_SetSRID(ST_MakePoint(114.05, 22.54), 4326), ` + itoa(cell) + `)`,
		`INSERT INTO event_category (code, level, name) VALUES ('01', 1, '市容环境')`,
	}
	for _, s := range setup {
		if _, err := db.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	cases := []struct {
		name, sql, sqlstate string
	}{
		{"household on a missing address", `INSERT INTO household (address_id, members) VALUES (999, 3)`, "23503"},
		{"household with no members", `INSERT INTO household (address_id, members) VALUES (1, 0)`, "23514"},
		{"phone stored in clear", `INSERT INTO household (address_id, members, phone_masked) VALUES (1, 2, '13812345678')`, "23514"},
		{"unknown address level", `INSERT INTO address (level, full_text) VALUES ('village', 'x')`, "23514"},
		{"address deleted", `DELETE FROM address WHERE id = 1`, "23001"},
		{"h3 cell at the wrong resolution", `INSERT INTO address (level, full_text, h3) VALUES ('room', 'x', ` + itoa(int64(mustCell(t, 22.54, 114.05, 9))) + `)`, "23514"},
		{"self-intersecting building", `INSERT INTO building (geom) VALUES (ST_Multi(ST_GeomFromText('POLYGON((0 0,1 1,1 0,0 1,0 0))', 4326)))`, "23514"},
		{"unknown severity", `INSERT INTO event (category_code, severity, source, status, reported_at, geom, h3) VALUES ('01', 'minor', 'patrol', 'reported', now(), ST_SetSRID(ST_MakePoint(114.05, 22.54), 4326), ` + itoa(cell) + `)`, "23514"},
		{"unknown category", `INSERT INTO event (category_code, source, status, reported_at, geom, h3) VALUES ('99', 'patrol', 'reported', now(), ST_SetSRID(ST_MakePoint(114.05, 22.54), 4326), ` + itoa(cell) + `)`, "23503"},
		{"closed without a close time", `INSERT INTO event (category_code, source, status, reported_at, geom, h3) VALUES ('01', 'patrol', 'closed', now(), ST_SetSRID(ST_MakePoint(114.05, 22.54), 4326), ` + itoa(cell) + `)`, "23514"},
		{"escalation beyond the third report", `INSERT INTO event (category_code, source, status, reported_at, escalation, geom, h3) VALUES ('01', 'patrol', 'reported', now(), 3, ST_SetSRID(ST_MakePoint(114.05, 22.54), 4326), ` + itoa(cell) + `)`, "23514"},
		{"overlapping grid versions", `INSERT INTO grid (code, version, level, geom, valid_from) VALUES ('g1', 1, 'grid', ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2024-01-01'), ('g1', 2, 'grid', ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2025-01-01')`, "23P01"},
		{"community without a parent", `INSERT INTO admin_area (code, level, name, geom) VALUES ('440303001001', 'community', 'x', ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)))`, "23514"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.Exec(ctx, tc.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("got %v, want SQLSTATE %s", err, tc.sqlstate)
			}
			if pgErr.Code != tc.sqlstate {
				t.Fatalf("got SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tc.sqlstate)
			}
		})
	}
	// The same grid with versions one after the other is history, not a conflict.
	if _, err := db.Exec(ctx, `INSERT INTO grid (code, version, level, geom, valid_from, valid_to) VALUES
		('g2', 1, 'grid', ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), '2024-01-01', '2025-01-01'),
		('g2', 2, 'grid', ST_Multi(ST_MakeEnvelope(0,0,2,1,4326)), '2025-01-01', NULL)`); err != nil {
		t.Fatalf("consecutive grid versions rejected: %v", err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestLeakproof: the test cluster migrates as a superuser, so every function
// row-level security needs on an index is marked.
func TestLeakproof(t *testing.T) {
	db := pgtest.New(t)
	missing, err := schema.CheckLeakproof(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("not LEAKPROOF after migrating as a superuser: %v", missing)
	}
}
