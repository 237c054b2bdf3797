package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb/geojson"
)

// Group-by values of an aggregate (plus "h3:<res>").
var GroupBys = []string{"district", "street", "community", "grid", "micro_grid", "h3:<res>", "polygons"}

// Metrics of an aggregate.
var Metrics = []string{"households", "people", "tagged_people", "events", "events_per_1000_households", "median_close_hours", "closed_on_time_share"}

// Formats of an aggregate's answer.
var Formats = []string{"json", "csv", "geojson"}

// MaxH3Res is the finest H3 resolution an aggregate may group by (rows store res 12).
const MaxH3Res = 12

// rollupH3Res is the resolution the roll-ups keep; coarser groups come from them.
const rollupH3Res = 9

// StringList is a JSON string or array of strings.
type StringList []string

// UnmarshalJSON accepts "a", "a,b" or ["a", "b"].
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var v []string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*l = v
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*l = nil
		return nil
	}
	*l = strings.Split(s, ",")
	return nil
}

// AggregateRequest is the JSON body of POST /api/v1/aggregates.
type AggregateRequest struct {
	GroupBy  string          `json:"group_by"`
	Metric   string          `json:"metric"`
	Tag      string          `json:"tag,omitempty"`
	From     string          `json:"from,omitempty"`
	To       string          `json:"to,omitempty"`
	Category string          `json:"category,omitempty"`
	Severity StringList      `json:"severity,omitempty"`
	Status   StringList      `json:"status,omitempty"`
	Source   StringList      `json:"source,omitempty"`
	Polygons json.RawMessage `json:"polygons,omitempty"`
	Format   string          `json:"format,omitempty"`
}

// Aggregate is a checked aggregate request.
type Aggregate struct {
	GroupBy  string // district, street, community, grid, micro_grid, h3, polygons
	H3Res    int    // with GroupBy h3
	Metric   string
	Tag      string
	Window   Window
	Category string
	Severity []string
	Status   []string
	Source   []string
	Polygons []KeyedArea
	Format   string // json, csv, geojson; "" when the body does not say
}

// KeyedArea is an uploaded polygon and the key (its feature id) it is reported under.
type KeyedArea struct {
	Key string
	Area
}

// MaxAggregateBody bounds the request body of an aggregate (polygons included).
const MaxAggregateBody = 8 << 20

// ParseAggregate reads and checks an aggregate request body.
func ParseAggregate(body []byte, lim PolygonLimits, maxPolygons int) (*Aggregate, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, paramErr("body", "a JSON object with group_by and metric is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req AggregateRequest
	if err := dec.Decode(&req); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			name := truncate(strings.Trim(f, `"`), 40)
			if name == "" {
				return nil, paramErr("body", "a field with an empty name")
			}
			return nil, paramErr(name, "unknown field; known fields are group_by, metric, tag, from, to, category, severity, status, source, polygons, format")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, paramErr(te.Field, "want %s", te.Type)
		}
		return nil, paramErr("body", "not a JSON object: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, paramErr("body", "trailing data after the JSON object")
	}
	return req.Check(lim, maxPolygons)
}

// Check validates a request and returns its normal form.
func (req *AggregateRequest) Check(lim PolygonLimits, maxPolygons int) (*Aggregate, error) {
	a := &Aggregate{Metric: req.Metric, Tag: strings.TrimSpace(req.Tag)}
	var err error
	if a.GroupBy, a.H3Res, err = ParseGroupBy("group_by", req.GroupBy); err != nil {
		return nil, err
	}
	if !contains(Metrics, req.Metric) {
		if req.Metric == "" {
			return nil, paramErr("metric", "required; one of %s", strings.Join(Metrics, ", "))
		}
		return nil, paramErr("metric", "unknown metric %q; want one of %s", truncate(req.Metric, 40), strings.Join(Metrics, ", "))
	}
	switch {
	case a.Metric == "tagged_people" && a.Tag == "":
		return nil, paramErr("tag", "required with metric tagged_people")
	case a.Metric != "tagged_people" && a.Tag != "":
		return nil, paramErr("tag", "only meaningful with metric tagged_people")
	case len(a.Tag) > 64:
		return nil, paramErr("tag", "too long (at most 64 bytes)")
	}
	if err := CheckText("tag", a.Tag); err != nil {
		return nil, err
	}
	if a.Window, err = ParseWindow("from", req.From, "to", req.To); err != nil {
		return nil, err
	}
	if req.Category != "" {
		if a.Category, err = ParseCode("category", req.Category); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		param   string
		in      StringList
		out     *[]string
		allowed []string
	}{{"severity", req.Severity, &a.Severity, Severities}, {"status", req.Status, &a.Status, Statuses}, {"source", req.Source, &a.Source, Sources}} {
		if *f.out, err = ParseEnumList(f.param, strings.Join(f.in, ","), f.allowed); err != nil {
			return nil, err
		}
	}
	if !a.eventMetric() && (!a.Window.IsZero() || a.Category != "" || a.Severity != nil || a.Status != nil || a.Source != nil) {
		return nil, paramErr("metric", "%s counts households now; from, to, category, severity, status and source apply to event metrics only", a.Metric)
	}
	switch req.Format {
	case "", "json", "csv", "geojson":
		a.Format = req.Format // "" = not chosen in the body: the caller decides (Accept), else json
	default:
		return nil, paramErr("format", "unknown format %q; want json, csv or geojson", truncate(req.Format, 20))
	}
	if a.GroupBy == "polygons" {
		if a.Polygons, err = parsePolygons(req.Polygons, lim, maxPolygons); err != nil {
			return nil, err
		}
	} else if len(req.Polygons) > 0 && string(req.Polygons) != "null" {
		return nil, paramErr("polygons", "only with group_by polygons")
	}
	return a, nil
}

