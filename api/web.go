package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// webFile is one file of the embedded page, read and compressed once at start.
type webFile struct {
	name      string
	body, gz  []byte // gz is nil when compression does not pay
	ctype     string
	etag      string // strong, of the uncompressed body; "-gz" is appended for the gzip form
	immutable bool   // content-hashed name: cache for a year
}

// webPage is the command-centre page: index.html and content-hashed assets/.
type webPage struct {
	index  *webFile // nil: the page was not built
	assets map[string]*webFile
}

// contentSecurityPolicy keeps the page to its own server: no request may leave
// the machine (MapLibre runs its workers from blob: URLs).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src blob:; " +
	"img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

// newWebPage reads the built page from fsys (web.Dist()). A missing index.html is
// not an error: the page then says how to build it.
func newWebPage(fsys fs.FS) (*webPage, error) {
	p := &webPage{assets: map[string]*webFile{}}
	if fsys == nil {
		return p, nil
	}
	if b, err := fs.ReadFile(fsys, "index.html"); err == nil {
		p.index = newWebFile("index.html", b, false)
	}
	err := fs.WalkDir(fsys, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(name, "assets/")
		p.assets[rel] = newWebFile(rel, b, true)
		return nil
	})
	if err != nil && p.index != nil {
		return nil, fmt.Errorf("read web assets: %w", err)
	}
	return p, nil
}

func newWebFile(name string, body []byte, immutable bool) *webFile {
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	f := &webFile{name: name, body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]), immutable: immutable}
	if compressible(ctype) && len(body) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			f.gz = buf.Bytes()
		}
	}
	return f
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// serve writes f, gzipped when the client takes it, honouring If-None-Match.
func (f *webFile) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if f.immutable {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Content-Type", f.ctype)
	body, etag := f.body, f.etag+`"`
	if f.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = f.gz, f.etag+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304 and sets Content-Length.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// handleIndex serves the command-centre page at /.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if s.web.index == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, notBuiltPage)
		return
	}
	// The page's own policy and frame rule replace the API's (headers.go).
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	s.web.index.serve(w, r)
}

// handleAsset serves /assets/{file}: bundles with content-hashed names.
func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	f, ok := s.web.assets[r.PathValue("file")]
	if !ok {
		writeError(w, r, NotFound("asset"))
		return
	}
	f.serve(w, r)
}

const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>onegrid: UI not built</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;margin:3em">
<h1>UI not built: run <code>make web</code></h1>
<p>This onegrid binary was built without its command-centre page. Run <code>make web</code>
(or <code>make build</code>, which runs it) and rebuild; the APIs and tiles work regardless.</p>
<p lang="zh">界面未构建：请运行 <code>make web</code> 后重新编译。</p>
</body></html>
`
