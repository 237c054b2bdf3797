package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestWebPage(t *testing.T) {
	js := []byte(strings.Repeat("console.log('onegrid');\n", 200))
	built := fstest.MapFS{
		"index.html":             {Data: []byte(`<!doctype html><script type="module" src="/assets/main-ABC123.js"></script>`)},
		"assets/main-ABC123.js":  {Data: js},
		"assets/main-DEF456.css": {Data: []byte("body{}")},
		".keep":                  {Data: []byte("placeholder")},
	}
	do := func(h http.Handler, path string, hdr ...string) *http.Response {
		req := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	s := New(Config{Web: built}, nil, nil)
	tests := []struct {
		name, path, acceptEncoding string
		status                     int
		cacheControl, encoding     string
		body                       []byte
	}{
		{"index", "/", "gzip", 200, "no-cache", "", nil},
		{"asset gzipped", "/assets/main-ABC123.js", "gzip, deflate, br", 200, "public, max-age=31536000, immutable", "gzip", js},
		{"asset plain when gzip refused", "/assets/main-ABC123.js", "gzip;q=0", 200, "public, max-age=31536000, immutable", "", js},
		{"asset plain without Accept-Encoding", "/assets/main-ABC123.js", "", 200, "public, max-age=31536000, immutable", "", js},
		{"tiny asset not compressed", "/assets/main-DEF456.css", "gzip", 200, "public, max-age=31536000, immutable", "", []byte("body{}")},
		{"unknown asset", "/assets/nope.js", "", 404, "", "", nil},
		{"placeholder not served", "/.keep", "", 404, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(s, tc.path, "Accept-Encoding", tc.acceptEncoding)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tc.cacheControl)
			}
			if got := resp.Header.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			var r io.Reader = resp.Body
			if tc.encoding == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				r = zr
			}
			b, _ := io.ReadAll(r)
			if tc.body != nil && !bytes.Equal(b, tc.body) {
				t.Errorf("body differs (%d bytes, want %d)", len(b), len(tc.body))
			}
		})
	}
	t.Run("index has a CSP that keeps requests on this server", func(t *testing.T) {
		csp := do(s, "/").Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	})
	t.Run("If-None-Match answers 304", func(t *testing.T) {
		etag := do(s, "/assets/main-ABC123.js", "Accept-Encoding", "gzip").Header.Get("ETag")
		if resp := do(s, "/assets/main-ABC123.js", "Accept-Encoding", "gzip", "If-None-Match", etag); resp.StatusCode != 304 {
			t.Errorf("status %d, want 304", resp.StatusCode)
		}
	})
	t.Run("not built", func(t *testing.T) {
		for _, fsys := range []fstest.MapFS{nil, {".keep": {Data: []byte("x")}}} {
			resp := do(New(Config{Web: fsys}, nil, nil), "/")
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "make web") {
				t.Errorf("unbuilt page: %d %q", resp.StatusCode, b)
			}
		}
	})
}
