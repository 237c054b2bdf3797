package citygen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// genLock serialises concurrent runs on one database.
const genLock = 7_340_021_210

// Generate builds a city as o says and writes it into the database in one
// transaction. It refuses (ErrExists) when citygen rows exist unless o.Replace.
func Generate(ctx context.Context, pool *pgxpool.Pool, o Options) (Summary, error) {
	t0 := time.Now()
	sum := Summary{Rows: map[string]int64{}}
	if err := o.defaults(); err != nil {
		return sum, fmt.Errorf("citygen: %w", err)
	}
	var backend uint32 // the server process of our connection, once acquired
	cpu, srv := selfCPU(), -1.0
	phase := func(name string, since time.Time) time.Time {
		now := time.Now()
		p := Phase{Name: name, Seconds: now.Sub(since).Seconds(), ServerCPU: -1}
		c := selfCPU()
		p.CPU, cpu = c-cpu, c
		if s, ok := procCPU(backend); backend != 0 && ok {
			if srv >= 0 {
				p.ServerCPU = s - srv
			}
			srv = s
		}
		sum.Phases = append(sum.Phases, p)
		o.Log.Info("citygen phase", "phase", name, "seconds", p.Seconds, "cpu", p.CPU, "server_cpu", p.ServerCPU)
		return now
	}
	if !o.Replace {
		// Refuse before planning (seconds for a large city); prepare checks
		// again under the lock.
		if exists, err := cityExists(ctx, pool); err != nil {
			return sum, fmt.Errorf("citygen: %w", err)
		} else if exists {
			return sum, ErrExists
		}
	}
	src, err := loadSource(sourceData)
	if err != nil {
		return sum, fmt.Errorf("citygen: %w", err)
	}
	c := &city{}
	if c.districts, err = planDistricts(src, o.Households); err != nil {
		return sum, fmt.Errorf("citygen: %w", err)
	}
	for _, d := range c.districts {
		sum.Districts = append(sum.Districts, d.src.name)
	}
	if err := parallel(len(c.districts), func(i int) error { return planDivision(c.districts[i], o.Seed) }); err != nil {
		return sum, fmt.Errorf("citygen: %w", err)
	}
	t := phase("plan", t0)

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return sum, fmt.Errorf("citygen: acquire connection: %w", err)
	}
	defer conn.Release()
	backend = conn.Conn().PgConn().PID()
	if s, ok := procCPU(backend); ok {
		srv = s
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return sum, fmt.Errorf("citygen: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	w := &writer{tx: tx, pool: pool, o: o, c: c, sum: &sum, backend: backend}
	defer func() {
		if w.side != nil {
			w.side.close(context.WithoutCancel(ctx))
		}
	}()
	if err := w.prepare(ctx); err != nil {
		return sum, fmt.Errorf("citygen: %w", err)
	}
	t = phase("prepare", t)
	if err := w.adminAreas(ctx); err != nil {
		return sum, fmt.Errorf("citygen: admin areas: %w", err)
	}
	t = phase("admin areas", t)
	if err := w.layout(ctx); err != nil {
		return sum, fmt.Errorf("citygen: layout: %w", err)
	}
	t = phase("layout", t)
	if err := w.grids(ctx); err != nil {
		return sum, fmt.Errorf("citygen: grids: %w", err)
	}
	t = phase("grids", t)
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"addresses", w.addresses},
		{"buildings", w.buildings},
		{"households", w.households},
		{"personal", w.personal},
		{"events", w.events},
		{"indexes", w.finish},
		{"derived", w.derived},
	}
	for _, s := range steps {
		if err := s.f(ctx); err != nil {
			return sum, fmt.Errorf("citygen: %s: %w", s.name, err)
		}
		t = phase(s.name, t)
	}
	if err := tx.Commit(ctx); err != nil {
		return sum, fmt.Errorf("citygen: commit: %w", err)
	}
	t = phase("commit", t)
	if o.TruthPath != "" {
		if err := writeTruth(o, sum.Hotspots); err != nil {
			return sum, fmt.Errorf("citygen: %w", err)
		}
	}
	sum.Seconds = time.Since(t0).Seconds()
	return sum, nil
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines and returns the first
// error by index, so the result does not depend on scheduling.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// writer writes one city in one transaction.
type writer struct {
	tx      pgx.Tx
	pool    *pgxpool.Pool // for the side connection (side.go)
	side    *side         // derived tables computed on a second connection, or nil
	backend uint32        // server process id, for CPU figures in the debug log
	o       Options
	c       *city
	sum     *Summary

	idBase  map[string]int64 // table → highest id of other datasets
	indexes []string         // definitions of indexes dropped for the load
	uniques []conDef         // unique constraints dropped for the load
	fks     []conDef         // foreign keys dropped for the load
	clear   []clearValues    // clear personal values to seal (personal.go)
}

