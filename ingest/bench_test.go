package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/onegrid/onegrid/internal/pgtest"
)

// writeEventsGeoJSON writes n point events as a FeatureCollection.
func writeEventsGeoJSON(tb testing.TB, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "events.geojson")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `{"type": "FeatureCollection", "features": [`)
	for i := range n {
		if i > 0 {
			fmt.Fprintln(w, ",")
		}
		fmt.Fprintf(w, `{"type": "Feature", "id": "e%d", "properties": {"category": "C01", "severity": "general", "source": "app", "status": "reported", "title": "事件 %d", "reported_at": "2023-06-01T10:00:00Z"}, "geometry": {"type": "Point", "coordinates": [%.7f, %.7f]}}`,
			i, i, 114.0+float64(i%1000)/10000, 22.5+float64(i%997)/10000)
	}
	fmt.Fprintln(w, "]}")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkConvertGeoJSON measures reading and converting point features (no database).
func BenchmarkConvertGeoJSON(b *testing.B) {
	const n = 100_000
	path := writeEventsGeoJSON(b, n)
	k := kinds["events"]
	b.ResetTimer()
	for range b.N {
		f, cr, rd, has, err := openReader(path, "geojson")
		if err != nil {
			b.Fatal(err)
		}
		_ = cr
		conv, err := newConverter(k, Mapping{}, &convCtx{}, rd.unit(), false, has)
		if err != nil {
			b.Fatal(err)
		}
		var rows atomic.Int64
		p := startPipeline(context.Background(), rd, conv.convertInto, len(k.cols), 0, &rows)
		for p.Next() {
			if v, _ := p.Values(); v[2] != nil {
				b.Fatalf("rejected: %v", v)
			}
		}
		if err := p.Err(); err != nil && !errors.Is(err, io.EOF) {
			b.Fatal(err)
		}
		f.Close()
		if rows.Load() != n {
			b.Fatalf("rows = %d", rows.Load())
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLoadEventsGeoJSON measures a whole load of point events (read, parse,
// H3, COPY, checks, insert) into a fresh database; rows/s is the end-to-end rate.
func BenchmarkLoadEventsGeoJSON(b *testing.B) {
	const n = 100_000
	path := writeEventsGeoJSON(b, n)
	for i := range b.N {
		b.StopTimer()
		db := pgtest.New(b)
		if _, err := db.Exec(context.Background(), `INSERT INTO event_category (code, level, name) VALUES ('C01', 1, 'bench')`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err := Load(context.Background(), db, Options{Kind: "events", Path: path, Dataset: fmt.Sprint("bench", i), RejectsPath: filepath.Join(b.TempDir(), "r.csv")})
		if err != nil {
			b.Fatal(err)
		}
		if s.Loaded != n {
			b.Fatalf("loaded %d", s.Loaded)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
