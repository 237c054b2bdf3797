package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"

	"github.com/onegrid/onegrid/clock"
	"github.com/onegrid/onegrid/geo"
	"github.com/onegrid/onegrid/scope"
	"github.com/onegrid/onegrid/sdc"
)

// Config holds the tile service's settings; cmd/onegrid fills it from flags.
type Config struct {
	// CacheBytes bounds the in-memory tile cache (gzipped bytes); 0 disables it.
	CacheBytes int64
	// Timeout bounds the rendering of one tile.
	Timeout time.Duration
	// MinCount is the disclosure-control threshold and rounding base (package
	// sdc) of the household figures in households_h3, admin and grids: an H3 cell
	// (or a tag count in it) with fewer households is left out of households_h3,
	// a unit's load figures are left out of admin and grids, and every other
	// figure is a multiple of it. The server passes --min-count, the aggregates'
	// threshold, so the same records get the same value on every route.
	MinCount int
	// VersionMaxAge is how long a read of the layer versions is trusted without
	// asking the database again; 0 (the default) checks on every request, so a
	// tile never predates a write committed before the request. Changes notified
	// by NOTIFY expire it at once either way.
	VersionMaxAge time.Duration
	// MaxConns is the size of the tile connection pool (0: pgxpool's default).
	MaxConns int32
	// Now is the server's clock (nil: the system clock): event ages and overdue
	// flags are relative to it, and daily layers' cache keys carry its date.
	Now clock.Clock
	// ViewBytes bounds the memory of the in-memory layers of jurisdictions smaller
	// than everything (view.go), and Views their number; the least recently used
	// are dropped beyond either (0: DefaultViewBytes, DefaultViews).
	ViewBytes int64
	Views     int
}

// Defaults of Config.ViewBytes and Config.Views: room for the views of about
// nine districts or ninety streets of the 1,000,000-household city (28 and 2.8 MB
// each), or hundreds of grids.
const (
	DefaultViewBytes = 256 << 20
	DefaultViews     = 512
)

// DefaultMinCount is the default disclosure-control threshold (and base).
const DefaultMinCount = 5

// ErrUnknownLayer is returned for a layer name not in the registry.
var ErrUnknownLayer = errors.New("unknown tile layer")

// ForbiddenLayerError is returned for a layer the caller's scope may not see.
type ForbiddenLayerError struct {
	Layer, Need string
}

func (e *ForbiddenLayerError) Error() string {
	return "tile layer " + strconv.Quote(e.Layer) + " needs the capability " + strconv.Quote(e.Need)
}

// Service renders, caches and serves tiles.
type Service struct {
	cfg      Config
	pool     *pgxpool.Pool
	log      *slog.Logger
	cache    *cache
	flight   flight
	vers     versions
	fence    fence
	h3       h3Store
	ev       evStore
	outlines map[*unitLayer]*unitStore
	sens     snapshot[Sensitivity]
	hot      snapshot[hotspotsSnap]
	views    *viewCache
	life     context.Context // ends at Close

	listening atomic.Bool
	notified  atomic.Int64
	stop      context.CancelFunc
	wg        sync.WaitGroup

	boundsMu  sync.Mutex
	boundsKey string
	bounds    [4]float64
}

