package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/internal/fixture"
	"github.com/onegrid/onegrid/internal/pgtest"
	"github.com/onegrid/onegrid/query"
)

// TestPresenceFollowsWrites: an event aggregate lists the groups with households
// (kept in memory per grouping, read again when households or units change),
// so a household moving into a new H3 cell lists the cell, as suppressed, and
// its leaving drops it again.
func TestPresenceFollowsWrites(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	city := fixture.New()
	if err := city.Load(ctx, db); err != nil {
		t.Fatal(err)
	}
	s := query.New(db, query.Config{Now: func() time.Time { return city.Now }})
	a := &query.Aggregate{GroupBy: "h3", H3Res: 12, Metric: "events", Category: "020101",
		Window: query.Window{From: city.Now.AddDate(0, -1, 0), To: city.Now}}
	p := [2]float64{114.0040, 22.5180} // inside micro-grid 44030400100100101, away from its buildings
	c, _ := geo.CellAt(p[0], p[1], 12)
	cell := geo.CellString(c)
	listed := func(when string, want bool) {
		t.Helper()
		res, err := s.Aggregate(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range res.Groups {
			if g.Key == cell {
				if !want || !g.Suppressed {
					t.Errorf("%s: cell %s listed as %+v, want absent: %v", when, cell, g, !want)
				}
				return
			}
		}
		if want {
			t.Errorf("%s: cell %s not listed, want it suppressed", when, cell)
		}
	}
	listed("before", false)
	var id int64
	if err := db.QueryRow(ctx, `WITH a AS (
		INSERT INTO address (level, full_text, admin_code, grid_code, geom, h3)
		VALUES ('room', '测试地址', '440304001001', '44030400100100101', ST_Point($1, $2, 4326), $3) RETURNING id)
		INSERT INTO household (address_id, members, h3, admin_code, grid_code)
		SELECT id, 1, $3, '440304001001', '44030400100100101' FROM a RETURNING id`, p[0], p[1], c).Scan(&id); err != nil {
		t.Fatal(err)
	}
	listed("after a household moved in", true)
	if _, err := db.Exec(ctx, `DELETE FROM household WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	listed("after it left", false)
}