// eventMetric reports whether the metric counts events (and so takes event filters).
func (a *Aggregate) eventMetric() bool {
	switch a.Metric {
	case "events", "events_per_1000_households", "median_close_hours", "closed_on_time_share":
		return true
	}
	return false
}

// ParseGroupBy parses a group_by value.
func ParseGroupBy(param, s string) (groupBy string, res int, err error) {
	switch s {
	case "district", "street", "community", "grid", "micro_grid", "polygons":
		return s, 0, nil
	case "":
		return "", 0, paramErr(param, "required; one of %s", strings.Join(GroupBys, ", "))
	}
	if r, ok := strings.CutPrefix(s, "h3:"); ok {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 || n > MaxH3Res || len(r) > 2 {
			return "", 0, paramErr(param, "H3 resolution must be 0..%d, as h3:9", MaxH3Res)
		}
		return "h3", n, nil
	}
	return "", 0, paramErr(param, "unknown group_by %q; want one of %s", truncate(s, 40), strings.Join(GroupBys, ", "))
}

func parsePolygons(raw json.RawMessage, lim PolygonLimits, maxPolygons int) ([]KeyedArea, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, paramErr("polygons", "required with group_by polygons: a GeoJSON FeatureCollection whose features have ids")
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		return nil, paramErr("polygons", "not a GeoJSON FeatureCollection: %s", jsonProblem(err))
	}
	if fc.Type != "FeatureCollection" {
		return nil, paramErr("polygons", "want a GeoJSON FeatureCollection")
	}
	if len(fc.Features) == 0 {
		return nil, paramErr("polygons", "the FeatureCollection has no features")
	}
	if len(fc.Features) > maxPolygons {
		return nil, paramErr("polygons", "too many features (at most %d)", maxPolygons)
	}
	out := make([]KeyedArea, 0, len(fc.Features))
	seen := map[string]bool{}
	vertices := 0
	for i, f := range fc.Features {
		var key string
		switch id := f.ID.(type) {
		case string:
			key = id
		case float64:
			key = strconv.FormatFloat(id, 'f', -1, 64)
		default:
			return nil, paramErr(fmt.Sprintf("polygons.features[%d].id", i), "required: a string or number, the group's key")
		}
		if key == "" || len(key) > 64 {
			return nil, paramErr(fmt.Sprintf("polygons.features[%d].id", i), "must be 1..64 bytes")
		}
		if err := CheckText(fmt.Sprintf("polygons.features[%d].id", i), key); err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, paramErr(fmt.Sprintf("polygons.features[%d].id", i), "duplicate id %q", key)
		}
		seen[key] = true
		a, err := checkArea(fmt.Sprintf("polygons.features[%d].geometry", i), f.Geometry, lim)
		if err != nil {
			return nil, err
		}
		if f.Geometry != nil {
			vertices += countVertices(f.Geometry)
		}
		if lim.MaxVertices > 0 && vertices > lim.MaxVertices {
			return nil, paramErr("polygons", "too many vertices in all (more than %d)", lim.MaxVertices)
		}
		out = append(out, KeyedArea{Key: key, Area: a})
	}
	return out, nil
}