// conDef is a table constraint as pg_get_constraintdef gives it.
type conDef struct{ table, name, def string }

// bulkTables are loaded with their secondary indexes, unique constraints and
// foreign keys dropped.
var bulkTables = []string{"address", "building", "household", "event"}

func (w *writer) prepare(ctx context.Context) error {
	if _, err := w.tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", genLock); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// Losing the last moments of a crash is harmless for generated data.
	if _, err := w.tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
		return fmt.Errorf("set synchronous_commit: %w", err)
	}
	if _, err := w.tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '512MB'"); err != nil {
		return fmt.Errorf("set maintenance_work_mem: %w", err)
	}
	exists, err := cityExists(ctx, w.tx)
	if err != nil {
		return err
	}
	if exists && !w.o.Replace {
		return ErrExists
	}
	// Drop foreign keys and indexes before deleting, too: with address's
	// self-reference every deleted row would otherwise cost a lookup.
	if err := w.dropForLoad(ctx); err != nil {
		return err
	}
	if err := w.setDerivedTriggers(ctx, false); err != nil {
		return err
	}
	if err := w.truncate(ctx); err != nil {
		return err
	}
	if exists {
		if err := w.deleteCity(ctx); err != nil {
			return err
		}
	}
	w.idBase = map[string]int64{}
	for _, t := range bulkTables {
		var id int64
		if err := w.tx.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&id); err != nil {
			return fmt.Errorf("highest %s id: %w", t, err)
		}
		w.idBase[t] = id
	}
	return nil
}

