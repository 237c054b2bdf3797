package ingest

import (
	"fmt"
)

// record is one row of an input file: a CSV line or a GeoJSON feature.
type record interface {
	// pos is the 1-based line (CSV) or feature number (GeoJSON).
	pos() int64
	// prepare finishes parsing; readers leave it to the worker goroutines.
	prepare() error
	// get returns the value of a column or property; ok is false when it is
	// absent or null.
	get(col string) (v string, ok bool)
	// nativeGeometry is a GeoJSON feature's geometry member (nil for CSV).
	nativeGeometry() []byte
	// rawText is the row as read, for the reject file.
	rawText() string
}

// reader reads records one after another; next returns io.EOF at the end.
type reader interface {
	next() (record, error)
	// unit names what pos counts: "line" or "feature".
	unit() string
}

// FieldError says which row and field could not be read, and why.
type FieldError struct {
	Unit   string // "line" or "feature"
	Pos    int64  // 1-based line or feature number
	Field  string // loader field or file column; "" for the row as a whole
	Reason string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s %d: %s", e.Unit, e.Pos, e.Reason)
	}
	return fmt.Sprintf("%s %d: field %s: %s", e.Unit, e.Pos, e.Field, e.Reason)
}

// rowError is a reader-level failure of one row (a CSV quoting error, a feature
// that is not an object): the row becomes a reject and reading goes on.
type rowError struct {
	line int64
	raw  string
	err  *FieldError
}

func (r *rowError) pos() int64                { return r.line }
func (r *rowError) prepare() error            { return r.err }
func (r *rowError) get(string) (string, bool) { return "", false }
func (r *rowError) nativeGeometry() []byte    { return nil }
func (r *rowError) rawText() string           { return r.raw }