// Open connects a pool dedicated to tiles (parallel query and JIT off: a tile
// query is small and parallel workers only add latency), warms it, starts the
// change listener and, in the background, the load of the event index (errors are
// logged; the first request that needs it waits for it or loads it). Close
// releases them.
func Open(ctx context.Context, connString string, cfg Config, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MinCount <= 0 {
		cfg.MinCount = DefaultMinCount
	}
	rule, err := sdc.New(cfg.MinCount)
	if err != nil {
		return nil, fmt.Errorf("tiles: %w", err)
	}
	if cfg.ViewBytes <= 0 {
		cfg.ViewBytes = DefaultViewBytes
	}
	if cfg.Views <= 0 {
		cfg.Views = DefaultViews
	}
	cfg.Now = clock.Or(cfg.Now)
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("tiles: database url: %w", err)
	}
	rp := pcfg.ConnConfig.RuntimeParams
	rp["max_parallel_workers_per_gather"] = "0"
	rp["jit"] = "off"
	// Plan each tile statement once per connection: replanning a custom plan cost
	// 0.3-0.45 ms a tile, a third of a small tile's time, for the same plan.
	rp["plan_cache_mode"] = "force_generic_plan"
	// No bitmap scans for tile queries: row-level security's code range (its
	// bounds are computed at run time, so the plan guesses 0.5 % of the rows)
	// would be ANDed with the spatial index, and for a whole-area caller that
	// range is the whole table (1.4 s for a z15 event tile of the 1,000,000-
	// household city against 2.5 ms). The policies' conditions are then filters on
	// what the spatial index finds. Snapshot reads turn bitmaps back on.
	rp["enable_bitmapscan"] = "off"
	rp["application_name"] = "onegrid-tiles"
	// A client that goes away (map clients abort tile requests on every pan)
	// cancels its query with a cancel request to the server, which keeps the
	// connection: pgx's default gives up on the connection instead, and a new one
	// is a new backend whose first queries also fill its empty catalogue caches.
	// The deadline is the fallback for a server that does not answer the cancel.
	pcfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	pcfg.MinConns = min(pcfg.MaxConns, 4)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("tiles: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("tiles: connect: %w", err)
	}
	s := &Service{cfg: cfg, pool: pool, log: log, cache: newCache(cfg.CacheBytes), views: newViewCache(cfg.ViewBytes, cfg.Views)}
	s.h3 = h3Store{pool: pool, rule: rule}
	s.outlines = map[*unitLayer]*unitStore{}
	for _, l := range layers {
		if l.kind == kindUnits {
			s.outlines[l.units] = &unitStore{layer: l.units, pool: pool, rule: rule}
		}
	}
	s.vers = versions{read: s.readVersionsFenced, maxAge: cfg.VersionMaxAge}
	s.fence = fence{tok: make(chan *pgx.Conn, 1), wake: make(chan struct{}, 1)}
	if cfg.VersionMaxAge == 0 {
		// Strict: every request runs or joins a round, which reads the
		// notifications anyway; with VersionMaxAge they must be read as they come.
		s.fence.linger = fenceLinger
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stop, s.life = stop, lctx
	s.ev = evStore{pool: pool, life: lctx, log: log, as: scope.System()}
	s.ev.warm()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.listen(lctx, connString)
	}()
	return s, nil
}

// Close stops the listener and any load of the event indexes, and closes the pool.
func (s *Service) Close() {
	s.stop()
	s.ev.close()
	s.views.mu.Lock()
	for e := s.views.ll.Front(); e != nil; e = e.Next() {
		e.Value.(*view).ev.close()
	}
	s.views.mu.Unlock()
	s.wg.Wait()
	s.pool.Close()
}

func (s *Service) readVersions(ctx context.Context) (map[string]int64, error) {
	rows, _ := s.pool.Query(ctx, versionQuery)
	v := map[string]int64{}
	var layer string
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&layer, &n}, func() error {
		v[layer] = n
		return nil
	})
	return v, err
}

// Listening reports whether the change listener is connected.
func (s *Service) Listening() bool { return s.listening.Load() }

// Notifications returns how many change notifications the listener has received.
func (s *Service) Notifications() int64 { return s.notified.Load() }

// Tile is a rendered tile as served.
type Tile struct {
	Gzip         []byte // gzip-compressed tile; nil when the tile is empty
	Size         int    // uncompressed length
	ETag         string // strong ETag, quoted
	CacheControl string
}

