package ingest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Mapping maps a loader field (e.g. "reported_at") to the column or GeoJSON
// property that holds it in the file (e.g. "opened"). A field that is not mapped
// is read from the column of its own name.
type Mapping map[string]string

// Column returns the file column of field.
func (m Mapping) Column(field string) string {
	if c, ok := m[field]; ok {
		return c
	}
	return field
}

// ParseMapping parses the --map flag: "field=column,field=column". Whitespace around
// names is ignored; a column may contain '=' but not ','.
func ParseMapping(s string) (Mapping, error) {
	m := Mapping{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for i, part := range strings.Split(s, ",") {
		field, col, ok := strings.Cut(part, "=")
		field, col = strings.TrimSpace(field), strings.TrimSpace(col)
		switch {
		case !ok:
			return nil, fmt.Errorf("mapping item %d %q: want field=column", i+1, part)
		case field == "":
			return nil, fmt.Errorf("mapping item %d %q: empty field name", i+1, part)
		case col == "":
			return nil, fmt.Errorf("mapping item %d %q: empty column name", i+1, part)
		}
		if _, dup := m[field]; dup {
			return nil, fmt.Errorf("mapping item %d %q: field %q mapped twice", i+1, part, field)
		}
		m[field] = col
	}
	return m, nil
}

// ReadMapping reads a mapping file: a JSON object of field → column,
// e.g. {"id": "CaseID", "reported_at": "Opened"}.
func ReadMapping(r io.Reader) (Mapping, error) {
	var raw map[string]any
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("read mapping: %w", err)
	}
	if raw == nil {
		return nil, fmt.Errorf("read mapping: want a JSON object of field to column")
	}
	m := Mapping{}
	for field, v := range raw {
		col, ok := v.(string)
		if !ok || col == "" || field == "" {
			return nil, fmt.Errorf("read mapping: field %q: want a non-empty column name string, got %v", field, v)
		}
		m[field] = col
	}
	return m, nil
}

// Merge returns m with the entries of o added; o wins.
func (m Mapping) Merge(o Mapping) Mapping {
	out := Mapping{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range o {
		out[k] = v
	}
	return out
}

// check reports mapped fields that the kind does not know.
func (m Mapping) check(known []string) error {
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	var bad []string
	for f := range m {
		if !set[f] {
			bad = append(bad, f)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	sort.Strings(known)
	return fmt.Errorf("mapping: unknown field(s) %s; this kind has %s", strings.Join(bad, ", "), strings.Join(known, ", "))
}