// truncate empties the bulk tables with TRUNCATE when that deletes nothing
// but an earlier generated city: when they hold no other dataset's rows and
// every table whose foreign keys lead to them (address_alias, event_step, …) is
// empty, or deletes its rows with theirs (ON DELETE CASCADE: household_personal). It gives the tables new, empty files in this transaction, and with
// wal_level = minimal (the embedded cluster's setting) PostgreSQL then writes
// neither the COPYed rows nor the index builds to the WAL but syncs the files
// at commit: on a 1M-household city that is about 2 GB of WAL not written. On a
// fresh database it is the normal case; on --replace it also replaces
// millions of row deletes. Elsewhere the city is deleted row by row.
func (w *writer) truncate(ctx context.Context) error {
	rows, err := w.tx.Query(ctx, `WITH RECURSIVE dep(rel) AS (
		SELECT c.oid FROM pg_class c WHERE c.relname = ANY($1) AND c.relnamespace = current_schema()::regnamespace
		UNION
		SELECT k.conrelid FROM pg_constraint k JOIN dep ON k.confrelid = dep.rel WHERE k.contype = 'f')
		SELECT c.relname, c.relname = ANY($1),
		       EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid
		               WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confdeltype = 'c' AND p.relname = ANY($1))
		FROM dep JOIN pg_class c ON c.oid = dep.rel
		WHERE c.relnamespace = current_schema()::regnamespace ORDER BY 1`, bulkTables)
	if err != nil {
		return fmt.Errorf("list tables to truncate: %w", err)
	}
	type rel struct {
		name          string
		bulk, cascade bool // cascade: its rows go with a bulk table's (household_personal)
	}
	var rels []rel
	for rows.Next() {
		var r rel
		if err := rows.Scan(&r.name, &r.bulk, &r.cascade); err != nil {
			rows.Close()
			return err
		}
		rels = append(rels, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list tables to truncate: %w", err)
	}
	names := make([]string, len(rels))
	for i, r := range rels {
		names[i] = pgx.Identifier{r.name}.Sanitize()
		if r.cascade && !r.bulk {
			continue // deleting the bulk tables' rows would delete its rows too
		}
		q := "SELECT EXISTS (SELECT 1 FROM " + names[i] + ")"
		args := []any{}
		if r.bulk {
			q = "SELECT EXISTS (SELECT 1 FROM " + names[i] + " WHERE dataset <> $1)"
			args = append(args, Dataset)
		}
		var other bool
		if err := w.tx.QueryRow(ctx, q, args...).Scan(&other); err != nil {
			return fmt.Errorf("look for other data in %s: %w", r.name, err)
		}
		if other {
			return nil
		}
	}
	if _, err := w.tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	return nil
}

// deleteCity removes an earlier generated city. address refuses deletes (ids
// are permanent) and event_step changes (the loop's history is append-only); a
// generated city is replaced wholesale, with the steps its events took since
// (the demo pulse moves them on), so their triggers are disabled for this
// transaction only (ALTER TABLE takes effect for everyone but is rolled back or
// re-enabled before commit).
func (w *writer) deleteCity(ctx context.Context) error {
	stmts := []string{
		"ALTER TABLE event_step DISABLE TRIGGER event_step_no_change",
		"DELETE FROM event_step WHERE event_id IN (SELECT id FROM event WHERE dataset = $1)",
		"ALTER TABLE event_step ENABLE TRIGGER event_step_no_change",
		"DELETE FROM event WHERE dataset = $1",
		"DELETE FROM household WHERE dataset = $1",
		"DELETE FROM building WHERE dataset = $1",
		"DELETE FROM grid WHERE dataset = $1",
		"ALTER TABLE address DISABLE TRIGGER address_no_delete",
		"DELETE FROM address WHERE dataset = $1",
		"ALTER TABLE address ENABLE TRIGGER address_no_delete",
		"DELETE FROM admin_area WHERE dataset = $1 AND level = 'community'",
		"DELETE FROM admin_area WHERE dataset = $1 AND level = 'street'",
		"DELETE FROM admin_area WHERE dataset = $1",
	}
	for _, s := range stmts {
		var args []any
		if !isDDL(s) {
			args = []any{Dataset}
		}
		if _, err := w.tx.Exec(ctx, s, args...); err != nil {
			return fmt.Errorf("replace: %s: %w", s, err)
		}
	}
	return nil
}

// serverCPU is the backend's CPU seconds so far, -1 when unknown.
func (w *writer) serverCPU() float64 {
	if s, ok := procCPU(w.backend); w.backend != 0 && ok {
		return s
	}
	return -1
}

// debugStep logs one statement of finish with its wall and backend CPU seconds
// (parallel workers' CPU is not included).
func (w *writer) debugStep(msg, what string, t time.Time, cpu0 float64) {
	cpu := -1.0
	if c := w.serverCPU(); c >= 0 && cpu0 >= 0 {
		cpu = c - cpu0
	}
	w.o.Log.Debug(msg, "what", what, "seconds", time.Since(t).Seconds(), "server_cpu", cpu)
}

func scanConDefs(rows pgx.Rows) ([]conDef, error) {
	var out []conDef
	for rows.Next() {
		var c conDef
		if err := rows.Scan(&c.table, &c.name, &c.def); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func isDDL(s string) bool { return len(s) > 5 && s[:5] == "ALTER" }

// dropForLoad drops the bulk tables' secondary indexes, unique constraints and
// foreign keys; finish recreates them from the catalogue's own definitions.
// Building a GiST or GIN index once is several times faster than growing it row
// by row, and one validating join is faster than a trigger per row. The
// (dataset, dataset_id) keys are the costliest index to maintain during COPY
// (event ids sort as text, so "e10" < "e9": inserts land all over the B-tree);
// one sorted build, which also checks uniqueness, costs a fraction of that.
// Only the primary keys stay (foreign keys of other tables need them, and ids
// arrive in order, so each insert goes to the rightmost leaf). A unique
// constraint that a foreign key references is kept too.
func (w *writer) dropForLoad(ctx context.Context) error {
	rows, err := w.tx.Query(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		WHERE t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
		ORDER BY c.relname`, bulkTables)
	if err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	var names []string
	for rows.Next() {
		var n, def string
		if err := rows.Scan(&n, &def); err != nil {
			return err
		}
		names = append(names, n)
		w.indexes = append(w.indexes, def)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list indexes: %w", err)
	}
	rows, err = w.tx.Query(ctx, `SELECT t.relname, k.conname, pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
		WHERE k.contype = 'f' AND t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
		ORDER BY t.relname, k.conname`, bulkTables)
	if err != nil {
		return fmt.Errorf("list foreign keys: %w", err)
	}
	if w.fks, err = scanConDefs(rows); err != nil {
		return fmt.Errorf("list foreign keys: %w", err)
	}
	for _, f := range w.fks {
		if _, err := w.tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{f.table}.Sanitize()+" DROP CONSTRAINT "+pgx.Identifier{f.name}.Sanitize()); err != nil {
			return fmt.Errorf("drop foreign key %s: %w", f.name, err)
		}
	}
	rows, err = w.tx.Query(ctx, `SELECT t.relname, k.conname, pg_get_constraintdef(k.oid)
		FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
		WHERE k.contype = 'u' AND t.relname = ANY($1) AND t.relnamespace = current_schema()::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid)
		ORDER BY t.relname, k.conname`, bulkTables)
	if err != nil {
		return fmt.Errorf("list unique constraints: %w", err)
	}
	if w.uniques, err = scanConDefs(rows); err != nil {
		return fmt.Errorf("list unique constraints: %w", err)
	}
	for _, u := range w.uniques {
		if _, err := w.tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{u.table}.Sanitize()+" DROP CONSTRAINT "+pgx.Identifier{u.name}.Sanitize()); err != nil {
			return fmt.Errorf("drop unique constraint %s: %w", u.name, err)
		}
	}
	for _, n := range names {
		if _, err := w.tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{n}.Sanitize()); err != nil {
			return fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return nil
}

// derivedTriggers are the statement-level triggers that keep the tile aggregates
// and query roll-ups current on insert, update and delete of the bulk tables. They
// are disabled for the load and derived_rebuild() (schema 0205, now 0510) recomputes their
// tables once before commit: for a 1M-row COPY the triggers' grouped upserts cost
// about 45 s of server CPU per table. tile_bump (layer versions), the TRUNCATE
// triggers and address_no_delete stay enabled.
var derivedTriggers = []struct{ table, name string }{
	{"household", "tile_household_agg_insert"},
	{"household", "tile_household_agg_update"},
	{"household", "tile_household_agg_delete"},
	{"household", "household_rollup_ins"},
	{"household", "household_rollup_upd"},
	{"household", "household_rollup_del"},
	{"event", "tile_event_agg_insert"},
	{"event", "tile_event_agg_update"},
	{"event", "tile_event_agg_delete"},
	{"event", "event_rollup_ins"},
	{"event", "event_rollup_upd"},
	{"event", "event_rollup_del"},
	// Close-time histograms (schema 0301): query_rollup_rebuild() recomputes them
	// too, so left on they folded a million rows only to be truncated.
	{"event", "event_close_hist_ins"},
	{"event", "event_close_hist_upd"},
	{"event", "event_close_hist_del"},
	// event_notify only counts a COPY's rows for its one bulk notice, but being on
	// made PostgreSQL keep every inserted row for it (a transition table of a
	// million rows); derived sends the same notice itself.
	{"event", "event_notify"},
}

// setDerivedTriggers enables or disables derivedTriggers. ALTER TABLE … DISABLE
// TRIGGER is transactional: a load that fails rolls it back, and derived
// re-enables them before commit, so other sessions never see them off.
func (w *writer) setDerivedTriggers(ctx context.Context, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, tr := range derivedTriggers {
		q := "ALTER TABLE " + pgx.Identifier{tr.table}.Sanitize() + " " + verb + " TRIGGER " + pgx.Identifier{tr.name}.Sanitize()
		if _, err := w.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// derived recomputes the tile aggregates and query roll-ups of the loaded rows
// (derived_rebuild, schema 0205, now 0510) and re-enables their triggers.
func (w *writer) derived(ctx context.Context) error {
	if w.side != nil {
		if err := w.finishSide(ctx, w.side); err != nil {
			return err
		}
		w.sum.DerivedSide = true
	} else {
		t, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, "SELECT derived_rebuild()"); err != nil {
			return fmt.Errorf("derived_rebuild: %w", err)
		}
		w.debugStep("citygen derived", "derived_rebuild", t, c0)
	}
	if n := w.sum.Rows["event"]; n > 0 {
		// What event_notify sends for a bulk insert (schema 0500), delivered at commit.
		if _, err := w.tx.Exec(ctx, "SELECT pg_notify('onegrid_event_bulk', json_build_object('count', $1::bigint)::text)", n); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return w.setDerivedTriggers(ctx, true)
}

// finish rebuilds what dropForLoad dropped, moves the id sequences past the
// generated ids and refreshes the planner's statistics.
func (w *writer) finish(ctx context.Context) error {
	// The roll-ups are computed on a second connection while this one builds
	// indexes (side.go).
	var err error
	if w.side, err = w.startSide(ctx); err != nil {
		return err
	}
	for _, u := range w.uniques {
		t, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{u.table}.Sanitize()+" ADD CONSTRAINT "+pgx.Identifier{u.name}.Sanitize()+" "+u.def); err != nil {
			return fmt.Errorf("restore unique constraint %s: %w", u.name, err)
		}
		w.debugStep("citygen unique constraint", u.name, t, c0)
	}
	for _, def := range w.indexes {
		t, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, def); err != nil {
			return fmt.Errorf("%s: %w", def, err)
		}
		w.debugStep("citygen index", def, t, c0)
	}
	for _, f := range w.fks {
		t, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, "ALTER TABLE "+pgx.Identifier{f.table}.Sanitize()+" ADD CONSTRAINT "+pgx.Identifier{f.name}.Sanitize()+" "+f.def); err != nil {
			return fmt.Errorf("restore foreign key %s: %w", f.name, err)
		}
		w.debugStep("citygen foreign key", f.name, t, c0)
	}
	for _, t := range bulkTables {
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), greatest(1, (SELECT max(id) FROM %s)))", t, pgx.Identifier{t}.Sanitize())
		if _, err := w.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("advance %s id sequence: %w", t, err)
		}
	}
	for _, t := range append([]string{"admin_area", "grid"}, bulkTables...) {
		t0, c0 := time.Now(), w.serverCPU()
		if _, err := w.tx.Exec(ctx, "ANALYZE "+pgx.Identifier{t}.Sanitize()); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
		w.debugStep("citygen analyze", t, t0, c0)
	}
	return nil
}

// adminAreas writes districts, then streets and communities as Voronoi cells of
// their seeds clipped by the parent, so each level tiles the one above.
func (w *writer) adminAreas(ctx context.Context) error {
	const seedTable = `CREATE TEMP TABLE cg_seed (code text COLLATE "C", level text, name text, parent text COLLATE "C", pt geometry(Point, 4326)) ON COMMIT DROP`
	if _, err := w.tx.Exec(ctx, seedTable); err != nil {
		return fmt.Errorf("seed table: %w", err)
	}
	for _, d := range w.c.districts {
		b, err := wkb.Marshal(d.src.geom)
		if err != nil {
			return fmt.Errorf("district %s: %w", d.src.name, err)
		}
		if _, err := w.tx.Exec(ctx, `INSERT INTO admin_area (code, level, name, geom, dataset)
			VALUES ($1, 'district', $2, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromWKB($3, 4326)), 3)), $4)`,
			d.src.code, d.src.name, b, Dataset); err != nil {
			return fmt.Errorf("district %s: %w", d.src.name, err)
		}
		for _, s := range d.streets {
			if _, err := w.tx.Exec(ctx, `INSERT INTO cg_seed VALUES ($1, 'street', $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326))`,
				s.code, s.name, d.src.code, s.seed[0], s.seed[1]); err != nil {
				return fmt.Errorf("street seed: %w", err)
			}
			for _, c := range s.communities {
				if _, err := w.tx.Exec(ctx, `INSERT INTO cg_seed VALUES ($1, 'community', $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326))`,
					c.code, c.name, s.code, c.seed[0], c.seed[1]); err != nil {
					return fmt.Errorf("community seed: %w", err)
				}
				w.c.comms = append(w.c.comms, c)
			}
		}
	}
	for _, level := range []string{"street", "community"} {
		tag, err := w.tx.Exec(ctx, voronoiSQL, level, Dataset)
		if err != nil {
			return fmt.Errorf("%s cells: %w", level, err)
		}
		w.sum.Rows["admin_area"] += tag.RowsAffected()
	}
	w.sum.Rows["admin_area"] += int64(len(w.c.districts))
	return nil
}

// voronoiSQL clips each parent's Voronoi diagram of its children's seeds by the
// parent. A parent with one child passes its own geometry down.
const voronoiSQL = `
INSERT INTO admin_area (code, level, name, parent_code, geom, dataset)
SELECT s.code, s.level, s.name, s.parent,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Intersection(p.geom, v.cell)), 3)), $2
FROM (SELECT parent, (ST_Dump(ST_VoronoiPolygons(ST_Collect(pt), 0, ST_Expand(ST_Envelope(ST_Collect(pt)), 2)))).geom AS cell
      FROM cg_seed WHERE level = $1 GROUP BY parent HAVING count(*) > 1) v