// Raw returns the uncompressed tile.
func (t *Tile) Raw() ([]byte, error) {
	if len(t.Gzip) == 0 {
		return nil, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(t.Gzip))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// Get returns tile t of the named layer (or All) as the scope sees it, from the
// cache when its data has not changed since it was rendered. f applies to
// filtered layers and is ignored by the others. A layer the scope may not see
// is a *ForbiddenLayerError; All holds only the layers it may see.
func (s *Service) Get(ctx context.Context, sc scope.Scope, name string, t geo.Tile, f Filter) (*Tile, error) {
	ls, cc, err := layersFor(sc, name)
	if err != nil {
		return nil, err
	}
	vset, err := s.vers.get(ctx)
	if err != nil {
		return nil, err
	}
	sk := scopeKey(sc)
	key := sk + "|" + s.cacheKey(name, ls, t, f, vset)
	c, ok := s.cache.get(key)
	if !ok {
		base := func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
		}
		c, err = s.flight.do(ctx, base, key, func(ctx context.Context) (*cached, error) {
			raw, err := s.renderLayers(ctx, sc, ls, t, f, vset)
			if err != nil {
				return nil, err
			}
			c, err := pack(key, sk, raw)
			if err != nil {
				return nil, err
			}
			s.cache.add(c)
			return c, nil
		})
		if err != nil {
			return nil, err
		}
	}
	return &Tile{Gzip: c.gz, Size: c.size, ETag: c.etag, CacheControl: cc}, nil
}

// layersFor returns the layers of the named layer (or All) the scope may see, and
// their Cache-Control directives.
func layersFor(sc scope.Scope, name string) ([]*Layer, string, error) {
	if name == All {
		return visibleLayers(sc), "max-age=10, must-revalidate", nil
	}
	l, ok := layerByName[name]
	if !ok {
		return nil, "", ErrUnknownLayer
	}
	if !l.Visible(sc) {
		return nil, "", &ForbiddenLayerError{Layer: name, Need: l.Need}
	}
	return []*Layer{l}, l.CacheControl, nil
}

// cacheKey names a tile's content: layer, tile, normalised filter, the versions of
// its sources and, for layers relative to today, the date.
func (s *Service) cacheKey(name string, ls []*Layer, t geo.Tile, f Filter, vset *versionSet) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('/')
	b.WriteString(t.String())
	filtered, daily := false, false
	for _, l := range ls {
		filtered = filtered || l.Filtered
		daily = daily || l.Daily
		for _, src := range l.Sources {
			b.WriteString("|" + src + "=" + strconv.FormatInt(vset.v[src], 10))
		}
	}
	if filtered {
		b.WriteString("|" + f.Key())
	}
	if daily {
		b.WriteString("|" + s.cfg.Now().In(clock.China).Format("2006-01-02"))
	}
	return b.String()
}

// pack gzips a rendered tile once and names it: the ETag is a hash of the
// scope's key and the content, so that two scopes never share one even where
// they see the same bytes.
func pack(key, scopeKey string, raw []byte) (*cached, error) {
	h := sha256.New()
	h.Write([]byte(scopeKey))
	h.Write([]byte{0})
	h.Write(raw)
	sum := h.Sum(nil)
	c := &cached{key: key, size: len(raw), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	if len(raw) == 0 {
		return c, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(raw)/2+64))
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	c.gz = buf.Bytes()
	return c, nil
}

// gzipWriters reuses compressors: a new one allocates and clears about a
// megabyte of tables, which on uncached tiles cost as much as compressing them.
// klauspost's level 2 is about twice as fast as the standard library's BestSpeed
// and, on tiles, faster and smaller than its own level 1 (a 39 KB households_h3
// tile: 140-160 µs and 20.5 KB against 204 µs and 21.0 KB).
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, 2)
	return zw
}}

// Render renders tile t of the named layer (or All) as the scope sees it,
// bypassing the tile cache (the in-memory layers still draw from their
// snapshots, as fresh as for Get).
func (s *Service) Render(ctx context.Context, sc scope.Scope, name string, t geo.Tile, f Filter) ([]byte, error) {
	ls, _, err := layersFor(sc, name)
	if err != nil {
		return nil, err
	}
	vset, err := s.vers.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.renderLayers(ctx, sc, ls, t, f, vset)
}

