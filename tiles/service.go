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
}

// DefaultMinCount is the default disclosure-control threshold (and base).
const DefaultMinCount = 5

// ErrUnknownLayer is returned for a layer name not in the registry.
var ErrUnknownLayer = errors.New("unknown tile layer")

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
	s := &Service{cfg: cfg, pool: pool, log: log, cache: newCache(cfg.CacheBytes)}
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
	s.stop = stop
	s.ev = evStore{pool: pool, life: lctx, log: log}
	s.ev.warm()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.listen(lctx, connString)
	}()
	return s, nil
}

// Close stops the listener and any load of the event index, and closes the pool.
func (s *Service) Close() {
	s.stop()
	s.ev.close()
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
// filtered layers and is ignored by the others.
func (s *Service) Get(ctx context.Context, sc scope.Scope, name string, t geo.Tile, f Filter) (*Tile, error) {
	var ls []*Layer
	cc := ""
	if name == All {
		ls = layers
		cc = "public, max-age=10, must-revalidate"
	} else {
		l, ok := layerByName[name]
		if !ok {
			return nil, ErrUnknownLayer
		}
		ls = []*Layer{l}
		cc = l.CacheControl
	}
	vset, err := s.vers.get(ctx)
	if err != nil {
		return nil, err
	}
	key := sc.Key() + "|" + s.cacheKey(name, ls, t, f, vset)
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
			c, err := pack(key, raw)
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

// pack gzips a rendered tile once and names it by content.
func pack(key string, raw []byte) (*cached, error) {
	sum := sha256.Sum256(raw)
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
	ls := layers
	if name != All {
		l, ok := layerByName[name]
		if !ok {
			return nil, ErrUnknownLayer
		}
		ls = []*Layer{l}
	}
	vset, err := s.vers.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.renderLayers(ctx, sc, ls, t, f, vset)
}

// renderLayers renders the layers of one tile and concatenates them (an MVT tile
// is a sequence of layers, so concatenated tiles are a tile).
func (s *Service) renderLayers(ctx context.Context, sc scope.Scope, ls []*Layer, t geo.Tile, f Filter, vset *versionSet) ([]byte, error) {
	if len(ls) == 1 {
		return s.render(ctx, sc, ls[0], t, f, vset)
	}
	var out []byte
	for _, l := range ls {
		b, err := s.render(ctx, sc, l, t, f, vset)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func (s *Service) render(ctx context.Context, sc scope.Scope, l *Layer, t geo.Tile, f Filter, vset *versionSet) ([]byte, error) {
	if !l.inZoom(t.Z) {
		return nil, nil
	}
	var b []byte
	var err error
	switch l.kind {
	case kindSQL:
		args := []any{t.Z, t.X, t.Y}
		if l.Filtered {
			args = append(args, f.args()...)
		}
		err = s.scoped(ctx, sc, l.sql, args, func(br pgx.BatchResults) error { return br.QueryRow().Scan(&b) })
	case kindEventsH3:
		b, err = s.renderEventsH3(ctx, l, t, f, vset.v[l.Sources[0]])
	case kindHouseholdsH3:
		b, err = s.renderHouseholdsH3(ctx, l, t, vset.v[l.Sources[0]])
	case kindEvents:
		b, err = s.renderEvents(ctx, sc, l, t, f)
	case kindUnits:
		var snap *unitSnap
		if snap, err = s.outlines[l.units].get(ctx, vset); err == nil {
			b = snap.render(l.units, t)
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
// allows (statuses only), else from the event index (evindex.go).
func (s *Service) renderEventsH3(ctx context.Context, l *Layer, t geo.Tile, f Filter, version int64) ([]byte, error) {
	res := geo.ResolutionForZoom(t.Z)
	if f.Category == "" && f.From.IsZero() && f.To.IsZero() {
		snap, err := s.h3.events(ctx, version)
		if err != nil {
			return nil, err
		}
		return encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature { return snap.cells(buf, t, res, f.Status) })
	}
	ix, err := s.ev.get(ctx, version)
	if err != nil {
		return nil, err
	}
	var cerr error
	b, err := encodePooledH3(l.Name, t, func(buf []h3Feature) []h3Feature {
		buf, cerr = ix.cells(buf, t, res, f)
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
func (s *Service) renderEvents(ctx context.Context, sc scope.Scope, l *Layer, t geo.Tile, f Filter) (out []byte, err error) {
	err = s.scoped(ctx, sc, l.sql, append([]any{t.Z, t.X, t.Y}, f.args()...), func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		out, err = s.encodeEvents(l, t, rows)
		return err
	})
	return out, err
}

// scoped runs one tile query with the scope's identity: both go in one batch,
// which PostgreSQL runs as one implicit transaction, so row-level security
// narrows the query to the jurisdiction at no extra round trip. read gets the
// query's result.
func (s *Service) scoped(ctx context.Context, sc scope.Scope, sql string, args []any, read func(pgx.BatchResults) error) error {
	b := &pgx.Batch{}
	sc.Queue(b)
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

// encodeEvents encodes the rows of the events layer's query.
func (s *Service) encodeEvents(l *Layer, t geo.Tile, rows pgx.Rows) ([]byte, error) {
	now := s.cfg.Now().UnixMicro() - pgEpochUnixMicro
	for i, fd := range rows.FieldDescriptions() {
		// Text columns read the same either way; the others must be binary.
		if text := i >= 3 && i <= 6; !text && fd.Format != pgx.BinaryFormatCode {
			return nil, fmt.Errorf("events: column %d (%s) not in binary format", i, fd.Name)
		}
	}
	tr := newTileTransform(t)
	e := newMVTEncoder()
	defer e.release()
	n := 0
	props := make([]prop, 0, 7)
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 10 || len(v[0]) != 8 || len(v[1]) != 8 || len(v[2]) != 8 || len(v[7]) != 4 || len(v[8]) != 8 ||
			(v[9] != nil && len(v[9]) != 8) {
			return nil, fmt.Errorf("events: unexpected row shape")
		}
		id := binary.BigEndian.Uint64(v[0])
		x := math.Float64frombits(binary.BigEndian.Uint64(v[1]))
		y := math.Float64frombits(binary.BigEndian.Uint64(v[2]))
		reported := int64(binary.BigEndian.Uint64(v[8]))
		props = append(props[:0], rawProp("category", v[3]), rawProp("severity", v[4]), rawProp("status", v[5]),
			rawProp("source", v[6]), numProp("escalation", int64(int32(binary.BigEndian.Uint32(v[7])))),
			numProp("age_days", ageDays(now, reported)))
		if open := isOpenStatus(v[5]); !open {
			props = append(props, boolProp("overdue", false))
		} else if v[9] != nil {
			props = append(props, boolProp("overdue", int64(binary.BigEndian.Uint64(v[9])) < now))
		}
		px, py := tr.apply(orb.Point{x, y})
		// The && search is on single-precision boxes and lets through points just
		// outside the buffer, which ST_AsMVTGeom then clipped away.
		if px < -Buffer || py < -Buffer || px > Extent+Buffer || py > Extent+Buffer {
			continue
		}
		e.feature(id, mvtPoint, pointGeom(px, py), props)
		n++
	}
	if err := rows.Err(); err != nil || n == 0 {
		return nil, err
	}
	return e.tile(l.Name), nil
}

// renderHouseholdsH3 draws households_h3 from the in-memory aggregate.
func (s *Service) renderHouseholdsH3(ctx context.Context, l *Layer, t geo.Tile, version int64) ([]byte, error) {
	snap, err := s.h3.households(ctx, version)
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
