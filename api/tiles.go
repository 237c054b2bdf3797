package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/tiles"
)

// mvtContentType is the media type of a Mapbox vector tile.
const mvtContentType = "application/vnd.mapbox-vector-tile"

// tileLayer checks the {layer} path segment against the registry.
func tileLayer(name string) error {
	if name == tiles.All {
		return nil
	}
	if _, ok := tiles.LookupLayer(name); !ok {
		return NotFound("tile layer " + strconv.Quote(name))
	}
	return nil
}

// badTileInput maps the tiles and geo input errors to 400s naming the parameter.
func badTileInput(err error) error {
	var pe *geo.TilePathError
	if errors.As(err, &pe) {
		return BadRequest(pe.Param, pe.Error())
	}
	var fe *tiles.FilterError
	if errors.As(err, &fe) {
		return BadRequest(fe.Param, fe.Problem)
	}
	return err
}

// handleTile serves GET /tiles/{layer}/{z}/{x}/{y}[.pbf|.mvt]: a vector tile,
// gzipped when the client accepts it, with an ETag, 304 on If-None-Match and the
// layer's Cache-Control. Input is validated before any query.
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Tiles == nil {
		s.fail(w, r, NotFound("tiles"))
		return
	}
	name := r.PathValue("layer")
	if err := tileLayer(name); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := geo.ParseTilePath(r.PathValue("z"), r.PathValue("x"), r.PathValue("y"))
	if err != nil {
		s.fail(w, r, badTileInput(err))
		return
	}
	f, err := tiles.ParseFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, badTileInput(err))
		return
	}
	sc := scopeOf(r)
	if !sc.All() || !sc.Can(scope.CanRows) {
		// The in-memory layers are the whole city's; until they are drawn per
		// jurisdiction, only callers who see everything get tiles.
		s.fail(w, r, &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "tiles: not yet served for a jurisdiction smaller than the whole area"})
		return
	}
	tile, err := s.cfg.Tiles.Get(r.Context(), sc, name, t, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mvtContentType)
	h.Set("ETag", tile.ETag)
	h.Set("Cache-Control", tile.CacheControl)
	h.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), tile.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := tile.Gzip
	if len(body) > 0 && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
	} else if body, err = tile.Raw(); err != nil {
		s.fail(w, r, err)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// handleTileFile serves GET /tiles/{file}: {layer}.json, the layer's TileJSON (a
// path wildcard must be a whole segment, so the suffix is dispatched here).
func (s *Server) handleTileFile(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		s.fail(w, r, NotFound("path"))
		return
	}
	s.serveTileJSON(w, r, name)
}

// handleTileJSONAll serves GET /tiles.json: the TileJSON of the composite layer
// holding every layer.
func (s *Server) handleTileJSONAll(w http.ResponseWriter, r *http.Request) {
	s.serveTileJSON(w, r, tiles.All)
}

func (s *Server) serveTileJSON(w http.ResponseWriter, r *http.Request, name string) {
	if s.cfg.Tiles == nil {
		s.fail(w, r, NotFound("tiles"))
		return
	}
	if err := tileLayer(name); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := tiles.ParseFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, badTileInput(err))
		return
	}
	ctx, cancel := s.queryContext(r)
	defer cancel()
	tj, err := s.cfg.Tiles.TileJSON(ctx, s.cfg.BaseURL, name, filterQuery(f))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, tj)
}

// handleStyle serves GET /styles/command-center.json, a MapLibre style drawing
// every tile layer from this server alone.
func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) {
	f, err := tiles.ParseFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, badTileInput(err))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, tiles.Style(s.cfg.BaseURL, filterQuery(f)))
}

// filterQuery re-encodes the event filter for tile URLs.
func filterQuery(f tiles.Filter) string {
	if f.IsZero() {
		return ""
	}
	q := make([]string, 0, 4)
	if !f.From.IsZero() {
		q = append(q, "from="+f.From.Format("2006-01-02T15:04:05.999999999Z"))
	}
	if !f.To.IsZero() {
		q = append(q, "to="+f.To.Format("2006-01-02T15:04:05.999999999Z"))
	}
	if f.Category != "" {
		q = append(q, "category="+f.Category)
	}
	if len(f.Status) > 0 {
		q = append(q, "status="+strings.Join(f.Status, ","))
	}
	return strings.Join(q, "&")
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip (q > 0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "x-gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
		if coding != "*" {
			return false
		}
	}
	return false
}

// etagMatch implements If-None-Match's weak comparison against etag.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}
