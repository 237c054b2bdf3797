package api

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	qry "github.com/onegrid/onegrid/query"
)

// Limits of the households route.
const (
	householdsDefault = 100
	householdsMax     = 1000
)

// handleHouseholds answers GET /api/v1/households?unit=&tag=&limit=&cursor=:
// the households of a unit in the caller's jurisdiction, for those who serve
// them (capability households): flat, members, tags, personal fields masked as
// stored. Keyset-paged by id.
func (s *Server) handleHouseholds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "unit", "tag", "limit", "cursor"); err != nil {
		s.fail(w, r, err)
		return
	}
	unit, err := qry.ParseCode("unit", q.Get("unit"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hq := qry.HouseholdQuery{Unit: unit}
	if v, ok := q["tag"]; ok {
		tag := strings.TrimSpace(v[0])
		if tag == "" || utf8.RuneCountInString(tag) > 32 || !utf8.ValidString(tag) || strings.ContainsRune(tag, 0) {
			s.fail(w, r, BadRequest("tag", "want a tag of 1..32 characters"))
			return
		}
		hq.Tag = tag
	}
	if hq.Limit, err = qry.ParseInt("limit", q.Get("limit"), householdsDefault, 1, householdsMax); err != nil {
		s.fail(w, r, err)
		return
	}
	if hq.After, err = qry.ParseHouseholdCursor("cursor", q.Get("cursor"), hq.Fingerprint()); err != nil {
		s.fail(w, r, err)
		return
	}
	var page *qry.HouseholdPage
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		page, err = q.Households(ctx, hq)
		return err
	})
	if errors.Is(err, qry.ErrNotFound) {
		err = NotFound("unit " + strconv.Quote(unit))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if page.More {
		c := qry.HouseholdCursor(hq, page.Households[len(page.Households)-1].ID)
		next = &c
	}
	s.rows(r, len(page.Households))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"unit": unit, "tag": hq.Tag, "households": page.Households, "next_cursor": next})
}

// handleUnmask answers POST /api/v1/households/{id}/unmask {"fields": [...],
// "reason": "..."}: the clear personal values of a household in the caller's
// jurisdiction, for callers allowed to unmask (capability personal). The
// database writes the audit row (who, when, which household, which fields,
// why) in the same transaction; the values are never logged.
func (s *Server) handleUnmask(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query()); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, BadRequest("id", "must be a positive integer household id"))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.fail(w, r, BadRequest("Content-Type", "want application/json"))
		return
	}
	body, err := readBody(w, r, qry.MaxUnmaskBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := qry.ParseUnmaskRequest(body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.cfg.DataKey == nil {
		s.fail(w, r, qry.ErrNoDataKey)
		return
	}
	var out *qry.Unmasked
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		out, err = q.Unmask(ctx, s.cfg.DataKey, id, req, RequestID(r.Context()))
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