// request is what drawing one tile needs to know of the caller, worked out once.
type request struct {
	sc   scope.Scope
	view *view // the jurisdiction's in-memory layers; nil for everything
	vset *versionSet
	sens *Sensitivity
}

// masked returns the category codes the caller sees coarsened (nil: none).
func (r *request) masked(ctx context.Context, s *Service) ([]string, error) {
	if r.sens == nil {
		sens, err := s.sensitivity(ctx, r.vset.v["event_categories"])
		if err != nil {
			return nil, fmt.Errorf("read sensitive categories: %w", err)
		}
		r.sens = sens
	}
	return r.sens.maskedCodes(r.sc), nil
}

// renderLayers renders the layers of one tile and concatenates them (an MVT tile
// is a sequence of layers, so concatenated tiles are a tile).
func (s *Service) renderLayers(ctx context.Context, sc scope.Scope, ls []*Layer, t geo.Tile, f Filter, vset *versionSet) ([]byte, error) {
	r := &request{sc: sc, view: s.viewFor(sc), vset: vset}
	if len(ls) == 1 {
		return s.render(ctx, r, ls[0], t, f)
	}
	var out []byte
	for _, l := range ls {
		b, err := s.render(ctx, r, l, t, f)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func (s *Service) render(ctx context.Context, r *request, l *Layer, t geo.Tile, f Filter) ([]byte, error) {
	if !l.inZoom(t.Z) {
		return nil, nil
	}
	if !l.Visible(r.sc) {
		return nil, &ForbiddenLayerError{Layer: l.Name, Need: l.Need}
	}
	var b []byte
	var err error
	switch l.kind {
	case kindSQL:
		args := []any{t.Z, t.X, t.Y}
		if l.Filtered {
			args = append(args, f.args()...)
		}
		err = s.scoped(ctx, r.sc, l.sql, args, func(br pgx.BatchResults) error { return br.QueryRow().Scan(&b) })
	case kindEventsH3:
		b, err = s.renderEventsH3(ctx, r, l, t, f)
	case kindHouseholdsH3:
		b, err = s.renderHouseholdsH3(ctx, r, l, t)
	case kindEvents:
		b, err = s.renderEvents(ctx, r, l, t, f)
	case kindHotspots:
		b, err = s.renderHotspots(ctx, r, l, t, f)
	case kindUnits:
		var snap *unitSnap
		if r.view == nil {
			snap, err = s.outlines[l.units].get(ctx, r.vset)
		} else {
			snap, err = r.view.outlines(ctx, s.outlines[l.units], r.vset)
		}
		if err == nil {
			b = snap.render(l.units, t, l.figures(r.sc))
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// A cancelled query fails with the server's "canceling statement due to
			// user request"; the context says why (client gone, tile timeout).
			err = cerr
		}
		return nil, fmt.Errorf("render %s/%d/%d/%d: %w", l.Name, t.Z, t.X, t.Y, err)
	}
	return b, nil
}

// renderEventsH3 draws events_h3 from the in-memory aggregate when the filter
// allows (statuses only): the plain one when the caller sees every event
// exactly at the tile's resolution, else the index's coarsened counts for the
// categories it sees coarsened; with other filters from the event index
// (evindex.go), the whole city's or the jurisdiction's.
func (s *Service) renderEventsH3(ctx context.Context, r *request, l *Layer, t geo.Tile, f Filter) ([]byte, error) {
	res := geo.ResolutionForZoom(t.Z)
	version := r.vset.v[l.Sources[0]]
	var maskedCodes []string
	if res > CoarseRes {
		var err error
		if maskedCodes, err = r.masked(ctx, s); err != nil {
			return nil, err
		}
	}
	if f.Category == "" && f.From.IsZero() && f.To.IsZero() && len(maskedCodes) == 0 {
		var snap *eventsSnap
		var err error
		if r.view == nil {
			snap, err = s.h3.events(ctx, version)
		} else {
			snap, err = r.view.events(ctx, version)
		}
		if err != nil {
			return nil, err
		}
		return encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature { return snap.cells(buf, t, res, f.Status) })
	}
	var ix *evIndex
	var err error
	if r.view == nil {
		ix, err = s.ev.get(ctx, version)
	} else {
		ix, err = r.view.index(ctx, version)
	}
	if err != nil {
		return nil, err
	}
	var masked []bool
	if len(maskedCodes) > 0 {
		masked = make([]bool, len(ix.cats))
		for i, c := range ix.cats {
			_, masked[i] = slices.BinarySearch(maskedCodes, c)
		}
		if f.Category == "" && f.From.IsZero() && f.To.IsZero() {
			if snap := ix.coarse.get(ix, maskedCodes, masked); snap != nil {
				return encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature { return snap.cells(buf, t, res, f.Status) })
			}
		}
	}
	var cerr error
	b, err := encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature {
		buf, cerr = ix.cellsMasked(buf, t, res, f, masked)
		return buf
	})
	if cerr != nil {
		return nil, cerr
	}
	return b, err
}

