package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/clock"
	qry "github.com/onegrid/onegrid/query"
)

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// overview is what the command-centre page needs to start: the extent of the
// data, the admin hierarchy (names for breadcrumbs and drill-down) and the event
// taxonomy (the category filter). All of it is small: a city has about a thousand
// admin units and a few hundred categories.
type overview struct {
	// Now is the server's clock: the page counts its windows ("today", the last
	// 7 or 30 days) and event ages from it, never from the browser's clock.
	Now time.Time `json:"now"`
	// Window is the default window of the panel and the event layers: the
	// DefaultLoadWindow before Now.
	Window qry.Window `json:"window"`
	// TimeZone is the zone of the screen's calendar days, as a UTC offset in
	// seconds (China time: 28800).
	TimeZoneOffset int `json:"time_zone_offset"`
	// Bounds is [minlon, minlat, maxlon, maxlat] of the admin areas (WGS-84), null
	// when there are none.
	Bounds     *[4]float64    `json:"bounds"`
	Units      []overviewUnit `json:"units"`
	Categories []category     `json:"categories"`
	// Tags are the household tags in use (for tagged-people figures).
	Tags []string `json:"tags"`
}

type overviewUnit struct {
	Code   string  `json:"code"`
	Level  string  `json:"level"`
	Name   string  `json:"name"`
	Parent *string `json:"parent_code"`
}

type category struct {
	Code       string  `json:"code"`
	Level      int     `json:"level"`
	Parent     *string `json:"parent_code"`
	Name       string  `json:"name"`
	NameEn     string  `json:"name_en"`
	LimitHours int     `json:"time_limit_hours"`
}

const (
	overviewBoundsSQL = `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_Extent(geom) AS e FROM admin_area) x WHERE e IS NOT NULL`
	overviewUnitsSQL = `SELECT code, level, name, parent_code FROM admin_area
		WHERE level IN ('district', 'street', 'community') ORDER BY code`
	overviewCategoriesSQL = `SELECT code, level, parent_code, name, name_en, time_limit_hours
		FROM event_category ORDER BY code`
	overviewTagsSQL = `SELECT DISTINCT tag FROM household_tag_rollup ORDER BY tag`
)

// handleOverview serves GET /api/v1/overview: its four queries go in one round trip.
func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now().UTC()
	_, offset := now.In(clock.China).Zone()
	out := overview{Now: now, Window: qry.Window{}.OrLast(now, qry.DefaultLoadWindow), TimeZoneOffset: offset,
		Units: []overviewUnit{}, Categories: []category{}, Tags: []string{}}
	var b [4]float64
	batch := &pgx.Batch{}
	batch.Queue(overviewBoundsSQL).QueryRow(func(row pgx.Row) error {
		switch err := row.Scan(&b[0], &b[1], &b[2], &b[3]); {
		case err == nil:
			out.Bounds = &b
		case !isNoRows(err):
			return err
		}
		return nil
	})
	batch.Queue(overviewUnitsSQL).Query(func(rows pgx.Rows) error {
		var err error
		out.Units, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (overviewUnit, error) {
			var u overviewUnit
			err := row.Scan(&u.Code, &u.Level, &u.Name, &u.Parent)
			return u, err
		})
		return err
	})
	batch.Queue(overviewCategoriesSQL).Query(func(rows pgx.Rows) error {
		var err error
		out.Categories, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (category, error) {
			var c category
			err := row.Scan(&c.Code, &c.Level, &c.Parent, &c.Name, &c.NameEn, &c.LimitHours)
			return c, err
		})
		return err
	})
	batch.Queue(overviewTagsSQL).Query(func(rows pgx.Rows) error {
		var err error
		out.Tags, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := s.inScope(r, func(ctx context.Context, tx pgx.Tx) error { return tx.SendBatch(ctx, batch).Close() }); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, out)
}
