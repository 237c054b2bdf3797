package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// BenchmarkRequestOverhead measures what every request pays in ServeHTTP
// around its handler — request id, security headers, the body deadline, the
// text check, private caching, the access log (JSON, discarded) — on two
// routes that do almost nothing else: a 14-byte asset served from memory
// (open) and a route refused for want of credentials (401, private).
func BenchmarkRequestOverhead(b *testing.B) {
	page := fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "assets/app-abc.js": {Data: []byte("console.log(1)")}}
	s := New(Config{Web: page}, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	for _, tc := range []struct{ name, path string }{
		{"asset", "/assets/app-abc.js?v=1"},
		{"refused", "/api/v1/locate?lon=114.05&lat=22.54"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", tc.path, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				s.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}