// renderEvents encodes the event points the layer's query finds, as ST_AsMVTGeom
// and ST_AsMVT would (points snapped to tile units, NULL properties left out).
// Columns are read off the wire (binary format) rather than scanned: a dense tile
// has thousands of rows, and scanning allocated four strings for each.
//
// age_days and overdue are worked out here, relative to the server's clock
// (Config.Now) when the request is served (as the date in a daily layer's cache
// key is), the way the SQL did from now(): age_days is floor(date_part('epoch', now - reported_at)
// / 86400), overdue an open event whose deadline has passed, left out (NULL) for
// an open event without a deadline.
//
// For a caller who sees some sensitive categories only coarsened, their events
// are left out of the query's rows and drawn instead from a second query in the
// same batch (events_coarse.sql), at the centre of their resolution-9 cell.
func (s *Service) renderEvents(ctx context.Context, r *request, l *Layer, t geo.Tile, f Filter) (out []byte, err error) {
	maskedCodes, err := r.masked(ctx, s)
	if err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	if err := r.sc.Queue(b); err != nil {
		return nil, err
	}
	b.Queue(l.sql, append([]any{t.Z, t.X, t.Y}, f.args()...)...)
	var masked map[string]bool
	coarse := false
	if len(maskedCodes) > 0 {
		masked = make(map[string]bool, len(maskedCodes))
		for _, c := range maskedCodes {
			masked[c] = true
		}
		ids, err := s.coarseIDs(ctx, r, t, f, masked)
		if err != nil {
			return nil, err
		}
		if coarse = len(ids) > 0; coarse {
			b.Queue(l.coarseSQL, append(f.args(), ids)...)
		}
	}
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	e := s.newEventEncoder(t)
	defer e.release()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	err = e.exact(rows, masked)
	rows.Close()
	if err != nil {
		return nil, err
	}
	if coarse {
		if rows, err = br.Query(); err != nil {
			return nil, err
		}
		err = e.coarse(rows, masked)
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	return e.tile(l.Name), nil
}

// coarseIDs returns the events of the masked categories that tile t draws at
// their resolution-9 cell's centre (that centre in the tile or its buffer),
// found in the whole city's event index: candidates only, which the query then
// reads under the caller's identity.
func (s *Service) coarseIDs(ctx context.Context, r *request, t geo.Tile, f Filter, masked map[string]bool) ([]int64, error) {
	ix, err := s.ev.get(ctx, r.vset.v["events_h3"])
	if err != nil {
		return nil, err
	}
	only := make([]bool, len(ix.cats))
	for i, c := range ix.cats {
		only[i] = !masked[c]
	}
	q := ix.query(f, only)
	mb := t.MercatorBound()
	w := (mb.Max[0] - mb.Min[0]) * Buffer / Extent
	return ix.idsIn(nil, mb.Min[0]-w, mb.Min[1]-w, mb.Max[0]+w, mb.Max[1]+w, &q)
}

// scoped runs one tile query with the scope's identity: both go in one batch,
// which PostgreSQL runs as one implicit transaction, so row-level security
// narrows the query to the jurisdiction at no extra round trip. read gets the
// query's result.
func (s *Service) scoped(ctx context.Context, sc scope.Scope, sql string, args []any, read func(pgx.BatchResults) error) error {
	b := &pgx.Batch{}
	if err := sc.Queue(b); err != nil {
		return err
	}
	b.Queue(sql, args...)
	br := s.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return err
	}
	if err := read(br); err != nil {
		br.Close()
		return err
	}
	return br.Close()
}

