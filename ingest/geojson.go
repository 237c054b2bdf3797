package ingest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// geojsonReader streams the features of a GeoJSON FeatureCollection with
// encoding/json Decoder tokens: one feature is in memory at a time.
type geojsonReader struct {
	dec  *json.Decoder
	n    int64
	done bool
}

func newGeoJSONReader(r io.Reader) (*geojsonReader, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, fmt.Errorf("read geojson: %w", err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read geojson: %w", err)
		}
		key, _ := t.(string)
		if key == "features" {
			if err := expectDelim(dec, '['); err != nil {
				return nil, fmt.Errorf("read geojson: features: %w", err)
			}
			return &geojsonReader{dec: dec}, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("read geojson: member %q: %w", key, err)
		}
	}
	return nil, fmt.Errorf("read geojson: no \"features\" array: want a FeatureCollection")
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, t)
	}
	return nil
}

func (g *geojsonReader) unit() string { return "feature" }

func (g *geojsonReader) next() (record, error) {
	if g.done || !g.dec.More() {
		g.done = true
		return nil, io.EOF
	}
	g.n++
	var raw json.RawMessage
	if err := g.dec.Decode(&raw); err != nil {
		// A syntax error leaves the decoder nowhere to resume: the file is broken
		// from here on, which is an error of the file, not of one row.
		return nil, fmt.Errorf("read geojson: feature %d: %w", g.n, err)
	}
	return &geojsonFeature{n: g.n, raw: raw}, nil
}

// geojsonFeature is one feature; prepare decodes it (in a worker goroutine).
type geojsonFeature struct {
	n     int64
	raw   []byte
	props map[string]json.RawMessage
	id    json.RawMessage
	geom  json.RawMessage
}

type featureJSON struct {
	Type       string                     `json:"type"`
	ID         json.RawMessage            `json:"id"`
	Properties map[string]json.RawMessage `json:"properties"`
	Geometry   json.RawMessage            `json:"geometry"`
}

func (f *geojsonFeature) pos() int64 { return f.n }

func (f *geojsonFeature) prepare() error {
	var fj featureJSON
	if err := json.Unmarshal(f.raw, &fj); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &FieldError{Unit: "feature", Pos: f.n, Field: te.Field, Reason: "bad JSON type: want " + te.Type.String() + ", got " + te.Value}
		}
		return &FieldError{Unit: "feature", Pos: f.n, Reason: "bad feature: " + err.Error()}
	}
	if fj.Type != "Feature" {
		return &FieldError{Unit: "feature", Pos: f.n, Field: "type", Reason: fmt.Sprintf("want \"Feature\", got %q", fj.Type)}
	}
	f.props, f.id = fj.Properties, fj.ID
	if g := bytes.TrimSpace(fj.Geometry); len(g) > 0 && !bytes.Equal(g, []byte("null")) {
		f.geom = g
	}
	return nil
}

func (f *geojsonFeature) get(col string) (string, bool) {
	v, ok := f.props[col]
	if !ok && col == "id" {
		v, ok = f.id, len(f.id) > 0
	}
	if !ok {
		return "", false
	}
	return jsonScalar(v)
}

// jsonScalar turns a JSON value into text: strings unquoted, null absent,
// numbers and booleans as written, objects and arrays as JSON.
func jsonScalar(v json.RawMessage) (string, bool) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || bytes.Equal(v, []byte("null")) {
		return "", false
	}
	if v[0] == '"' {
		s, err := strconv.Unquote(string(v))
		if err != nil {
			var u string
			if json.Unmarshal(v, &u) != nil {
				return "", false
			}
			s = u
		}
		if s == "" {
			return "", false
		}
		return s, true
	}
	return string(v), true
}

func (f *geojsonFeature) nativeGeometry() []byte { return f.geom }
func (f *geojsonFeature) rawText() string        { return string(f.raw) }