JOIN cg_seed s ON s.level = $1 AND s.parent = v.parent AND ST_Contains(v.cell, s.pt)
JOIN admin_area p ON p.code = s.parent
UNION ALL
SELECT s.code, s.level, s.name, s.parent, p.geom, $2
FROM cg_seed s JOIN admin_area p ON p.code = s.parent
WHERE s.level = $1 AND (SELECT count(*) FROM cg_seed t WHERE t.level = $1 AND t.parent = s.parent) = 1`

// layout reads the communities back and places grids, micro-grids and
// buildings in each, in parallel; then it assigns ids in a fixed order.
func (w *writer) layout(ctx context.Context) error {
	rows, err := w.tx.Query(ctx, `SELECT code, ST_AsBinary(geom) FROM admin_area WHERE dataset = $1 AND level = 'community'`, Dataset)
	if err != nil {
		return fmt.Errorf("read communities: %w", err)
	}
	geoms := map[string]orb.MultiPolygon{}
	for rows.Next() {
		var code string
		var b []byte
		if err := rows.Scan(&code, &b); err != nil {
			return err
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("community %s: %w", code, err)
		}
		mp, ok := g.(orb.MultiPolygon)
		if !ok {
			return fmt.Errorf("community %s: geometry %T", code, g)
		}
		geoms[code] = mp
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read communities: %w", err)
	}
	comms := w.c.comms
	for _, c := range comms {
		if _, ok := geoms[c.code]; !ok {
			return fmt.Errorf("community %s has no cell", c.code)
		}
	}
	if err := parallel(len(comms), func(i int) error {
		return layoutCommunity(comms[i], geoms[comms[i].code], stream(w.o.Seed, "layout", uint64(i)))
	}); err != nil {
		return err
	}
	w.assignIDs()
	return nil
}

// assignIDs numbers addresses, buildings and households in plan order.
func (w *writer) assignIDs() {
	addr, bld, hh := w.idBase["address"], w.idBase["building"], w.idBase["household"]
	for _, d := range w.c.districts {
		addr++
		d.addrID = addr
		for _, s := range d.streets {
			addr++
			s.addrID = addr
			for _, c := range s.communities {
				addr++
				c.addrID = addr
			}
		}
	}
	for ci, c := range w.c.comms {
		r := stream(w.o.Seed, "roads", uint64(ci))
		roads := pickNames(r, len(c.grids), roadSuffixes)
		compounds := pickNames(r, len(c.grids), compoundSuffixes)
		for gi, g := range c.grids {
			addr++
			g.road = roadPlan{code: fmt.Sprintf("%s%03d", c.code, gi+1), addrID: addr, name: roads[gi]}
			if r.IntN(2) == 0 {
				g.road.compound, g.road.name = true, compounds[gi]
			}
			no := 0
			for _, m := range g.mgs {
				for k := range m.blds {
					b := &m.blds[k]
					no++
					bld++
					addr++
					b.no, b.id, b.addrID, b.hhID = no, bld, addr, hh+1
					addr += int64(b.hh)
					hh += int64(b.hh)
					w.c.blds = append(w.c.blds, &bldRef{b: b, c: c, g: g, mg: m, idx: int64(len(w.c.blds))})
				}
			}
		}
	}
}

// cityExists reports whether the database holds rows of a generated city.
func cityExists(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (bool, error) {
	var exists bool
	err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM admin_area WHERE dataset = $1)
		OR EXISTS (SELECT 1 FROM address WHERE dataset = $1)
		OR EXISTS (SELECT 1 FROM grid WHERE dataset = $1)
		OR EXISTS (SELECT 1 FROM event WHERE dataset = $1)`, Dataset).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look for an earlier city: %w", err)
	}
	return exists, nil
}