// eventEncoder encodes the rows of the events layer's queries into one layer.
type eventEncoder struct {
	now     int64 // the server's clock, microseconds since 2000
	tr      tileTransform
	e       *mvtEncoder
	n       int
	props   []prop
	centres map[int64]orb.Point // resolution-9 cell → its centre, Web Mercator
}

func (s *Service) newEventEncoder(t geo.Tile) *eventEncoder {
	return &eventEncoder{now: s.cfg.Now().UnixMicro() - pgEpochUnixMicro, tr: newTileTransform(t), e: newMVTEncoder(), props: make([]prop, 0, 8)}
}

func (e *eventEncoder) release() { e.e.release() }

// tile returns the encoded layer, nil when it has no feature.
func (e *eventEncoder) tile(name string) []byte {
	if e.n == 0 {
		return nil
	}
	return e.e.tile(name)
}

// add encodes one event at (x, y), Web Mercator; v are its columns category,
// severity, status, source, escalation, reported_at, deadline (raw, binary).
func (e *eventEncoder) add(id uint64, x, y float64, v [][]byte, coarse bool) {
	reported := int64(binary.BigEndian.Uint64(v[5]))
	e.props = append(e.props[:0], rawProp("category", v[0]), rawProp("severity", v[1]), rawProp("status", v[2]),
		rawProp("source", v[3]), numProp("escalation", int64(int32(binary.BigEndian.Uint32(v[4])))),
		numProp("age_days", ageDays(e.now, reported)))
	if open := isOpenStatus(v[2]); !open {
		e.props = append(e.props, boolProp("overdue", false))
	} else if v[6] != nil {
		e.props = append(e.props, boolProp("overdue", int64(binary.BigEndian.Uint64(v[6])) < e.now))
	}
	if coarse {
		e.props = append(e.props, boolProp("coarsened", true))
	}
	px, py := e.tr.apply(orb.Point{x, y})
	// The && search is on single-precision boxes and lets through points just
	// outside the buffer, which ST_AsMVTGeom then clipped away.
	if px < -Buffer || py < -Buffer || px > Extent+Buffer || py > Extent+Buffer {
		return
	}
	e.e.feature(id, mvtPoint, pointGeom(px, py), e.props)
	e.n++
}

// checkBinary checks that the columns that are not text came in binary format
// (text columns read the same either way).
func checkBinary(rows pgx.Rows, text func(i int) bool) error {
	for i, fd := range rows.FieldDescriptions() {
		if !text(i) && fd.Format != pgx.BinaryFormatCode {
			return fmt.Errorf("events: column %d (%s) not in binary format", i, fd.Name)
		}
	}
	return nil
}

// exact encodes the rows of events.sql, leaving out those of masked categories.
func (e *eventEncoder) exact(rows pgx.Rows, masked map[string]bool) error {
	if err := checkBinary(rows, func(i int) bool { return i >= 3 && i <= 6 }); err != nil {
		return err
	}
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 10 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 8 || len(v[7]) != 4 || len(v[8]) != 8 ||
			(v[9] != nil && len(v[9]) != 8) {
			return fmt.Errorf("events: unexpected row shape")
		}
		if masked != nil && masked[string(v[3])] {
			continue
		}
		x := math.Float64frombits(binary.BigEndian.Uint64(v[1]))
		y := math.Float64frombits(binary.BigEndian.Uint64(v[2]))
		e.add(binary.BigEndian.Uint64(v[0]), x, y, v[3:10], false)
	}
	return rows.Err()
}

