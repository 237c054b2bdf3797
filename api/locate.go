package api

import (
	"context"
	"net/http"
	"time"

	qry "github.com/onegrid/onegrid/query"
)

// handleLocate answers GET /api/v1/locate?lon=&lat=[&at=][&radius=].
func (s *Server) handleLocate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "lon", "lat", "at", "radius"); err != nil {
		s.fail(w, r, err)
		return
	}
	lon, err := qry.ParseLon("lon", q.Get("lon"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lat, err := qry.ParseLat("lat", q.Get("lat"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var at time.Time
	if v := q.Get("at"); v != "" {
		if at, err = qry.ParseTime("at", v); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	radius, err := qry.ParseRadius("radius", q.Get("radius"), qry.DefaultLocateRadius, qry.MaxLocateRadius)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var loc *qry.Location
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		loc, err = q.Locate(ctx, lon, lat, at, radius)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	writeLocation(w, loc)
}
