package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unsafe"
)

// geojsonReader streams the features of a GeoJSON FeatureCollection with
// encoding/json Decoder tokens: one feature is in memory at a time.
type geojsonReader struct {
	sp   *splitter
	n    int64
	done bool
	// arena holds copies of features' bytes: one allocation per 64 KiB of
	// features instead of one per feature. A chunk is freed when the last
	// feature in it is.
	arena []byte
}

const arenaSize = 64 << 10

func newGeoJSONReader(r io.Reader) (*geojsonReader, error) {
	dec := json.NewDecoder(r)
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
			// From here the features are cut out of the stream by a splitter,
			// which is faster than the Decoder and keeps one feature in memory.
			buffered, _ := io.ReadAll(dec.Buffered())
			return &geojsonReader{sp: newSplitter(r, buffered)}, nil
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
	if g.done {
		return nil, io.EOF
	}
	b, valid, err := g.sp.next()
	if err == io.EOF {
		g.done = true
		return nil, io.EOF
	}
	g.n++
	if err != nil {
		return nil, fmt.Errorf("read geojson: feature %d: %w", g.n, err)
	}
	if !valid && !json.Valid(b) {
		// A syntax error leaves no safe place to resume: the file is broken from
		// here on, which is an error of the file, not of one row.
		err := json.Unmarshal(b, new(json.RawMessage))
		return nil, fmt.Errorf("read geojson: feature %d: %w", g.n, err)
	}
	return &geojsonFeature{n: g.n, raw: g.copyOf(b)}, nil
}

// copyOf returns a copy of b that nothing else writes to.
func (g *geojsonReader) copyOf(b []byte) []byte {
	if len(b) > arenaSize/4 {
		return append([]byte(nil), b...)
	}
	if len(g.arena)+len(b) > cap(g.arena) {
		g.arena = make([]byte, 0, arenaSize)
	}
	at := len(g.arena)
	g.arena = append(g.arena, b...)
	return g.arena[at:len(g.arena):len(g.arena)]
}

// geojsonFeature is one feature; prepare decodes it (in a worker goroutine).
type geojsonFeature struct {
	n     int64
	raw   []byte
	props []member
	id    []byte
	geom  []byte
	// inline backs props for features with few properties (one allocation less).
	inline [12]member
}

// member is a property: its name (unescaped) and raw JSON value.
type member struct {
	key []byte
	val []byte
}

func (f *geojsonFeature) pos() int64 { return f.n }

func (f *geojsonFeature) prepare() error {
	var typ, props []byte
	err := eachMember(f.raw, func(k, v []byte) {
		switch string(k) {
		case "type":
			typ = v
		case "id":
			f.id = v
		case "properties":
			props = v
		case "geometry":
			f.geom = v
		}
	})
	if err != nil {
		return &FieldError{Unit: "feature", Pos: f.n, Reason: "bad feature: " + err.Error()}
	}
	if t, _ := jsonScalar(typ); t != "Feature" {
		return &FieldError{Unit: "feature", Pos: f.n, Field: "type", Reason: fmt.Sprintf("want \"Feature\", got %s", orNone(typ))}
	}
	if p := bytes.TrimSpace(props); len(p) > 0 && p[0] == '{' {
		f.props = f.inline[:0]
		_ = eachMember(p, func(k, v []byte) { f.props = append(f.props, member{keyBytes(k), v}) })
	} else if len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		return &FieldError{Unit: "feature", Pos: f.n, Field: "properties", Reason: "want an object or null"}
	}
	if g := bytes.TrimSpace(f.geom); len(g) == 0 || bytes.Equal(g, []byte("null")) {
		f.geom = nil
	}
	return nil
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

func (f *geojsonFeature) get(col string) (string, bool) {
	for i := range f.props {
		if string(f.props[i].key) == col {
			return rawScalar(f.props[i].val)
		}
	}
	if col == "id" && len(f.id) > 0 {
		return rawScalar(f.id)
	}
	return "", false
}

// rawScalar is jsonScalar without a copy for a string without escapes: the
// text shares the feature's bytes, which are never written after the reader
// copied them (copyOf), so the string cannot change. It saves an allocation
// per property of every feature.
func rawScalar(v []byte) (string, bool) {
	if len(v) > 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return unsafe.String(&v[1], len(v)-2), true
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
	if v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
		if len(v) <= 2 {
			return "", false
		}
		return string(v[1 : len(v)-1]), true
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