// coarse encodes the rows of events_coarse.sql of masked categories at the
// centres of their resolution-9 cells (a row of another category, changed
// since the event index was read, is one of exact's).
func (e *eventEncoder) coarse(rows pgx.Rows, masked map[string]bool) error {
	if err := checkBinary(rows, func(i int) bool { return i >= 2 && i <= 5 }); err != nil {
		return err
	}
	if e.centres == nil {
		e.centres = map[int64]orb.Point{}
	}
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 9 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[6]) != 4 || len(v[7]) != 8 || (v[8] != nil && len(v[8]) != 8) {
			return fmt.Errorf("events: unexpected coarse row shape")
		}
		if !masked[string(v[2])] {
			continue
		}
		cell := geo.ParentBits(int64(binary.BigEndian.Uint64(v[1])), CoarseRes)
		c, ok := e.centres[cell]
		if !ok {
			ll := geo.CellCenter(cell)
			c[0], c[1] = geo.LonLatToMercator(ll[0], ll[1])
			e.centres[cell] = c
		}
		e.add(binary.BigEndian.Uint64(v[0]), c[0], c[1], v[2:9], true)
	}
	return rows.Err()
}

// renderHouseholdsH3 draws households_h3 from the in-memory aggregate, the whole
// city's or the jurisdiction's.
func (s *Service) renderHouseholdsH3(ctx context.Context, r *request, l *Layer, t geo.Tile) ([]byte, error) {
	version := r.vset.v[l.Sources[0]]
	var snap *householdsSnap
	var err error
	if r.view == nil {
		snap, err = s.h3.households(ctx, version)
	} else {
		snap, err = r.view.households(ctx, version)
	}
	if err != nil {
		return nil, err
	}
	res := geo.ResolutionForZoom(t.Z)
	return encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature { return snap.cells(buf, t, res) })
}

// encodePooledH3 encodes the cells that list appends to a pooled buffer.
func encodePooledH3(layer string, t geo.Tile, list func([]h3Feature) []h3Feature) ([]byte, error) {
	fb := featureBufs.Get().(*[]h3Feature)
	defer featureBufs.Put(fb)
	*fb = list((*fb)[:0])
	defer clear(*fb) // hold on to no snapshot
	return encodeH3(layer, t, *fb)
}

// featureBufs reuses the cell lists of the in-memory H3 layers (a z10 tile
// lists about a thousand cells, and growing the list was most of the garbage).
var featureBufs = sync.Pool{New: func() any { return new([]h3Feature) }}

// pgEpochUnixMicro is PostgreSQL's timestamp epoch, 2000-01-01 UTC, in Unix
// microseconds: binary timestamps count microseconds from it.
const pgEpochUnixMicro = 946_684_800_000_000

// ageDays is floor(date_part('epoch', now - reported) / 86400) with PostgreSQL 15's
// arithmetic (timestamptz_mi, then interval_justify_hours and the epoch of the
// interval as a double); times in microseconds.
func ageDays(now, reported int64) int64 {
	const usPerDay = 86_400_000_000
	t := now - reported
	day := t / usPerDay // C's truncating division, as TMODULO
	t -= day * usPerDay
	if day > 0 && t < 0 {
		t += usPerDay
		day--
	} else if day < 0 && t > 0 {
		t -= usPerDay
		day++
	}
	epoch := float64(t)/1000000.0 + 86400.0*float64(day)
	return int64(math.Floor(epoch / 86400))
}

// isOpenStatus reports whether status (raw bytes) is one of openStatuses.
func isOpenStatus(status []byte) bool {
	for _, o := range openStatuses {
		if string(status) == o {
			return true
		}
	}
	return false
}

// Stats returns the cache's counters.
func (s *Service) Stats() CacheStats { return s.cache.stats() }
