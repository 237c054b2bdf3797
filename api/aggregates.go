package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	qry "github.com/onegrid/onegrid/query"
)

// handleAggregates answers POST /api/v1/aggregates: a metric grouped by admin
// unit, grid, H3 cell or uploaded polygon, with small groups suppressed. The
// answer is JSON, CSV (format=csv or Accept: text/csv) or GeoJSON (format=geojson).
func (s *Server) handleAggregates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "format"); err != nil {
		s.fail(w, r, err)
		return
	}
	body, err := readBody(w, r, qry.MaxAggregateBody)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg := s.q.Config()
	a, err := qry.ParseAggregate(body, cfg.Polygon, cfg.MaxPolygons)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f := q.Get("format"); f != "" {
		if !contains(qry.Formats, f) {
			s.fail(w, r, BadRequest("format", "unknown format "+strconv.Quote(f)+"; want json, csv or geojson"))
			return
		}
		a.Format = f
	} else if a.Format == "" && acceptsCSV(r) {
		a.Format = "csv"
	}
	var res *qry.AggregateResult
	var geoms map[string]string
	err = s.aggregate(r, func(ctx context.Context, q *qry.Store) error {
		var err error
		if res, err = q.Aggregate(ctx, a); err != nil || a.Format != "geojson" {
			return err
		}
		geoms, err = q.GroupGeometries(ctx, res)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.rows(r, len(res.Groups))
	switch a.Format {
	case "csv":
		writeAggregateCSV(w, res)
	case "geojson":
		writeAggregateGeoJSON(w, res, geoms)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// acceptsCSV reports whether the client prefers text/csv.
func acceptsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/csv" {
			return true
		}
	}
	return false
}

func formatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func writeAggregateCSV(w http.ResponseWriter, res *qry.AggregateResult) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="aggregate.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"key", "name", "group_by", "metric", "value", "suppressed"})
	for _, g := range res.Groups {
		name := ""
		if g.Name != nil {
			name = *g.Name
		}
		// Keys, names and labels are text (a key may be an uploaded polygon's id);
		// value and suppressed are formatted here from numbers and booleans.
		_ = cw.Write([]string{csvText(g.Key), csvText(name), csvText(res.GroupBy), csvText(res.Metric), formatValue(g.Value), strconv.FormatBool(g.Suppressed)})
	}
	cw.Flush()
}

func writeAggregateGeoJSON(w http.ResponseWriter, res *qry.AggregateResult, geoms map[string]string) {
	features := make([]json.RawMessage, 0, len(res.Groups))
	for _, g := range res.Groups {
		geom := json.RawMessage("null")
		if s, ok := geoms[g.Key]; ok {
			geom = json.RawMessage(s)
		}
		f, _ := json.Marshal(map[string]any{
			"type": "Feature", "id": g.Key, "geometry": geom,
			"properties": map[string]any{"key": g.Key, "name": g.Name, "value": g.Value, "suppressed": g.Suppressed, "metric": res.Metric, "group_by": res.GroupBy},
		})
		features = append(features, f)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range features {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(f)
	}
	meta, _ := json.Marshal(map[string]any{"group_by": res.GroupBy, "metric": res.Metric, "tag": res.Tag, "threshold": res.Threshold, "suppression_rule": res.Rule})
	buf.WriteString(`],"aggregate":`)
	buf.Write(meta)
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
