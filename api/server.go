package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onegrid/onegrid/auth"
	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/hotspot"
	"github.com/onegrid/onegrid/limit"
	qry "github.com/onegrid/onegrid/query"
	"github.com/onegrid/onegrid/seal"
	"github.com/onegrid/onegrid/tiles"
)

// Config holds the HTTP layer's settings; cmd/onegrid fills it from flags and env.
type Config struct {
	// QueryTimeout bounds every database statement a request runs.
	QueryTimeout time.Duration
	// Web is the built command-centre page (web.Dist()): index.html and assets/.
	// Nil or unbuilt, / says how to build it.
	Web fs.FS
	// StreamHeartbeat is how often an idle /api/v1/stream gets a keep-alive comment.
	StreamHeartbeat time.Duration
	// StreamBuffer is how many messages a stream client may fall behind before it is
	// dropped (its browser reconnects and replays from Last-Event-ID).
	StreamBuffer int
	// StreamWriteTimeout bounds one write to a stream client.
	StreamWriteTimeout time.Duration
	// Tiles serves the vector tiles; nil answers the tile routes with 404.
	Tiles *tiles.Service
	// Query holds the privacy threshold, polygon limits and grid size bands.
	Query qry.Config
	// Hotspots runs hotspot analyses; nil builds one on the pool with defaults.
	Hotspots *hotspot.Service
	// Now is the server's clock (nil: the system clock). The page takes "now"
	// and its default window from it, and so do the query defaults (Query.Now,
	// set from it when nil) and a default Hotspots.
	Now clock.Clock
	// Auth checks sessions, tokens and logins. Without it no request is
	// authenticated and only open routes answer.
	Auth *auth.Authenticator
	// Public, when set, is the principal of requests that bring no identity:
	// anonymous access, off by default (auth.PublicPrincipal).
	Public *auth.Principal
	// DataKey opens the sealed personal values a caller unmasks; nil answers
	// unmasking with a clear error.
	DataKey *seal.Key
	// BaseURL is the server's public base URL (https://grid.example.org, no
	// trailing slash): absolute links (TileJSON, the style, OGC and paging links)
	// are built from it, never from the request's Host or X-Forwarded-* headers.
	// https also turns on Strict-Transport-Security and Secure cookies. Empty,
	// links are root-relative (/ogc/collections).
	BaseURL string
	// BodyTimeout bounds the reading of a request's body (default 30 s): a client
	// that sends it slower gets 408 and its connection is closed. Requests without
	// a body have no read deadline, so event streams stay open.
	BodyTimeout time.Duration
	// Limits are the per-identity limits of the routes whose cost is heavy
	// (routes.go); the zero value limits nothing.
	Limits limit.Config
	// Logins throttles failed logins per name and per client address (zero:
	// limit.NewLogins's defaults).
	Logins limit.LoginConfig
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the client
	// (for the public's limits and the login throttle); without them the client
	// is the connection's peer.
	TrustedProxies []netip.Prefix
}

// Server is onegrid's HTTP handler.
type Server struct {
	cfg Config
	db  *pgxpool.Pool
	log *slog.Logger
	mux *http.ServeMux
	web *webPage
	hub *hub // nil without a database
	q   *qry.Store
	hot *hotspot.Service

	https      bool           // BaseURL is https
	limits     *limit.Limiter // of heavy routes; nil: none
	logins     *limit.Logins
	loginSlots *limit.Limiter // password checks at once (each takes 64 MiB)
}

// New builds the server and its routes.
func New(cfg Config, db *pgxpool.Pool, log *slog.Logger) *Server {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Now = clock.Or(cfg.Now)
	if cfg.Query.Now == nil {
		cfg.Query.Now = cfg.Now
	}
	if cfg.Hotspots == nil {
		cfg.Hotspots = hotspot.New(db, hotspot.Config{Log: log, Now: cfg.Now, MinCount: cfg.Query.MinCount})
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = 15 * time.Second
	}
	if cfg.StreamBuffer <= 0 {
		cfg.StreamBuffer = 256
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = 10 * time.Second
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Limits.Wait <= 0 {
		// A heavy request waits for a slot before it reads its body, whose
		// deadline is already running: at most half of it.
		cfg.Limits.Wait = min(cfg.QueryTimeout, cfg.BodyTimeout/2)
	}
	cfg.Limits.What = "expensive requests"
	s := &Server{cfg: cfg, db: db, log: log, mux: http.NewServeMux(), q: qry.New(db, cfg.Query), hot: cfg.Hotspots,
		https: strings.HasPrefix(cfg.BaseURL, "https://"), limits: limit.New(cfg.Limits), logins: limit.NewLogins(cfg.Logins),
		// Argon2id takes 64 MiB a check: as many at once as there are CPUs to run them.
		loginSlots: limit.New(limit.Config{Concurrent: max(2, runtime.NumCPU()), Queue: 256, Wait: cfg.QueryTimeout, What: "logins"})}
	page, err := newWebPage(cfg.Web)
	if err != nil {
		log.Error("web page unreadable; serving the not-built page", "error", err)
		page = &webPage{assets: map[string]*webFile{}}
	}
	s.web = page
	if db != nil {
		s.hub = newHub(db, log, cfg.StreamBuffer)
	}
	s.routes()
	return s
}

// Close ends long-lived responses (event streams) and the database listener; call
// it when the HTTP server shuts down (http.Server.RegisterOnShutdown), since
// Shutdown waits for handlers that would otherwise never return.
func (s *Server) Close() {
	if s.hub != nil {
		s.hub.close()
	}
}

// ServeHTTP gives every request an id and the security headers, bounds the
// reading of its body, finds who is asking, recovers from panics and writes the
// access log.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || !printableASCII(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	s.securityHeaders(w.Header())
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = s.bodyDeadline(w, r.Body)
	}
	info := &requestInfo{rows: -1}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK, info: info}
	ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), requestInfoKey{}, info)
	p, authErr := s.authenticate(r.WithContext(ctx))
	if p != nil {
		ctx = auth.WithPrincipal(ctx, p)
		info.p = p
	}
	r = r.WithContext(ctx)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic", "request_id", id, "route", r.Pattern, "panic", p)
			if !rw.wrote {
				writeError(rw, r, &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"})
			}
		}
		s.accessLog(r, info, rw, start)
	}()
	if authErr != nil && !errors.Is(authErr, auth.ErrUnauthenticated) {
		s.fail(rw, r, authErr) // the identity store failed: not the client's fault
		return
	}
	if authErr != nil {
		// A stale cookie or bad token: the request goes on without an identity, so
		// open routes (the page, logging in) still answer and the rest say 401.
		info.badCredentials = true
	}
	s.mux.ServeHTTP(rw, r)
}

