package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	qry "github.com/onegrid/onegrid/query"
)

// OGC API – Features Part 1 Core at /ogc: landing page, conformance, collections
// and items as GeoJSON, so that GDAL's OAPIF driver and QGIS can open the layers.

const (
	ogcDefaultLimit = 10
	ogcMaxLimit     = 10000
	crs84           = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	mediaGeoJSON    = "application/geo+json"
	mediaJSON       = "application/json"
	mediaOpenAPI    = "application/vnd.oai.openapi+json;version=3.0"
)

// ogcConformance are the conformance classes implemented.
var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}

func (s *Server) handleOGCLanding(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), "f"); err != nil {
		s.fail(w, r, err)
		return
	}
	base := s.cfg.BaseURL
	writeJSON(w, http.StatusOK, map[string]any{
		"title":       "onegrid",
		"description": "Standard addresses, buildings, grids, events and admin areas of the city grid-governance platform, as OGC API – Features.",
		"links": []link{
			{Rel: "self", Type: mediaJSON, Title: "this document", Href: base + "/ogc"},
			{Rel: "service-desc", Type: mediaOpenAPI, Title: "the API definition", Href: base + "/api/v1/openapi.json"},
			{Rel: "conformance", Type: mediaJSON, Title: "conformance classes", Href: base + "/ogc/conformance"},
			{Rel: "data", Type: mediaJSON, Title: "collections", Href: base + "/ogc/collections"},
		},
	})
}

func (s *Server) handleOGCConformance(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), "f"); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conformsTo": ogcConformance})
}

// ogcCollection describes collection c with its extent.
func (s *Server) ogcCollection(r *http.Request, c *qry.Collection) (map[string]any, error) {
	var ext qry.Extent
	err := s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		ext, err = q.Extent(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	base := s.cfg.BaseURL + "/ogc/collections/" + c.ID
	extent := map[string]any{}
	if ext.BBox != nil {
		extent["spatial"] = map[string]any{"bbox": [][]float64{{ext.BBox.MinLon, ext.BBox.MinLat, ext.BBox.MaxLon, ext.BBox.MaxLat}}, "crs": crs84}
	}
	if c.Temporal != "" {
		interval := []*string{nil, nil}
		if ext.From != nil {
			f := ext.From.UTC().Format(time.RFC3339)
			interval[0] = &f
		}
		if ext.To != nil {
			t := ext.To.UTC().Format(time.RFC3339)
			interval[1] = &t
		}
		extent["temporal"] = map[string]any{"interval": [][]*string{interval}, "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
	}
	return map[string]any{
		"id":          c.ID,
		"title":       c.Title,
		"description": c.Description,
		"itemType":    "feature",
		"crs":         []string{crs84},
		"extent":      extent,
		"links": []link{
			{Rel: "self", Type: mediaJSON, Href: base},
			{Rel: "items", Type: mediaGeoJSON, Title: c.Title, Href: base + "/items"},
		},
	}, nil
}

func (s *Server) handleOGCCollections(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), "f"); err != nil {
		s.fail(w, r, err)
		return
	}
	var cols []map[string]any
	for _, c := range qry.Collections() {
		m, err := s.ogcCollection(r, c)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cols = append(cols, m)
	}
	s.rows(r, len(cols))
	writeJSON(w, http.StatusOK, map[string]any{
		"links":       []link{{Rel: "self", Type: mediaJSON, Href: s.cfg.BaseURL + "/ogc/collections"}},
		"collections": cols,
	})
}

func (s *Server) ogcLookup(w http.ResponseWriter, r *http.Request) *qry.Collection {
	c := qry.CollectionByID(r.PathValue("id"))
	if c == nil {
		s.fail(w, r, NotFound("collection "+strconv.Quote(r.PathValue("id"))))
	}
	return c
}

