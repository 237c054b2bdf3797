package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	qry "github.com/onegrid/onegrid/query"
)

// Limits of the address endpoints.
const (
	addressChildrenLimit = 200
	addressSearchDefault = 20
	addressSearchMax     = 100
	addressNearDefault   = 10
	addressNearMax       = 1000
	addressNearRadius    = 200.0
)

// handleAddress answers GET /api/v1/addresses/{id}[?children=N].
func (s *Server) handleAddress(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "children"); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, BadRequest("id", "must be a positive integer address id"))
		return
	}
	limit, err := qry.ParseInt("children", q.Get("children"), 50, 0, addressChildrenLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var a *qry.AddressDetail
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		a, err = q.Address(ctx, id, limit)
		return err
	})
	if err != nil {
		if errors.Is(err, qry.ErrNotFound) {
			err = NotFound("address " + strconv.FormatInt(id, 10))
		}
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	writeJSON(w, http.StatusOK, a)
}

// handleAddressSearch answers GET /api/v1/addresses?q=&limit=.
func (s *Server) handleAddressSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "q", "limit"); err != nil {
		s.fail(w, r, err)
		return
	}
	text, err := qry.ParseSearchText("q", q.Get("q"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := qry.ParseInt("limit", q.Get("limit"), addressSearchDefault, 1, addressSearchMax)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var hits []qry.SearchHit
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		hits, err = q.SearchAddresses(ctx, text, limit)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(hits))
	writeJSON(w, http.StatusOK, map[string]any{"q": text, "addresses": hits})
}

// handleAddressNear answers GET /api/v1/addresses/near?lon=&lat=&radius=&limit=.
func (s *Server) handleAddressNear(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "lon", "lat", "radius", "limit"); err != nil {
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
	radius, err := qry.ParseRadius("radius", q.Get("radius"), addressNearRadius, qry.MaxLocateRadius)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := qry.ParseInt("limit", q.Get("limit"), addressNearDefault, 1, addressNearMax)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var hits []qry.NearHit
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		hits, err = q.NearAddresses(ctx, lon, lat, radius, limit)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(hits))
	writeJSON(w, http.StatusOK, map[string]any{"lon": lon, "lat": lat, "radius_m": radius, "addresses": hits})
}
