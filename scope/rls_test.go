package scope_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// exempt are the tables without row-level security, and why. A new table must
// either get a policy (schema/0701_scope.sql) or a line here: TestEveryTableHasARule fails otherwise.
var exempt = map[string]string{
	"event_category":      "the event taxonomy: public reference data",
	"household_tag_class": "the sensitivity of household tags: public reference data",
	"tile_layer_version":  "layer version counters: no row data",
	"schema_migration":    "migration names",
	"spatial_ref_sys":     "PostGIS reference data",
	"household_personal":  "not granted to the application role at all: read only through unmask_household",
	"sdc_secret":          "the record keys' seed (schema 0770): locates nothing; aggregates read it, no route serves it",
	"citygen_city":        "the generated city's model, for gen --keep: not granted to the application role",
	"citygen_pending":     "close times of generated open events, for gen --keep: not granted to the application role",
}

// located are the tables whose rows lie in units, with the expression that
// locates a row; the matrix below checks them for every scope.
var located = map[string]string{
	"address":                "coalesce(grid_code, admin_code, '')",
	"building":               "coalesce(grid_code, admin_code, '')",
	"household":              "coalesce(grid_code, admin_code, '')",
	"event":                  "coalesce(grid_code, admin_code, '')",
	"event_step":             "(SELECT coalesce(grid_code, admin_code, '') FROM event e WHERE e.id = event_id)",
	"address_alias":          "(SELECT coalesce(grid_code, admin_code, '') FROM address a WHERE a.id = address_id)",
	"household_rollup":       "coalesce(grid_code, admin_code, '')",
	"household_tag_rollup":   "coalesce(grid_code, admin_code, '')",
	"event_rollup_month":     "admin_code",
	"event_close_hist_month": "admin_code",
	"tile_load":              "code",
}

