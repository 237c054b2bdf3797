package tiles

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

// TestTileQueriesUseIndexes: under row-level security, as the application role
// and with the tile pool's settings, the per-tile queries of the row layers find
// their rows through the spatial index (or their ids), not through the policy's code
// range or the whole table: whole-area callers, a street and a grid alike (the
// city, wide and narrow roles, schema/0702 and 0707). Sequential scans are
// priced out here, so that a plan that cannot use the index (geometry && not
// LEAKPROOF, an envelope the planner does not fold) shows as one on the
// fixture's small tables too.
func TestTileQueriesUseIndexes(t *testing.T) {
	conn := pgtest.ConnString(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, pgtest.AppConnString(t, conn))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	for _, set := range []string{"SET plan_cache_mode = force_generic_plan", "SET enable_bitmapscan = off",
		"SET enable_seqscan = off", "SET max_parallel_workers_per_gather = 0", "SET jit = off"} {
		if _, err := db.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	events, addresses, coarse := layerByName["events"], layerByName["addresses"], layerByName["events"]
	n := 0
	for _, sc := range []scope.Scope{
		{UserID: 1, User: "t", Units: []string{""}, Caps: []string{scope.CanRows}},
		{UserID: 1, User: "t", Units: []string{"440304001"}, Caps: []string{scope.CanRows}},
		{UserID: 1, User: "t", Units: []string{"440304001001001", "440304002"}, Caps: []string{scope.CanRows}},
		{UserID: 1, User: "t", Units: []string{"440304002001001"}, Caps: []string{scope.CanRows}},
	} {
		b := &pgx.Batch{}
		if err := sc.Queue(b); err != nil {
			t.Fatal(err)
		}
		if err := db.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, sql, index string
			cond, args       string // the index condition the plan must have
		}{
			{"events", events.sql, "event_geom_idx", "Index Cond: (geom && ", "15, 26763, 14277, NULL, NULL, NULL, NULL"},
			{"addresses", addresses.sql, "address_doorplate_3857_idx", "Index Cond: (geom_3857 && ", "16, 53526, 28554"},
			{"events_coarse", coarse.coarseSQL, "event_pkey", "Index Cond: (id = ANY ", "NULL, NULL, NULL, NULL, '{1,100}'"},
		} {
			// The generic plan the tile pool runs (a prepared statement).
			n++
			name := fmt.Sprintf("plan%d", n)
			if _, err := db.Exec(ctx, "PREPARE "+name+" AS "+strings.TrimRight(strings.TrimSpace(tc.sql), ";")); err != nil {
				t.Fatal(err)
			}
			rows, err := db.Query(ctx, "EXPLAIN EXECUTE "+name+"("+tc.args+")", pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			p := strings.Join(plan, "\n")
			if !strings.Contains(p, "Index Scan using "+tc.index) || !strings.Contains(p, tc.cond) ||
				strings.Contains(p, "Seq Scan on event") || strings.Contains(p, "Seq Scan on address") {
				t.Errorf("units %v: %s does not find its rows through %s:\n%s", sc.Units, tc.name, tc.index, p)
			}
		}
	}
}
