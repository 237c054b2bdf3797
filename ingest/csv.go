package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvReader streams a CSV file with a header line. Values "" and "NA" are absent.
type csvReader struct {
	r      *csv.Reader
	header []string
	cols   map[string]int
}

func newCSVReader(r io.Reader) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read csv header: empty file")
		}
		return nil, fmt.Errorf("read csv header: line 1: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	}
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	return &csvReader{r: cr, header: header, cols: cols}, nil
}

func (c *csvReader) unit() string { return "line" }

// hasColumn reports whether the header names col.
func (c *csvReader) hasColumn(col string) bool { _, ok := c.cols[col]; return ok }

func (c *csvReader) next() (record, error) {
	fields, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &rowError{line: int64(pe.StartLine), raw: strings.Join(fields, ","), err: &FieldError{Unit: "line", Pos: int64(pe.StartLine), Reason: "bad CSV: " + pe.Err.Error()}}, nil
		}
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read csv: %w", err)
	}
	line, _ := c.r.FieldPos(0)
	return &csvRecord{line: int64(line), fields: fields, rd: c}, nil
}

type csvRecord struct {
	line   int64
	fields []string
	rd     *csvReader
}

func (r *csvRecord) pos() int64 { return r.line }

func (r *csvRecord) prepare() error {
	if len(r.fields) != len(r.rd.header) {
		return &FieldError{Unit: "line", Pos: r.line, Reason: fmt.Sprintf("want %d fields as in the header, got %d", len(r.rd.header), len(r.fields))}
	}
	return nil
}

func (r *csvRecord) get(col string) (string, bool) {
	i, ok := r.rd.cols[col]
	if !ok || i >= len(r.fields) {
		return "", false
	}
	v := strings.TrimSpace(r.fields[i])
	if v == "" || v == "NA" {
		return "", false
	}
	return v, true
}

func (r *csvRecord) nativeGeometry() []byte { return nil }

func (r *csvRecord) rawText() string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(r.fields)
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}
