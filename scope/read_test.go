package scope_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/scope"
)

// TestReadCarriesIdentity: every statement sent through Read sees the caller's
// jurisdiction, whichever of Exec, Query, QueryRow and SendBatch sends it, and
// the identity ends with the statement: the same connection reads nothing
// afterwards.
func TestReadCarriesIdentity(t *testing.T) {
	owner, app := pgtest.Pair(t)
	ctx := context.Background()
	f := fixture.New()
	if err := f.Load(ctx, owner); err != nil {
		t.Fatal(err)
	}
	const grid = "440304002001001"
	var want int64
	for _, e := range f.Events {
		if strings.HasPrefix(e.GridCode, grid) {
			want++
		}
	}
	if want == 0 || want == int64(len(f.Events)) {
		t.Fatalf("fixture: %d of %d events in grid %s; the test needs some inside and some outside", want, len(f.Events), grid)
	}
	conn, err := app.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	sc := scope.Scope{UserID: 1, Units: []string{grid}, Caps: []string{scope.CanRows}}
	err = scope.Read(ctx, conn, sc, func(db scope.ReadDB) error {
		var n int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&n); err != nil {
			return err
		}
		if n != want {
			t.Errorf("QueryRow: %d events, want %d", n, want)
		}
		rows, err := db.Query(ctx, "SELECT grid_code FROM event")
		if err != nil {
			return err
		}
		codes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, c := range codes {
			if !strings.HasPrefix(c, grid) {
				t.Errorf("Query: event of grid %s outside %s", c, grid)
			}
		}
		if int64(len(codes)) != want {
			t.Errorf("Query: %d events, want %d", len(codes), want)
		}
		// Rows read to the end free the connection without Close, as pgx's do:
		// the next statement on it would otherwise find it busy.
		rows, err = db.Query(ctx, "SELECT id FROM event")
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			return err
		}
		tag, err := db.Exec(ctx, "SELECT id FROM event")
		if err != nil {
			return err
		}
		if tag.RowsAffected() != want {
			t.Errorf("Exec: %d rows, want %d", tag.RowsAffected(), want)
		}
		b := &pgx.Batch{}
		b.Queue("SELECT count(*) FROM event")
		b.Queue("SELECT app_setting('units')")
		br := db.SendBatch(ctx, b)
		var units string
		if err := br.QueryRow().Scan(&n); err != nil {
			return err
		}
		if err := br.QueryRow().Scan(&units); err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
		if n != want || !strings.Contains(units, grid) {
			t.Errorf("SendBatch: %d events with units %q, want %d with %s", n, units, want, grid)
		}
		// FreshPlan has its statement planned afresh, that statement only.
		var mode string
		for _, c := range []struct {
			args []any
			want string
		}{{[]any{scope.FreshPlan}, "force_custom_plan"}, {nil, "auto"}} {
			if err := db.QueryRow(ctx, "SELECT current_setting('plan_cache_mode')", c.args...).Scan(&mode); err != nil {
				return err
			}
			if mode != c.want {
				t.Errorf("plan_cache_mode with %v: %s, want %s", c.args, mode, c.want)
			}
		}
		// An error ends its statement only: the next one runs.
		var pgErr *pgconn.PgError
		if err := db.QueryRow(ctx, "SELECT 1/0").Scan(&n); !errors.As(err, &pgErr) || pgErr.Code != "22012" {
			t.Errorf("division by zero: %v", err)
		}
		return db.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	var after int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Errorf("after Read the connection still reads %d events: the identity outlived its statement", after)
	}
	// Outside Read, FreshPlan is a query option that changes nothing.
	if err := conn.QueryRow(ctx, "SELECT $1::int", scope.FreshPlan, 7).Scan(&after); err != nil || after != 7 {
		t.Errorf("FreshPlan on a connection: %d, %v", after, err)
	}
	// The connection serves the next caller's Read as before.
	err = scope.Read(ctx, conn, sc, func(db scope.ReadDB) error {
		return db.QueryRow(ctx, "SELECT count(*) FROM event").Scan(&after)
	})
	if err != nil || after != want {
		t.Errorf("second Read: %d events, %v; want %d", after, err, want)
	}
}

// TestIdentityFields: each field of the identity reads back in SQL as the
// scope set it, through every path that sets it (Begin's literal statement,
// Read's and Apply's parameters), and a value that could not be read back
// apart is refused before anything is sent.
func TestIdentityFields(t *testing.T) {
	_, app := pgtest.Pair(t)
	ctx := context.Background()
	sc := scope.Scope{UserID: 42, User: "li.wei-2", Units: []string{"440304002001001", "440304003"},
		Caps: []string{scope.CanRows, scope.CanEvents}, Duties: []string{"13", "0804"}}
	const q = `SELECT app_user_id()::text, app_setting('user'), app_setting('caps'), app_setting('units'),
		app_scope(), app_exact()::text, app_setting('duties'), current_user::text`
	want := []string{"42", "li.wei-2", ",rows,events,", ",440304002001001,440304003,", "44030400", "false", ",13,0804,", scope.WideRole}
	read := func(row pgx.Row) []string {
		got := make([]string, len(want))
		ptrs := make([]any, len(got))
		for i := range got {
			ptrs[i] = &got[i]
		}
		if err := row.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(path string, got []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: identity read back as %q, want %q", path, got, want)
		}
	}
	if err := scope.Run(ctx, app, sc, func(tx pgx.Tx) error { check("Begin", read(tx.QueryRow(ctx, q))); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := scope.Read(ctx, app, sc, func(db scope.ReadDB) error { check("Read", read(db.QueryRow(ctx, q))); return nil }); err != nil {
		t.Fatal(err)
	}
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := scope.Apply(ctx, tx, sc); err != nil {
		t.Fatal(err)
	}
	check("Apply", read(tx.QueryRow(ctx, q)))

	for _, bad := range []scope.Scope{
		{UserID: 1, User: "a|b", Units: []string{""}},
		{UserID: 1, User: "a", Units: []string{"4403|04"}},
		{UserID: 1, User: "a", Units: []string{"440304"}, Duties: []string{"13'"}},
		{UserID: 1, User: "a\x00", Units: []string{"440304"}},
	} {
		ran := false
		err := scope.Read(ctx, app, bad, func(db scope.ReadDB) error {
			var n int
			err := db.QueryRow(ctx, "SELECT 1").Scan(&n)
			ran = err == nil
			return err
		})
		if err == nil || ran {
			t.Errorf("%+v: Read ran (err %v), want the identity refused", bad, err)
		}
		if err := scope.Run(ctx, app, bad, func(pgx.Tx) error { ran = true; return nil }); err == nil || ran {
			t.Errorf("%+v: Run ran (err %v), want the identity refused", bad, err)
		}
	}
}