func (s *Server) handleOGCCollection(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), "f"); err != nil {
		s.fail(w, r, err)
		return
	}
	c := s.ogcLookup(w, r)
	if c == nil {
		return
	}
	m, err := s.ogcCollection(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// handleOGCItems answers /ogc/collections/{id}/items with bbox, limit, offset,
// datetime and property filters (?status=closed), numberMatched and next/prev links.
func (s *Server) handleOGCItems(w http.ResponseWriter, r *http.Request) {
	c := s.ogcLookup(w, r)
	if c == nil {
		return
	}
	q := r.URL.Query()
	known := []string{"f", "bbox", "bbox-crs", "limit", "offset", "datetime", "grid", "admin"}
	for _, f := range c.Filters {
		known = append(known, f.Param)
	}
	if err := checkParams(q, known...); err != nil {
		s.fail(w, r, err)
		return
	}
	if v := q.Get("bbox-crs"); v != "" && v != crs84 {
		s.fail(w, r, BadRequest("bbox-crs", "only "+crs84+" is supported"))
		return
	}
	fq := &qry.FeatureQuery{Collection: c, Count: true}
	if err := parseFeatureFilters(q, c, fq); err != nil {
		s.fail(w, r, err)
		return
	}
	var err error
	if fq.Limit, err = qry.ParseInt("limit", q.Get("limit"), ogcDefaultLimit, 1, ogcMaxLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	if fq.Offset, err = qry.ParseInt("offset", q.Get("offset"), 0, 0, 100_000_000); err != nil {
		s.fail(w, r, err)
		return
	}
	if v := q.Get("datetime"); v != "" {
		win, instant, err := qry.ParseDatetime("datetime", v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch {
		case c.Temporal != "":
			fq.Window, fq.ClosedEnd = win, true
		case c.ID == "grids" && instant:
			fq.At = win.From
		case c.ID == "grids":
			fq.Window, fq.AllTimes = win, true
		}
		// Collections without time ignore datetime, as the standard allows.
	}
	var page *qry.FeaturePage
	err = s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		page, err = q.Features(ctx, fq)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(page.Features))
	self := s.cfg.BaseURL + r.URL.EscapedPath()
	links := []link{{Rel: "self", Type: mediaGeoJSON, Href: self + "?" + q.Encode()}}
	if page.More {
		nq := cloneValues(q)
		nq.Set("offset", strconv.Itoa(fq.Offset+fq.Limit))
		nq.Set("limit", strconv.Itoa(fq.Limit))
		links = append(links, link{Rel: "next", Type: mediaGeoJSON, Href: self + "?" + nq.Encode()})
	}
	if fq.Offset > 0 {
		pq := cloneValues(q)
		pq.Set("offset", strconv.Itoa(max(0, fq.Offset-fq.Limit)))
		pq.Set("limit", strconv.Itoa(fq.Limit))
		links = append(links, link{Rel: "prev", Type: mediaGeoJSON, Href: self + "?" + pq.Encode()})
	}
	links = append(links, link{Rel: "collection", Type: mediaJSON, Href: s.cfg.BaseURL + "/ogc/collections/" + c.ID})
	writeFeatureCollection(w, page.Features, map[string]any{
		"numberMatched":  page.NumberMatched,
		"numberReturned": len(page.Features),
		"timeStamp":      s.cfg.Now().UTC().Format(time.RFC3339),
		"links":          links,
	})
}

func (s *Server) handleOGCItem(w http.ResponseWriter, r *http.Request) {
	if err := checkParams(r.URL.Query(), "f"); err != nil {
		s.fail(w, r, err)
		return
	}
	c := s.ogcLookup(w, r)
	if c == nil {
		return
	}
	id := r.PathValue("featureId")
	var f json.RawMessage
	err := s.query(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		f, err = q.Feature(ctx, c, id)
		return err
	})
	if err != nil {
		if errors.Is(err, qry.ErrNotFound) {
			err = NotFound("feature " + strconv.Quote(id) + " of " + c.ID)
		}
		s.fail(w, r, err)
		return
	}
	s.rows(r, 1)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(f, &m); err != nil {
		s.fail(w, r, err)
		return
	}
	base := s.cfg.BaseURL + "/ogc/collections/" + c.ID
	m["links"], _ = json.Marshal([]link{
		{Rel: "self", Type: mediaGeoJSON, Href: base + "/items/" + url.PathEscape(id)},
		{Rel: "collection", Type: mediaJSON, Href: base},
	})
	w.Header().Set("Content-Type", mediaGeoJSON)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(m)
}