func tables(t *testing.T, db *pgxpool.Pool) map[string]bool {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT c.relname, c.relrowsecurity FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var name string
	var rls bool
	if _, err := pgx.ForEachRow(rows, []any{&name, &rls}, func() error { out[name] = rls; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryTableHasARule: every table has row-level security with policies for
// the application role, or a stated exemption.
func TestEveryTableHasARule(t *testing.T) {
	owner, _ := pgtest.Pair(t)
	for name, rls := range tables(t, owner) {
		_, ex := exempt[name]
		switch {
		case rls && ex:
			t.Errorf("table %s has row-level security and an exemption: drop the exemption", name)
		case !rls && !ex:
			t.Errorf("table %s has no row-level security: give it a policy in a migration (scope) or an exemption with its reason", name)
		}
	}
	// Each table under row-level security has policies for both application
	// roles (0702): the jurisdiction's ranges and the whole area's.
	var missing []string
	if err := owner.QueryRow(context.Background(), `SELECT coalesce(array_agg(c.relname || ' ' || r.rolname), '{}')
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN pg_roles r
		WHERE n.nspname = 'public' AND c.relrowsecurity AND r.rolname IN ('onegrid_app', 'onegrid_app_city', 'onegrid_app_wide')
		  AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND r.oid = ANY (p.polroles))`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("tables without a policy for a role: %v (use scope_policy, schema/0702)", missing)
	}
	// Partitions are read through their parents: the application role has no grant on them.
	var leaked []string
	if err := owner.QueryRow(context.Background(), `SELECT coalesce(array_agg(c.relname), '{}') FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relispartition AND has_table_privilege('onegrid_app', c.oid, 'SELECT')`).Scan(&leaked); err != nil {
		t.Fatal(err)
	}
	if len(leaked) > 0 {
		t.Errorf("the application role may read partitions directly, past their parent's policy: %v", leaked)
	}
}

// TestTriggersRunAsOwner: every trigger function is SECURITY DEFINER, so a
// writer under row-level security keeps the roll-ups it may not read (a later
// migration that replaces one must keep it).
func TestTriggersRunAsOwner(t *testing.T) {
	owner, _ := pgtest.Pair(t)
	var bad []string
	if err := owner.QueryRow(context.Background(), `SELECT coalesce(array_agg(DISTINCT p.proname), '{}')
		FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_class c ON c.oid = t.tgrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE NOT t.tgisinternal AND n.nspname = 'public' AND NOT p.prosecdef`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("trigger functions that run as the writer, not the owner: %v", bad)
	}
}

// count runs a query as the application role with the scope set (nil: none).
func count(t *testing.T, app *pgxpool.Pool, sc *scope.Scope, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if sc != nil {
		if err := scope.Apply(ctx, tx, *sc); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	if err := tx.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestNothingWithoutIdentity: a connection that forgot to set who it is reads
// nothing from any table under a policy.
func TestNothingWithoutIdentity(t *testing.T) {
	owner, app := pgtest.Pair(t)
	if err := fixture.New().Load(context.Background(), owner); err != nil {
		t.Fatal(err)
	}
	for name, rls := range tables(t, owner) {
		if !rls {
			continue
		}
		if n := count(t, app, nil, "SELECT count(*) FROM "+pgx.Identifier{name}.Sanitize()); n != 0 {
			t.Errorf("%s: %d rows without an identity, want 0", name, n)
		}
	}
}

// flats says which rows of a located table are flats.
var flats = map[string]string{
	"address":       "level IN ('unit', 'floor', 'room')",
	"address_alias": "(SELECT level IN ('unit', 'floor', 'room') FROM address a WHERE a.id = address_id)",
}

// located's tables need these capabilities to be read at all.
var needs = map[string]string{
	"address": scope.CanRows, "building": scope.CanRows, "event": scope.CanRows, "event_step": scope.CanRows,
	"address_alias": scope.CanRows, "household": scope.CanHouseholds, "household_rollup": scope.CanAggregates,
	"household_tag_rollup": scope.CanAggregates, "event_rollup_month": scope.CanAggregates,
	"event_close_hist_month": scope.CanAggregates, "tile_load": scope.CanAggregates,
}

// TestJurisdictionMatrix is the isolation matrix with row-level security alone:
// every person of the fixture city (one per role, as api's matrix calls the
// routes with) and a few more shapes of jurisdiction read every located table
// as the application role; each sees exactly the rows inside its units if its
// roles allow the table, else none, counted independently as the owner.
func TestJurisdictionMatrix(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	if err := fixture.New().Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	all := []string{scope.CanRows, scope.CanHouseholds, scope.CanAggregates}
	scopes := map[string]scope.Scope{
		"a unit with no rows": {UserID: 6, Units: []string{"440399"}, Caps: all},
		"two grids":           {UserID: 7, Units: []string{fixture.GridA, fixture.GridB}, Caps: all},
		// Wide (onegrid_app_wide) and not exact: each row's one code (0792)
		// checked against both units.
		"two streets": {UserID: 8, Units: []string{"440304001", "440304002"}, Caps: all},
	}
	for i, p := range fixture.People() {
		var roles []auth.Role
		for _, r := range p.Roles {
			roles = append(roles, auth.Role(r))
		}
		sc := scope.Scope{UserID: int64(100 + i), User: p.Name, Caps: auth.Capabilities(roles)}
		if err := owner.QueryRow(ctx, `SELECT unit_prefixes($1)`, p.Units).Scan(&sc.Units); err != nil {
			t.Fatal(err)
		}
		scopes[p.Name] = sc
	}
	for name, sc := range scopes {
		t.Run(name, func(t *testing.T) {
			for table, loc := range located {
				isFlat, ok := flats[table]
				if !ok {
					isFlat = "false"
				}
				rows, err := owner.Query(ctx, fmt.Sprintf("SELECT %s, %s FROM %s", loc, isFlat, pgx.Identifier{table}.Sanitize()))
				if err != nil {
					t.Fatal(err)
				}
				type row struct {
					Code string
					Flat bool
				}
				codes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
				if err != nil {
					t.Fatal(err)
				}
				var want int64
				for _, c := range codes {
					// A flat's address (and its aliases) only to those who
					// serve households (0760), whatever the jurisdiction.
					if c.Flat && !sc.Can(scope.CanHouseholds) {
						continue
					}
					for _, u := range sc.Units {
						if strings.HasPrefix(c.Code, u) && sc.Can(needs[table]) {
							want++
							break
						}
					}
				}
				if got := count(t, app, &sc, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()); got != want {
					t.Errorf("%s: %d rows, want %d of %d", table, got, want, len(codes))
				}
			}
		})
	}
	// Grid A's worker and grid B's see disjoint events, and none of the other's.
	a, b := scopes["worker_a"], scopes["worker_b"]
	if n := count(t, app, &a, "SELECT count(*) FROM event WHERE grid_code LIKE '440304002001002%'"); n != 0 {
		t.Errorf("grid A's worker reads %d events of grid B", n)
	}
	if n := count(t, app, &b, "SELECT count(*) FROM household WHERE grid_code LIKE '440304002001001%'"); n != 0 {
		t.Errorf("grid B's worker reads %d households of grid A", n)
	}
}

// TestWidePoliciesCheckOneCode: the wide role's read policies on located rows
// check the row's one code (schema/0792), not the two arms onegrid_app's
// index needs. app_wide_expr finds the two arms by their deparsed text; if
// PostgreSQL ever deparsed them differently the policies would still be right,
// only slower, and this test says so.
func TestWidePoliciesCheckOneCode(t *testing.T) {
	owner, _ := pgtest.Pair(t)
	rows, err := owner.Query(context.Background(), `SELECT pol.polrelid::regclass::text, pg_get_expr(pol.polqual, pol.polrelid)
		FROM pg_policy pol WHERE pol.polname = 'scope_read_wide'
		AND pol.polrelid IN ('address'::regclass, 'building'::regclass, 'event'::regclass, 'household'::regclass)`)
	if err != nil {
		t.Fatal(err)
	}
	var table, qual string
	n := 0
	if _, err := pgx.ForEachRow(rows, []any{&table, &qual}, func() error {
		n++
		if strings.Contains(qual, "grid_code IS NULL") || !strings.Contains(qual, "COALESCE(grid_code, admin_code, ''::text)") {
			t.Errorf("%s: the wide role's policy still has the two arms: %s", table, qual)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("%d wide read policies on the located tables, want 4", n)
	}
}

// TestWriteOutsideEveryGrid: the event write policies locate a row by its grid
// code, else its admin code (schema/0701, 0793). A jurisdiction of several units
// (not exact) moves an event that lies outside every grid when its admin area is
// inside one of the units, and not when it is inside none.
func TestWriteOutsideEveryGrid(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	f := fixture.New()
	if err := f.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	var ev fixture.Event
	for _, e := range f.Events {
		if strings.HasPrefix(e.AdminCode, "440304001") {
			ev = e
			break
		}
	}
	if ev.ID == 0 {
		t.Fatal("fixture: no event in street 440304001")
	}
	if _, err := owner.Exec(ctx, `UPDATE event SET grid_code = NULL, grid_version = NULL WHERE id = $1`, ev.ID); err != nil {
		t.Fatal(err)
	}
	caps := []string{scope.CanRows, scope.CanEvents}
	for _, tc := range []struct {
		units []string
		want  int64
	}{
		{[]string{"440304001", "440304002"}, 1},       // the event's street is one of the units
		{[]string{"440304002", "440304001002001"}, 0}, // neither unit holds its admin area
		{[]string{"440304001"}, 1},                    // one unit (exact), as before
	} {
		sc := scope.Scope{UserID: 1, User: "t", Units: tc.units, Caps: caps}
		var n int64
		err := scope.Run(ctx, app, sc, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `UPDATE event SET title = title WHERE id = $1`, ev.ID)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			t.Fatalf("%v: %v", tc.units, err)
		}
		if n != tc.want {
			t.Errorf("units %v: %d rows updated for an event outside every grid in %s, want %d", tc.units, n, ev.AdminCode, tc.want)
		}
	}
}

// TestCapabilities: without a capability, the tables it guards answer nothing,
// even inside the jurisdiction; Aggregating adds the rows an aggregate counts.
func TestCapabilities(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	if err := fixture.New().Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	analyst := scope.Scope{UserID: 7, Units: []string{""}, Caps: []string{scope.CanAggregates}}
	planner := scope.Scope{UserID: 8, Units: []string{""}, Caps: []string{scope.CanRows, scope.CanAggregates}}
	auditor := scope.Scope{UserID: 9, Units: []string{""}, Caps: []string{scope.CanAudit}}
	for _, tc := range []struct {
		who   string
		sc    scope.Scope
		table string
		zero  bool
	}{
		{"analyst", analyst, "household", true},
		{"analyst", analyst, "event", true},
		{"analyst", analyst, "address", true},
		{"analyst", analyst, "household_rollup", false},
		{"analyst", analyst, "grid", false},
		{"analyst aggregating", analyst.Aggregating(), "household", false},
		{"planner", planner, "household", true},
		{"planner", planner, "event", false},
		{"planner aggregating", planner.Aggregating(), "household", false},
		{"auditor", auditor, "event", true},
		{"auditor", auditor, "household_rollup", true},
		{"auditor", auditor, "load_reject", true},
		{"auditor aggregating (no aggregates capability)", auditor.Aggregating(), "household", true},
	} {
		n := count(t, app, &tc.sc, "SELECT count(*) FROM "+tc.table)
		if (n == 0) != tc.zero {
			t.Errorf("%s reads %d rows of %s, want zero: %v", tc.who, n, tc.table, tc.zero)
		}
	}
	// The application role has no grant on the sealed personal data.
	_, err := app.Exec(ctx, "SELECT count(*) FROM household_personal")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("reading household_personal as the application role: %v, want permission denied", err)
	}
}

// TestScopeUsesTheIndex: a grid worker's unfiltered read of a big table is an
// index range on the grid code, not a scan: the policy's scope is an InitPlan
// PostgreSQL evaluates once and hands to the B-tree.
func TestScopeUsesTheIndex(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	// Enough events that a scan would cost more than the index.
	if _, err := owner.Exec(ctx, `
		INSERT INTO event_category (code, level, name) VALUES ('01', 1, 'x');
		INSERT INTO event (category_code, source, status, reported_at, geom, h3, grid_code)
		SELECT '01', 'patrol', 'reported', '2026-01-01', ST_SetSRID(ST_MakePoint(114, 22.5), 4326), 631240002512363519,
		       '4403040020010' || lpad((i % 90)::text, 2, '0') FROM generate_series(1, 20000) i;
		ANALYZE event`); err != nil {
		t.Fatal(err)
	}
	explain := func(sc scope.Scope, sql string) string {
		tx, err := scope.Begin(ctx, app, sc)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		rows, err := tx.Query(ctx, "EXPLAIN "+sql)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	worker := scope.Scope{UserID: 1, Units: []string{"440304002001001"}, Caps: []string{scope.CanRows}}
	if plan := explain(worker, "SELECT id FROM event"); !strings.Contains(plan, "event_grid_code_idx") || strings.Contains(plan, "Seq Scan on event") {
		t.Errorf("a grid worker's read of event does not use the grid code index:\n%s", plan)
	}
	// The whole area's caller runs as the city role: no range to misjudge, the
	// query's own conditions choose the plan.
	city := scope.Scope{UserID: 2, Units: []string{""}, Caps: []string{scope.CanRows}}
	box := "SELECT id FROM event WHERE geom_3857 && ST_MakeEnvelope(12690000, 2570000, 12690100, 2570100, 3857)"
	if plan := explain(city, box); strings.Contains(plan, "event_grid_code_idx") || strings.Contains(plan, "in_units") {
		t.Errorf("a whole-area read in a box walks the jurisdiction's range:\n%s", plan)
	}
	// A street is wide (0707): its range filters what the box finds.
	street := scope.Scope{UserID: 3, Units: []string{"440304002"}, Caps: []string{scope.CanRows}}
	if plan := explain(street, box); strings.Contains(plan, "event_grid_code_idx") {
		t.Errorf("a street's read in a box walks the street's range:\n%s", plan)
	}
}

// TestBatchCarriesIdentity: the tile path sets the identity and runs its query
// in one batch, one implicit transaction; the next statement on the same
// connection has no identity again.
func TestBatchCarriesIdentity(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	if err := fixture.New().Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	conn, err := app.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	b := &pgx.Batch{}
	if err := (scope.Scope{UserID: 1, Units: []string{"440304002001001"}, Caps: []string{scope.CanRows}}).Queue(b); err != nil {
		t.Fatal(err)
	}
	b.Queue("SELECT count(*) FROM event")
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		t.Fatal(err)
	}
	var inGrid int64
	if err := br.QueryRow().Scan(&inGrid); err != nil {
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, e := range fixture.New().Events {
		if strings.HasPrefix(e.GridCode, "440304002001001") {
			want++
		}
	}
	if inGrid != want || want == 0 {
		t.Errorf("batch: %d events, want %d", inGrid, want)
	}
	var after int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Errorf("after the batch the connection still reads %d events: the identity outlived its transaction", after)
	}
	// Begin sends the identity as literals with BEGIN: a value that could break
	// out of one is refused.
	for _, bad := range []string{"4403'); SELECT 1; --", `4403\`, "4403\x00"} {
		if tx, err := scope.Begin(ctx, app, scope.Scope{UserID: 1, Units: []string{bad}, Caps: []string{scope.CanRows}}); err == nil {
			tx.Rollback(ctx)
			t.Errorf("Begin with unit %q: no error", bad)
		}
	}
	tx, err := scope.Begin(ctx, app, scope.Scope{UserID: 1, Units: []string{"440304002001001"}, Caps: []string{scope.CanRows}})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n int64
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&n); err != nil || n != want {
		t.Errorf("Begin: %d events (%v), want %d", n, err, want)
	}
}

func TestEnvelope(t *testing.T) {
	for _, tc := range []struct {
		units  []string
		prefix string
		exact  bool
		ok     bool
	}{
		{nil, "", false, false},
		{[]string{""}, "", true, true},
		{[]string{"440304", ""}, "", true, true},
		{[]string{"440304001"}, "440304001", true, true},
		{[]string{"440304001", "440304002001"}, "44030400", false, true},
		{[]string{"440304001", "440304001"}, "440304001", true, true},
		{[]string{"440304", "SF0000"}, "", false, true},
	} {
		p, e, ok := scope.Scope{Units: tc.units}.Envelope()
		if p != tc.prefix || e != tc.exact || ok != tc.ok {
			t.Errorf("Envelope(%q) = %q %v %v, want %q %v %v", tc.units, p, e, ok, tc.prefix, tc.exact, tc.ok)
		}
	}
	if k1, k2 := (scope.Scope{Units: []string{"a", "b"}, Caps: []string{"x"}}).Key(), (scope.Scope{Units: []string{"b", "a"}, Caps: []string{"x"}}).Key(); k1 != k2 {
		t.Error("Key depends on the order of units")
	}
	if slices.Contains([]string{scope.System().Key()}, (scope.Scope{Units: []string{"440304"}, Caps: scope.System().Caps}).Key()) {
		t.Error("a district's key equals the whole city's")
	}
}