// requestInfo is what the access log says of a request beyond its status.
type requestInfo struct {
	p              *auth.Principal
	rows           int // rows or features answered; -1 when not counted
	badCredentials bool
	// private: the answer depends on who asks (the route is not open).
	private bool
}

type requestInfoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	i, _ := r.Context().Value(requestInfoKey{}).(*requestInfo)
	return i
}

// rows records how many rows (features, groups, entries) a request answered.
func (s *Server) rows(r *http.Request, n int) {
	if i := infoOf(r); i != nil {
		i.rows = n
	}
}

// setActor records who a request turned out to be (a login).
func setActor(r *http.Request, p *auth.Principal) {
	if i := infoOf(r); i != nil {
		i.p = p
	}
}

// accessLog writes one line per request at info level: who, from which client
// address, which route (its pattern, never the path or query, which may hold
// search text or an address), how many rows, the status and the time. No
// personal value: user names are accounts, ids in paths are left out with the
// path, and no body, header or parameter is written.
func (s *Server) accessLog(r *http.Request, info *requestInfo, rw *statusWriter, start time.Time) {
	if !s.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	who := "-"
	if info.p != nil {
		who = info.p.Name
	} else if info.badCredentials {
		who = "(rejected credentials)"
	}
	route := r.Pattern
	if route == "" {
		route = r.Method + " (no route)"
	}
	attrs := []slog.Attr{slog.String("request_id", RequestID(r.Context())), slog.String("user", who),
		slog.String("ip", s.clientAddr(r).String()),
		slog.String("route", route), slog.Int("status", rw.status), slog.Int("bytes", rw.bytes),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000)}
	if info.rows >= 0 {
		attrs = append(attrs, slog.Int("rows", info.rows))
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "access", attrs...)
}

// printableASCII reports whether s is printable ASCII (a request id we echo).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

type requestIDKey struct{}

// RequestID returns the id ServeHTTP gave the request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// newRequestID is 16 random hex digits. Request ids need to be unique, not
// secret: math/rand/v2's per-thread generator spares a getrandom syscall per request.
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// statusWriter records a response's status and size for the access log and,
// as the header goes out, makes an answer that depends on who asks private.
type statusWriter struct {
	http.ResponseWriter
	info   *requestInfo
	status int
	bytes  int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
		if w.info.private {
			privateCache(w.Header())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Flush lets streaming handlers (SSE) flush through the wrapper.
func (w *statusWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// queryContext bounds a request's database work by the configured timeout; it is
// derived from the request's context, so a client that hangs up cancels the query.
func (s *Server) queryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.QueryTimeout)
}

// bodyDeadline sets a read deadline of BodyTimeout on the connection for the
// reading of a request's body and lifts it once the body has been read, so that
// a client sending its body one byte at a time cannot hold a connection (and a
// handler) for longer, while the rest of the request — a query that runs long,
// an event stream that only writes — has no read deadline. The server's own
// ReadTimeout would cover the whole request instead, and when it passes during a
// handler the connection's background read fails and cancels the request.
func (s *Server) bodyDeadline(w http.ResponseWriter, body io.ReadCloser) io.ReadCloser {
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil {
		return body // not a net/http connection (a test recorder): nothing to bound
	}
	return &deadlineBody{ReadCloser: body, rc: rc}
}

// deadlineBody lifts the read deadline when its body ends (EOF or an error),
// and says errBodyTimeout when the deadline passed first.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

// errBodyTimeout is a body that missed its read deadline. net/http ends the
// request's context when a read fails, but the client is still there and is
// told (fail).
var errBodyTimeout = &Error{Status: http.StatusRequestTimeout, Code: "body_timeout", Message: "body: not received in time; send it at once"}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.done {
		b.done = true
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, errBodyTimeout
		}
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
