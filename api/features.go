package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	qry "github.com/onegrid/onegrid/query"
)

// Limits of /api/v1/features.
const (
	featuresDefaultLimit = 100
	featuresMaxLimit     = 10000
	maxPolygonBody       = 4 << 20
)

// featureCommonParams are the parameters every collection of /api/v1/features takes.
var featureCommonParams = []string{"bbox", "grid", "admin", "limit", "cursor"}

// parseFeatureFilters reads the spatial and attribute filters shared by
// /api/v1/features and /ogc items: bbox, grid, admin and c's attribute filters.
func parseFeatureFilters(q url.Values, c *qry.Collection, fq *qry.FeatureQuery) error {
	if v := q.Get("bbox"); v != "" {
		b, err := qry.ParseBBox("bbox", v)
		if err != nil {
			return err
		}
		fq.BBox = &b
	}
	for _, p := range []struct {
		param string
		dst   *string
	}{{"grid", &fq.Grid}, {"admin", &fq.Admin}} {
		if v := q.Get(p.param); v != "" {
			code, err := qry.ParseCode(p.param, v)
			if err != nil {
				return err
			}
			*p.dst = code
		}
	}
	if fq.Grid != "" && c.GridCol == "" {
		return BadRequest("grid", "collection "+c.ID+" has no grid")
	}
	fq.Attr = map[string][]string{}
	for _, f := range c.Filters {
		if v, ok := q[f.Param]; ok {
			vals, err := c.ParseAttr(f.Param, v[0])
			if err != nil {
				return err
			}
			fq.Attr[f.Param] = vals
		}
	}
	return nil
}

// featureParams lists the parameters collection c accepts on /api/v1/features.
func featureParams(c *qry.Collection) []string {
	p := append([]string{}, featureCommonParams...)
	for _, f := range c.Filters {
		p = append(p, f.Param)
	}
	if c.Temporal != "" {
		p = append(p, "from", "to")
	}
	if c.ID == "grids" {
		p = append(p, "at")
	}
	return p
}

// handleFeatures answers GET and POST /api/v1/features/{collection}: a page of
// GeoJSON features in a bbox, grid, admin unit or (POST) the body's polygon.
func (s *Server) handleFeatures(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("collection")
	c := qry.CollectionByID(name)
	if c == nil || !contains(qry.FeatureCollections, name) {
		s.fail(w, r, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "collection " + strconv.Quote(name) + " not found; collections: buildings, addresses, events, grids"})
		return
	}
	q := r.URL.Query()
	if err := checkParams(q, featureParams(c)...); err != nil {
		s.fail(w, r, err)
		return
	}
	fq := &qry.FeatureQuery{Collection: c}
	if err := parseFeatureFilters(q, c, fq); err != nil {
		s.fail(w, r, err)
		return
	}
	var err error
	if c.Temporal != "" {
		if fq.Window, err = qry.ParseWindow("from", q.Get("from"), "to", q.Get("to")); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if v := q.Get("at"); v != "" {
		if fq.At, err = qry.ParseTime("at", v); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if fq.Limit, err = qry.ParseInt("limit", q.Get("limit"), featuresDefaultLimit, 1, featuresMaxLimit); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		body, err := readBody(w, r, maxPolygonBody)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		area, err := qry.ParsePolygon("body", bytes.TrimSpace(body), s.q.Config().Polygon)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		fq.Area = &area
	}
	fp := fq.Fingerprint()
	cur, err := qry.ParseCursor("cursor", q.Get("cursor"), fp)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fq.After = cur.After
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
	var next *string
	var links []link
	if page.More {
		c := qry.Cursor{After: page.LastKey, Query: fp}.Encode()
		next = &c
		nq := cloneValues(q)
		nq.Set("cursor", c)
		links = append(links, link{Rel: "next", Type: "application/geo+json", Href: s.cfg.BaseURL + r.URL.EscapedPath() + "?" + nq.Encode(), Method: r.Method})
	}
	writeFeatureCollection(w, page.Features, map[string]any{
		"numberReturned": len(page.Features),
		"next_cursor":    next,
		"links":          links,
	})
}

// link is a hypermedia link.
type link struct {
	Rel    string `json:"rel"`
	Type   string `json:"type,omitempty"`
	Title  string `json:"title,omitempty"`
	Href   string `json:"href"`
	Method string `json:"method,omitempty"`
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// writeFeatureCollection writes a GeoJSON FeatureCollection of features built by
// PostGIS, followed by the members in extra.
func writeFeatureCollection(w http.ResponseWriter, features []json.RawMessage, extra map[string]any) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range features {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(f)
	}
	buf.WriteByte(']')
	keys := []string{"numberMatched", "numberReturned", "timeStamp", "next_cursor", "links"}
	for _, k := range keys {
		v, ok := extra[k]
		if !ok {
			continue
		}
		b, _ := json.Marshal(v)
		if string(b) == "null" && k == "links" {
			b = []byte("[]")
		}
		buf.WriteString(`,"` + k + `":`)
		buf.Write(b)
	}
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
