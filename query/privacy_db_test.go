package query_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

// TestFlatsInTheDatabase: with row-level security alone (the application
// role, no query of package query), a flat's address is read only by callers
// who serve households; address_shown gives the others a room's building, and
// nothing outside the jurisdiction; household_sealed says which households
// have sealed values, to those who serve them.
func TestFlatsInTheDatabase(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	city := fixture.New()
	if err := city.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	const gridA = "440304002001001"
	var room, other fixture.Address
	rooms, roomsA := 0, 0
	for _, a := range city.Addresses {
		if a.Level != "room" {
			continue
		}
		rooms++
		if strings.HasPrefix(a.GridCode, gridA) {
			roomsA++
			room = a
		} else {
			other = a
		}
	}
	planner := scope.Scope{UserID: 1, Units: []string{"440304"}, Caps: []string{scope.CanRows, scope.CanAggregates}}
	worker := scope.Scope{UserID: 2, Units: []string{gridA}, Caps: []string{scope.CanRows, scope.CanHouseholds, scope.CanPersonal}}
	var hA, hOther int64
	for _, h := range city.Households {
		if h.AddressID == room.ID {
			hA = h.ID
		}
		if h.AddressID == other.ID {
			hOther = h.ID
		}
	}
	for _, tc := range []struct {
		name string
		sc   scope.Scope
		sql  string
		args []any
		want int64
	}{
		{"planner reads flats", planner, `SELECT count(*) FROM address WHERE level IN ('unit', 'floor', 'room')`, nil, 0},
		{"planner reads buildings", planner, `SELECT count(*) FROM address WHERE level = 'building'`, nil, int64(len(city.Buildings))},
		{"worker reads the grid's flats", worker, `SELECT count(*) FROM address WHERE level = 'room'`, nil, int64(roomsA)},
		{"everything with households", scope.System(), `SELECT count(*) FROM address WHERE level = 'room'`, nil, int64(rooms)},
		{"planner: a room shows its building", planner, `SELECT address_shown($1)`, []any{room.ID}, room.ParentID},
		{"planner: a building shows itself", planner, `SELECT address_shown($1)`, []any{room.ParentID}, room.ParentID},
		{"worker: a room elsewhere shows nothing", worker, `SELECT coalesce(address_shown($1), 0)`, []any{other.ID}, 0},
		{"worker: sealed values on record", worker, `SELECT household_sealed($1)::int`, []any{hA}, 1},
		{"worker: not of a household elsewhere", worker, `SELECT household_sealed($1)::int`, []any{hOther}, 0},
		{"planner: not at all", planner, `SELECT household_sealed($1)::int`, []any{hA}, 0},
	} {
		if got := scalar(t, app, tc.sc, tc.sql, tc.args...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func scalar(t *testing.T, app *pgxpool.Pool, sc scope.Scope, sql string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := scope.Begin(ctx, app, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var n int64
	if err := tx.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
